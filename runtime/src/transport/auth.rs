//! Who is connecting: the [`Authenticator`] trait and the token it reads.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::Query;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;

/// A future returned by [`Authenticator::authenticate`].
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Identity, AuthError>> + Send + 'a>>;

/// Decides who a connection belongs to, before any event is sent on it. The connection then
/// only ever receives that user's events.
///
/// Implement it for your own session scheme; `JwtAuthenticator` (feature `jwt`) checks JSON
/// Web Tokens. [`bearer_token`] reads the token the way browsers can send it.
///
/// ```
/// use agent_events::transport::{bearer_token, AuthError, AuthFuture, Authenticator, Identity};
/// use axum::http::request::Parts;
///
/// /// Accepts `Bearer user:<id>` (a test double, not for production).
/// struct UserPrefix;
///
/// impl Authenticator for UserPrefix {
///     fn authenticate<'a>(&'a self, parts: &'a Parts) -> AuthFuture<'a> {
///         let result = match bearer_token(parts) {
///             None => Err(AuthError::MissingToken),
///             Some(token) => match token.strip_prefix("user:") {
///                 Some(user) => Ok(Identity::new(user)),
///                 None => Err(AuthError::InvalidToken("not a user token".into())),
///             },
///         };
///         Box::pin(std::future::ready(result))
///     }
/// }
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// Checks the request (before a WebSocket upgrade or an SSE response) and says whose
    /// connection it is. An error answers `401 Unauthorized` (or `503` for
    /// [`AuthError::Unavailable`]).
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> AuthFuture<'a>;
}

/// A function that checks a request synchronously is an authenticator.
impl<F> Authenticator for F
where
    F: Fn(&Parts) -> Result<Identity, AuthError> + Send + Sync + 'static,
{
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> AuthFuture<'a> {
        Box::pin(std::future::ready(self(parts)))
    }
}

/// Whose connection it is, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user whose events the connection receives.
    pub user_id: Arc<str>,
    /// When the credentials expire: the connection is closed then (WebSocket close code 4401,
    /// or the end of the SSE stream), after a `token_expired` notice. `None`: never.
    pub expires_at: Option<SystemTime>,
}

impl Identity {
    /// A user whose credentials do not expire.
    pub fn new(user_id: impl Into<Arc<str>>) -> Self {
        Identity { user_id: user_id.into(), expires_at: None }
    }

    /// The same identity, expiring at `at`.
    pub fn expiring_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }
}

/// Why a connection was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token: send `Authorization: Bearer <token>`, or `?token=<token>` where headers cannot
    /// be set (browser `WebSocket` and `EventSource`).
    #[error("no bearer token: send `Authorization: Bearer <token>` or add `?token=<token>` to the URL")]
    MissingToken,
    /// The token is malformed, badly signed, or not meant for this server.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The token has expired: get a new one and reconnect.
    #[error("the token has expired: get a new one and reconnect")]
    Expired,
    /// The credentials could not be checked (e.g. a key server is down): retry later. Answers
    /// `503 Service Unavailable` rather than `401`.
    #[error("the credentials could not be checked: {0}")]
    Unavailable(String),
}

#[derive(Deserialize)]
struct TokenParam {
    token: Option<String>,
}

/// The bearer token of a request: the `Authorization: Bearer <token>` header, else the `token`
/// query parameter (browsers cannot set headers on `WebSocket` or `EventSource`). Prefer the
/// header where you can: URLs end up in logs.
pub fn bearer_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
            return Some(token.trim().to_owned());
        }
    }
    let Query(param) = Query::<TokenParam>::try_from_uri(&parts.uri).ok()?;
    param.token.filter(|t| !t.is_empty())
}
