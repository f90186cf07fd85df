//! The Server-Sent Events route: one SSE event per event (or, with `?format=agui`, the AG-UI
//! events made from it), keep-alive comments, and an explicit last event when the stream ends.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::watch;

use super::replay::{CursorEvent, ReplayItem};
use super::source::EventSubscription;
use super::state::{
    after_param, deadline_after, shutdown_requested, until, Connection, Refusal, TransportState,
};
use super::telemetry::{self, Transport};
use super::wire::{self, Control, SSE_KEEP_ALIVE};

/// `GET /events/sse[?after=<cursor>][&token=<token>][&format=agui]`, resuming from
/// `Last-Event-ID` first.
pub(crate) async fn handler(State(state): State<TransportState>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let encoder = match format_param(&parts) {
        Ok(encoder) => encoder,
        Err(refusal) => return state.refuse(refusal),
    };
    let after = match parts.headers.get("last-event-id") {
        // A header that is not text cannot be one of our cursors: an explicit reset follows.
        Some(value) => Some(value.to_str().unwrap_or("\u{fffd}").to_owned()).filter(|c| !c.is_empty()),
        None => match after_param(&parts) {
            Ok(after) => after,
            Err(refusal) => return state.refuse(refusal),
        },
    };
    let (conn, sub) = match state.admit(&parts, Transport::Sse, after.as_deref()).await {
        Ok(admitted) => admitted,
        Err(refusal) => return state.refuse(refusal),
    };
    let stream = SseStream {
        shutdown: conn.state.shutdown_signal(),
        next_keep_alive: deadline_after(conn.state.config().heartbeat),
        conn,
        sub,
        encoder,
        pending: VecDeque::new(),
        done: false,
    };
    let body = futures_util::stream::unfold(stream, |mut stream| async move {
        let chunk = stream.next_chunk().await?;
        Some((Ok::<Bytes, Infallible>(chunk), stream))
    });
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no")),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// One SSE connection; dropped (and unsubscribed) when the client goes away.
struct SseStream {
    conn: Connection,
    sub: Box<dyn EventSubscription>,
    encoder: Encoder,
    shutdown: watch::Receiver<bool>,
    next_keep_alive: Option<Instant>,
    pending: VecDeque<String>,
    done: bool,
}

impl SseStream {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Some(Bytes::from(chunk));
            }
            if self.done {
                return None;
            }
            tokio::select! {
                biased;
                () = shutdown_requested(&mut self.shutdown) => {
                    // Flush what is already queued for this connection, then say goodbye.
                    while let Some(item) = self.sub.try_next() {
                        self.push(item);
                        if self.done {
                            break;
                        }
                    }
                    self.end_with(Control::Shutdown);
                }
                () = until(self.conn.expires_at) => self.end_with(Control::TokenExpired),
                () = until(self.next_keep_alive) => {
                    self.next_keep_alive = deadline_after(self.conn.state.config().heartbeat);
                    self.pending.push_back(SSE_KEEP_ALIVE.to_owned());
                }
                item = self.sub.next() => match item {
                    Some(item) => self.push(item),
                    None => self.end_with(Control::Shutdown),
                },
            }
        }
    }

    fn push(&mut self, item: ReplayItem) {
        match item {
            ReplayItem::Event(event) => match self.encoder.event(&event) {
                Ok(chunk) => {
                    self.pending.push_back(chunk);
                    telemetry::event_sent(self.conn.transport, &event);
                }
                Err(_) => {
                    telemetry::delivery_failed(self.conn.transport);
                    self.done = true;
                }
            },
            ReplayItem::Gap { missed } => {
                self.pending.push_back(self.encoder.control(Control::Gap { missed }))
            }
            ReplayItem::Reset => self.pending.push_back(self.encoder.control(Control::Reset)),
            ReplayItem::Lagged => {
                telemetry::lagged(self.conn.transport);
                self.end_with(Control::Lagged);
            }
            ReplayItem::Unavailable => self.end_with(Control::Unavailable),
        }
    }

    fn end_with(&mut self, control: Control) {
        if !self.done {
            self.pending.push_back(self.encoder.control(control));
            self.done = true;
        }
    }
}

#[derive(Deserialize)]
struct FormatParam {
    format: Option<String>,
}

/// The `format` query parameter: none (our events) or `agui`; anything else is refused with
/// `400`, and so is `agui` on a server built without the `agui` feature.
fn format_param(parts: &Parts) -> Result<Encoder, Refusal> {
    let param = match Query::<FormatParam>::try_from_uri(&parts.uri) {
        Ok(Query(param)) => param,
        Err(e) => return Err(Refusal::bad_query(e.body_text())),
    };
    match param.format.as_deref() {
        None | Some("") => Ok(Encoder::Native),
        #[cfg(feature = "agui")]
        Some("agui") => Ok(Encoder::AgUi(AgUiRuns::default())),
        #[cfg(not(feature = "agui"))]
        Some("agui") => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "unsupported_format",
            "format=agui needs a server built with the agent-events feature `agui`",
        )),
        Some(other) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "unsupported_format",
            format!("unknown format {other:?}: leave `format` out for agent events, or use `agui`"),
        )),
    }
}

/// How one connection writes events and control notices.
enum Encoder {
    /// Our events: `id`, `event: <type>`, `data: <event JSON>`.
    Native,
    /// AG-UI events, one mapper per open run.
    #[cfg(feature = "agui")]
    AgUi(AgUiRuns),
}

impl Encoder {
    fn event(&mut self, event: &CursorEvent) -> Result<String, serde_json::Error> {
        match self {
            Encoder::Native => wire::sse_event(&event.cursor, &event.event),
            #[cfg(feature = "agui")]
            Encoder::AgUi(runs) => runs.sse_events(&event.cursor, &event.event),
        }
    }

    fn control(&self, control: Control) -> String {
        match self {
            Encoder::Native => wire::sse_control(control),
            #[cfg(feature = "agui")]
            Encoder::AgUi(_) => agui_control(control),
        }
    }
}

/// At most this many runs of one connection are mapped to AG-UI at once; a run that starts
/// beyond it drops the mapper of the run that has been quiet longest (whose later events, if
/// any, then begin again with a synthesized `RUN_STARTED`).
#[cfg(feature = "agui")]
pub(crate) const MAX_AGUI_RUNS: usize = 64;

/// One [`AgUiMapper`](crate::agui::AgUiMapper) per open run of the connection's user (runs may
/// interleave); a mapper is dropped when its run finished.
#[cfg(feature = "agui")]
#[derive(Default)]
struct AgUiRuns {
    /// run id → (mapper, when it last mapped an event, on `clock`).
    runs: std::collections::HashMap<std::sync::Arc<str>, (crate::agui::AgUiMapper, u64)>,
    clock: u64,
}

#[cfg(feature = "agui")]
impl AgUiRuns {
    /// The AG-UI events made from one of ours, each `data: <json>` with no `event:` line (AG-UI
    /// parsers read the type from the JSON); the last one carries `id: <cursor>`, so
    /// `Last-Event-ID` resumes after the whole event. An event that maps to nothing still
    /// sends its `id` alone.
    fn sse_events(
        &mut self,
        cursor: &str,
        event: &agent_events_schema::Event,
    ) -> Result<String, serde_json::Error> {
        let run_id = &event.envelope.run_id;
        self.clock += 1;
        if !self.runs.contains_key(run_id) && self.runs.len() >= MAX_AGUI_RUNS {
            let quietest = self.runs.iter().min_by_key(|(_, (_, at))| *at).map(|(id, _)| id.clone());
            if let Some(quietest) = quietest {
                self.runs.remove(&quietest);
            }
        }
        let (mapper, at) = self.runs.entry(run_id.clone()).or_default();
        *at = self.clock;
        let events = mapper.map(event);
        if mapper.is_finished() {
            self.runs.remove(run_id);
        }
        let mut out = String::new();
        for (index, agui) in events.iter().enumerate() {
            if index + 1 == events.len() {
                out.push_str(&format!("id: {cursor}\n"));
            }
            out.push_str(&format!("data: {}\n\n", serde_json::to_string(agui)?));
        }
        if events.is_empty() {
            out = format!("id: {cursor}\n\n");
        }
        Ok(out)
    }
}

/// A control notice as an AG-UI `CUSTOM` event named `agent_events.<control>`, with the
/// control JSON as its value and no `id`.
#[cfg(feature = "agui")]
fn agui_control(control: Control) -> String {
    let value: serde_json::Value = serde_json::from_str(&control.json()).unwrap_or_default();
    let custom = serde_json::json!({
        "type": crate::agui::event_type::CUSTOM,
        "name": format!("agent_events.{}", control.name()),
        "value": value,
    });
    format!("data: {custom}\n\n")
}
