//! The test clients the transport tests share: a WebSocket client (tokio-tungstenite) and an
//! SSE reader (reqwest), each checking the wire format as it reads.
#![allow(dead_code)]

use std::pin::Pin;
use std::time::Duration;

use agent_events::{Run, RunContext};
use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any one step may take before the test fails (generous: nothing waits this long
/// when the code is right).
pub const WAIT: Duration = Duration::from_secs(10);

pub fn ctx(user: &str) -> RunContext {
    RunContext::new(user, "thread-1", "agent")
}

/// Alice's and Bob's runs, interleaved event by event (thinking, a tool call, a response, three
/// rounds), then both completed: 8 events for Alice, 11 for Bob.
pub fn interleave_runs(alice: Run, bob: Run) {
    for i in 0..3 {
        alice.thinking(format!("alice {i}"));
        let call = bob.tool_executing("search", json!({ "q": i }));
        alice.agent_response(format!("for alice {i}"));
        bob.thinking(format!("bob {i}"));
        call.completed(json!([i]));
    }
    bob.completed("bob done", ());
    alice.completed("alice done", ());
}

// ---------------------------------------------------------------------------------------------
// WebSocket client

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug)]
pub enum WsFrame {
    Event { cursor: String, event: Value },
    Control(Value),
    Ping,
    Close(Option<u16>),
    End,
}

pub async fn ws_at(url: &str) -> Ws {
    timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connects in time")
        .expect("connected")
        .0
}

/// The status and `WWW-Authenticate` header of a refused WebSocket handshake.
pub async fn ws_refusal(request: impl IntoClientRequest + Unpin) -> (u16, Option<String>) {
    match timeout(WAIT, tokio_tungstenite::connect_async(request)).await.expect("answers in time") {
        Err(tungstenite::Error::Http(response)) => (
            response.status().as_u16(),
            response.headers().get("www-authenticate").map(|v| v.to_str().expect("text").to_owned()),
        ),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, the upgrade was accepted"),
    }
}

pub async fn ws_frame(ws: &mut Ws) -> WsFrame {
    loop {
        let message = timeout(WAIT, ws.next()).await.expect("a frame in time");
        return match message {
            None => WsFrame::End,
            Some(Err(e)) => panic!("websocket error: {e}"),
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
                if value.get("control").is_some() {
                    WsFrame::Control(value)
                } else {
                    let keys: Vec<&String> = value.as_object().expect("object").keys().collect();
                    assert_eq!(keys, ["cursor", "event"], "an event frame is the cursor and the event");
                    assert!(value["event"].get("cursor").is_none(), "the cursor is not inside the event");
                    WsFrame::Event {
                        cursor: value["cursor"].as_str().expect("cursor").to_owned(),
                        event: value["event"].clone(),
                    }
                }
            }
            Some(Ok(Message::Ping(_))) => WsFrame::Ping,
            Some(Ok(Message::Pong(_))) => continue,
            Some(Ok(Message::Close(frame))) => WsFrame::Close(frame.map(|f| u16::from(f.code))),
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
        };
    }
}

/// The next frame that is not a ping.
pub async fn ws_data(ws: &mut Ws) -> WsFrame {
    loop {
        match ws_frame(ws).await {
            WsFrame::Ping => continue,
            frame => return frame,
        }
    }
}

/// The next `n` events, as (cursor, event).
pub async fn ws_events(ws: &mut Ws, n: usize) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    while events.len() < n {
        match ws_data(ws).await {
            WsFrame::Event { cursor, event } => events.push((cursor, event)),
            other => panic!("expected an event, got {other:?}"),
        }
    }
    events
}

/// Expects the `control` frame, then a close frame with `code`.
pub async fn ws_expect_close(ws: &mut Ws, control: &str, code: u16) {
    match ws_data(ws).await {
        WsFrame::Control(c) => assert_eq!(c["control"], control, "{c}"),
        other => panic!("expected the {control} control frame, got {other:?}"),
    }
    expect_close(ws, code).await;
}

/// Expects a close frame with `code`, then answers it as a browser does and sees the end.
pub async fn expect_close(ws: &mut Ws, code: u16) {
    match ws_data(ws).await {
        WsFrame::Close(got) => assert_eq!(got, Some(code)),
        other => panic!("expected close {code}, got {other:?}"),
    }
    // Reading on sends tungstenite's answer to the close frame, which ends the connection.
    match ws_frame(ws).await {
        WsFrame::End => {}
        other => panic!("expected the end of the connection, got {other:?}"),
    }
}

/// Reads events until the shutdown control and the 1001 close.
pub async fn ws_until_shutdown(ws: &mut Ws) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        match ws_data(ws).await {
            WsFrame::Event { event, .. } => events.push(event),
            WsFrame::Control(c) if c["control"] == "shutdown" => break,
            other => panic!("expected events then shutdown, got {other:?}"),
        }
    }
    expect_close(ws, 1001).await;
    events
}

// ---------------------------------------------------------------------------------------------
// SSE client

#[derive(Debug, PartialEq)]
pub enum SseFrame {
    Event { id: Option<String>, event: String, data: Value },
    Comment(String),
    End,
}

pub type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

pub struct Sse {
    body: Body,
    buffer: Vec<u8>,
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

pub async fn sse_get(url: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = http().get(url);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    timeout(WAIT, request.send()).await.expect("answers in time").expect("response")
}

pub fn sse_of(response: reqwest::Response) -> Sse {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Sse { body: Box::pin(response.bytes_stream()), buffer: Vec::new() }
}

impl Sse {
    pub async fn next(&mut self) -> SseFrame {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                return parse_sse(std::str::from_utf8(&block[..end]).expect("UTF-8"));
            }
            match timeout(WAIT, self.body.next()).await.expect("SSE data in time") {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(e)) => panic!("SSE body error: {e}"),
                None => {
                    assert!(self.buffer.is_empty(), "the stream ended inside an event");
                    return SseFrame::End;
                }
            }
        }
    }

    /// The next frame that is not a comment.
    pub async fn next_data(&mut self) -> SseFrame {
        loop {
            match self.next().await {
                SseFrame::Comment(_) => continue,
                frame => return frame,
            }
        }
    }

    /// The next `n` events (type `agent_events.*` excluded), as (id, event).
    pub async fn events(&mut self, n: usize) -> Vec<(String, Value)> {
        let mut events = Vec::new();
        while events.len() < n {
            match self.next_data().await {
                SseFrame::Event { id: Some(id), event, data } if !event.starts_with("agent_events.") => {
                    assert_eq!(data["type"], event, "the SSE event name is the event type");
                    events.push((id, data));
                }
                other => panic!("expected an event, got {other:?}"),
            }
        }
        events
    }

    /// Expects the `agent_events.<control>` event, then the end of the stream.
    pub async fn expect_end(&mut self, control: &str) {
        match self.next_data().await {
            SseFrame::Event { id: None, event, data } => {
                assert_eq!(event, format!("agent_events.{control}"));
                assert_eq!(data["control"], control);
            }
            other => panic!("expected agent_events.{control}, got {other:?}"),
        }
        assert_eq!(self.next_data().await, SseFrame::End);
    }

    /// Reads events until `agent_events.shutdown` and the end of the stream.
    pub async fn until_shutdown(&mut self) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            match self.next_data().await {
                SseFrame::Event { event, id: None, data } if event == "agent_events.shutdown" => {
                    assert_eq!(data["control"], "shutdown");
                    break;
                }
                SseFrame::Event { id: Some(_), data, .. } => events.push(data),
                other => panic!("expected events then shutdown, got {other:?}"),
            }
        }
        assert_eq!(self.next_data().await, SseFrame::End);
        events
    }
}

pub fn parse_sse(block: &str) -> SseFrame {
    if block.lines().all(|l| l.starts_with(':')) {
        return SseFrame::Comment(block.trim_start_matches(':').trim().to_owned());
    }
    let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.to_owned()),
            "event" => event = value.to_owned(),
            "data" => data.push_str(value),
            _ => panic!("unexpected SSE line {line:?}"),
        }
    }
    SseFrame::Event { id, event, data: serde_json::from_str(&data).expect("JSON data") }
}

pub fn ids(events: &[(String, Value)]) -> Vec<String> {
    events.iter().map(|(_, e)| e["event_id"].as_str().expect("event_id").to_owned()).collect()
}

pub fn value_ids(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["event_id"].as_str().expect("event_id").to_owned()).collect()
}
