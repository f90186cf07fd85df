//! The demo app: the transport routes, the web page, demo tokens and a scripted agent run.
//! Shared by `examples/demo_server.rs` (which serves it) and `tests/browser.rs` (which drives
//! it in headless Chromium), so both exercise the same routes.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the page (`index.html`, embedded) |
//! | `GET /demo/token?user=alice` | `{"user", "token", "expires_in"}`: an HS256 token for that user |
//! | `POST /demo/run` | with `Authorization: Bearer <token>`: starts a scripted run for the token's user; `202 {"run_id"}` |
//! | `GET /events/ws`, `GET /events/sse` | [`agent_events::transport::router`] |

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent_events::transport::{router, Authenticator, JwtAuthenticator, ReplayHub, TransportState};
use agent_events::{EventBridge, RunContext};
use axum::extract::{Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{json, Value};

/// The page, served at `/`.
const INDEX_HTML: &str = include_str!("index.html");

/// Runs that may be in flight at once, all users together (a public demo must not be a way
/// to fill the server's memory).
const MAX_RUNS_IN_FLIGHT: usize = 64;

/// How the demo behaves.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// The HS256 secret demo tokens are signed with and checked against.
    pub secret: Vec<u8>,
    /// The pause between two events of a scripted run.
    pub step: Duration,
    /// How long a demo token is valid.
    pub token_ttl: Duration,
}

/// The demo, ready to serve.
pub struct Demo {
    /// Every route: the page, `/demo/*` and the transport.
    pub router: Router,
    /// The transport's state: `shutdown()` then `drained()` to stop gracefully.
    pub state: TransportState,
    /// The bridge the demo runs emit through; `shutdown()` it last.
    pub bridge: EventBridge,
}

struct Shared {
    bridge: EventBridge,
    auth: JwtAuthenticator,
    key: EncodingKey,
    step: Duration,
    token_ttl: Duration,
    in_flight: Arc<AtomicUsize>,
}

impl Demo {
    /// Builds the bridge, the replay hub, the transport and the demo routes.
    pub fn new(config: DemoConfig) -> Demo {
        let hub = ReplayHub::new();
        let bridge = EventBridge::builder().sink(hub.clone()).build();
        let auth = JwtAuthenticator::hs256(&config.secret);
        let state = TransportState::new(hub, auth.clone());
        let shared = Arc::new(Shared {
            bridge: bridge.clone(),
            auth,
            key: EncodingKey::from_secret(&config.secret),
            step: config.step,
            token_ttl: config.token_ttl,
            in_flight: Arc::new(AtomicUsize::new(0)),
        });
        let demo_routes = Router::new()
            .route("/", get(index))
            .route("/demo/token", get(token))
            .route("/demo/run", post(start_run))
            .with_state(shared);
        Demo { router: demo_routes.merge(router(state.clone())), state, bridge }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    (status, headers, body.to_string()).into_response()
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    json_response(status, &json!({ "error": code, "message": message.into() }))
}

async fn index() -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], INDEX_HTML).into_response()
}

#[derive(Deserialize)]
struct TokenQuery {
    user: Option<String>,
}

/// `GET /demo/token?user=<id>`: a token for anyone who asks (this is a demo).
async fn token(State(shared): State<Arc<Shared>>, Query(query): Query<TokenQuery>) -> Response {
    let user = query.user.unwrap_or_else(|| "alice".to_owned());
    let valid = (1..=64).contains(&user.len())
        && user.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_user",
            "`user` must be 1 to 64 characters among letters, digits, `-`, `_` and `.`",
        );
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let claims = json!({ "sub": user, "iat": now, "exp": now + shared.token_ttl.as_secs() });
    match encode(&Header::new(Algorithm::HS256), &claims, &shared.key) {
        Ok(token) => json_response(
            StatusCode::OK,
            &json!({ "user": user, "token": token, "expires_in": shared.token_ttl.as_secs() }),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "token_not_signed", e.to_string()),
    }
}

/// `POST /demo/run`: starts a scripted run for the user the bearer token names.
async fn start_run(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let identity = match shared.auth.authenticate(&parts).await {
        Ok(identity) => identity,
        Err(e) => return error(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string()),
    };
    let in_flight = shared.in_flight.clone();
    if in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_RUNS_IN_FLIGHT {
        in_flight.fetch_sub(1, Ordering::AcqRel);
        return error(StatusCode::TOO_MANY_REQUESTS, "busy", "too many demo runs at once; retry shortly");
    }
    let run_id = uuid::Uuid::new_v4().to_string();
    let ctx = RunContext::new(identity.user_id, "demo-thread", "demo_agent").with_run_id(run_id.as_str());
    let (bridge, step) = (shared.bridge.clone(), shared.step);
    tokio::spawn(async move {
        scripted_run(&bridge, ctx, step).await;
        in_flight.fetch_sub(1, Ordering::AcqRel);
    });
    json_response(StatusCode::ACCEPTED, &json!({ "run_id": run_id }))
}

/// The demo agent: thinks, calls a tool that succeeds and one that fails, answers, completes.
/// Eight events: agent_started, agent_thinking, tool_executing, tool_completed, tool_executing,
/// tool_completed (failed), agent_response, agent_completed.
async fn scripted_run(bridge: &EventBridge, ctx: RunContext, step: Duration) {
    let pause = || tokio::time::sleep(step);
    let run = bridge.start_run_with_message(ctx, "What does agent-events do?");
    pause().await;
    run.thinking_with_reasoning(
        "Look the crate up in the docs",
        "The question names a crate: its documentation answers it best.",
    );
    pause().await;
    let search = run.tool_executing("search_docs", json!({ "query": "agent-events", "limit": 2 }));
    pause().await;
    search.completed(json!([
        { "title": "agent-events: one way to send agent events", "path": "/docs/overview" },
        { "title": "Transports: WebSocket and SSE", "path": "/docs/transport" },
    ]));
    pause().await;
    let fetch = run.tool_executing("fetch_page", json!({ "path": "/docs/changelog" }));
    pause().await;
    fetch.failed("timed out after 2 s");
    pause().await;
    run.agent_response("It streams an agent's progress to the user who asked, one schema for every event.");
    pause().await;
    run.completed(
        "agent-events gives a backend one way to send agent events: a bridge, guards that always \
         close tool calls, and WebSocket/SSE delivery with resume.",
        json!({ "sources": ["/docs/overview", "/docs/transport"] }),
    );
}
