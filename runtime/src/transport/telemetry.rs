//! The metrics the transports record through the `metrics` facade (names in the module docs).

use std::time::Instant;

use metrics::{counter, gauge, histogram};

use super::replay::CursorEvent;

/// Which transport a connection uses: the one label every metric carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Ws,
    Sse,
}

impl Transport {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Transport::Ws => "ws",
            Transport::Sse => "sse",
        }
    }
}

pub(crate) fn connection_opened(transport: Transport) {
    gauge!("agent_events_connections", "transport" => transport.label()).increment(1.0);
}

pub(crate) fn connection_closed(transport: Transport) {
    gauge!("agent_events_connections", "transport" => transport.label()).decrement(1.0);
}

/// An event was written (WebSocket) or handed to the response body (SSE).
pub(crate) fn event_sent(transport: Transport, event: &CursorEvent) {
    counter!("agent_events_events_sent_total", "transport" => transport.label()).increment(1);
    if event.replayed {
        counter!("agent_events_replayed_events_total", "transport" => transport.label()).increment(1);
    } else {
        let latency = Instant::now().saturating_duration_since(event.delivered_at);
        histogram!("agent_events_delivery_latency_seconds", "transport" => transport.label())
            .record(latency.as_secs_f64());
    }
}

pub(crate) fn delivery_failed(transport: Transport) {
    counter!("agent_events_delivery_failures_total", "transport" => transport.label()).increment(1);
}

pub(crate) fn lagged(transport: Transport) {
    counter!("agent_events_lagged_total", "transport" => transport.label()).increment(1);
}

pub(crate) fn auth_failed(transport: Transport) {
    counter!("agent_events_auth_failures_total", "transport" => transport.label()).increment(1);
}
