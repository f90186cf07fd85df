//! [`JwtAuthenticator`]: JSON Web Tokens signed with HS256 or RS256.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, UNIX_EPOCH};

use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::auth::{bearer_token, AuthError, AuthFuture, Authenticator, Identity};

/// Checks a JSON Web Token (from [`bearer_token`]): its signature (HS256 with a shared secret,
/// or RS256 with a PEM public key), `exp` (required), `nbf` (when present), and the audience
/// and issuer when configured. The user is the `sub` claim, or the claim named with
/// [`JwtAuthenticator::user_claim`]; the connection is closed when the token expires. `exp`
/// is read as any JSON number (`1795400186.5` too), as the validator reads it.
///
/// Without [`JwtAuthenticator::audience`] and [`JwtAuthenticator::issuer`], any token signed
/// with the key is accepted, whoever it was minted for. In production set both: each then also
/// refuses a token that lacks the claim.
///
/// ```
/// use agent_events::transport::JwtAuthenticator;
///
/// let auth = JwtAuthenticator::hs256(b"a secret of at least 32 bytes, please")
///     .audience(["chat"])
///     .issuer(["https://auth.example.com"])
///     .user_claim("uid");
/// # let _ = auth;
/// ```
#[derive(Clone)]
pub struct JwtAuthenticator {
    key: DecodingKey,
    validation: Validation,
    user_claim: String,
}

/// A key [`JwtAuthenticator::rs256_pem`] could not read; it says why `jsonwebtoken` refused it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "not an RSA public key in PEM form ({0}): pass the issuer's public key, \
     `-----BEGIN PUBLIC KEY-----` (SPKI) or `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1)"
)]
pub struct JwtKeyError(jsonwebtoken::errors::Error);

impl JwtAuthenticator {
    /// Tokens signed with HS256 and this shared secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Self {
        JwtAuthenticator::with_key(DecodingKey::from_secret(secret.as_ref()), Algorithm::HS256)
    }

    /// Tokens signed with RS256; `public_key_pem` is the issuer's public key (SPKI
    /// `BEGIN PUBLIC KEY` or PKCS#1 `BEGIN RSA PUBLIC KEY`).
    pub fn rs256_pem(public_key_pem: impl AsRef<[u8]>) -> Result<Self, JwtKeyError> {
        let key = DecodingKey::from_rsa_pem(public_key_pem.as_ref()).map_err(JwtKeyError)?;
        Ok(JwtAuthenticator::with_key(key, Algorithm::RS256))
    }

    fn with_key(key: DecodingKey, algorithm: Algorithm) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.validate_nbf = true;
        // Without a configured audience, a token that names one is still accepted.
        validation.validate_aud = false;
        JwtAuthenticator { key, validation, user_claim: "sub".to_owned() }
    }

    /// Requires the `aud` claim to name one of these audiences.
    pub fn audience<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let audiences: Vec<String> = audiences.into_iter().map(Into::into).collect();
        self.validation.set_audience(&audiences);
        self.validation.validate_aud = true;
        self.validation.required_spec_claims.insert("aud".to_owned());
        self
    }

    /// Requires the `iss` claim to be one of these issuers.
    pub fn issuer<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let issuers: Vec<String> = issuers.into_iter().map(Into::into).collect();
        self.validation.set_issuer(&issuers);
        self.validation.required_spec_claims.insert("iss".to_owned());
        self
    }

    /// The claim holding the user id (default `sub`); it must be a non-empty string.
    pub fn user_claim(mut self, claim: impl Into<String>) -> Self {
        self.user_claim = claim.into();
        self
    }

    /// Clock skew tolerated on `exp` and `nbf` (default 60 s, whole seconds). A live
    /// connection is closed at `exp` plus this leeway.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway.as_secs();
        self
    }

    /// Checks one token.
    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        // `jsonwebtoken` panics when its crypto backend is ambiguous (both backends enabled in
        // one build and none installed): refuse the token rather than take the server down.
        let decoded = catch_unwind(AssertUnwindSafe(|| {
            jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation)
        }))
        .map_err(|_| AuthError::Unavailable("the JWT crypto backend panicked".into()))?;
        let claims = match decoded {
            Ok(data) => data.claims,
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => return Err(AuthError::Expired),
            Err(e) => return Err(AuthError::InvalidToken(e.to_string())),
        };
        let user_id = match claims.get(&self.user_claim) {
            Some(Value::String(user)) if !user.is_empty() => user.as_str(),
            _ => {
                return Err(AuthError::InvalidToken(format!(
                    "the `{}` claim must hold the user id as a non-empty string",
                    self.user_claim
                )))
            }
        };
        let mut identity = Identity::new(user_id);
        // Read like the validator reads it: any JSON number (`1795400186.5` too). A token whose
        // expiry cannot be read is refused rather than given a connection that never ends.
        let Some(exp) =
            claims.get("exp").and_then(Value::as_f64).filter(|exp| exp.is_finite() && *exp >= 0.0)
        else {
            return Err(AuthError::InvalidToken("the `exp` claim must be a number of seconds".into()));
        };
        let leeway = Duration::from_secs(self.validation.leeway);
        // Past what `SystemTime` holds, the token never expires in practice.
        identity.expires_at = Duration::try_from_secs_f64(exp)
            .ok()
            .and_then(|exp| UNIX_EPOCH.checked_add(exp.saturating_add(leeway)));
        Ok(identity)
    }
}

impl Authenticator for JwtAuthenticator {
    fn authenticate<'a>(&'a self, parts: &'a Parts) -> AuthFuture<'a> {
        let result = match bearer_token(parts) {
            None => Err(AuthError::MissingToken),
            Some(token) => self.verify(&token),
        };
        Box::pin(std::future::ready(result))
    }
}

impl fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("algorithms", &self.validation.algorithms)
            .field("audience", &self.validation.aud)
            .field("issuer", &self.validation.iss)
            .field("user_claim", &self.user_claim)
            .field("leeway_seconds", &self.validation.leeway)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::JwtAuthenticator;

    #[test]
    fn a_key_that_is_not_pem_says_why_and_what_to_pass() {
        let message = JwtAuthenticator::rs256_pem(b"not a key").expect_err("not a key").to_string();
        assert!(message.starts_with("not an RSA public key in PEM form ("), "{message}");
        assert!(message.contains("`-----BEGIN PUBLIC KEY-----` (SPKI)"), "{message}");
        assert!(message.contains("`-----BEGIN RSA PUBLIC KEY-----` (PKCS#1)"), "{message}");
    }
}
