//! A minimal LSP client for the tests and the latency benchmark: it starts the real server
//! binary and speaks JSON-RPC to it over its stdin and stdout.

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use lsp_server::{Message, Notification, Request, RequestId};
use serde_json::{json, Value};

/// How long the tests wait for any one answer.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// What [`Client::next`] received.
enum Incoming {
    /// A notification, now the backlog's last entry.
    Notification,
    /// A request of the server's, answered.
    Request,
    /// A response.
    Response(lsp_server::Response),
}

/// A running server and what it has sent that nobody read yet.
pub struct Client {
    pub child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Message>,
    /// Notifications received while waiting for something else, in order.
    pub backlog: Vec<Notification>,
    /// The methods of the requests the server sent (each answered with `null`).
    pub server_requests: Vec<String>,
    next_id: i32,
}

/// The `file:` URI of a path.
pub fn uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

impl Client {
    /// Starts `binary server` in `root` and initialises it with `capabilities`, the workspace
    /// folder being `root`. Returns the client and the `initialize` result.
    pub fn start(binary: &Path, root: &Path, capabilities: Value) -> (Client, Value) {
        Client::start_with_env(binary, root, capabilities, &[])
    }

    /// [`Client::start`] with environment variables for the server.
    pub fn start_with_env(
        binary: &Path,
        root: &Path,
        capabilities: Value,
        env: &[(&str, &str)],
    ) -> (Client, Value) {
        let mut child = Command::new(binary)
            .arg("server")
            .envs(env.iter().copied())
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // The fault-injection tests' intended panics would read like failures in the log.
            .stderr(if env.iter().any(|(k, _)| k.contains("PANIC")) {
                Stdio::null()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("start the server");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, incoming) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Ok(Some(message)) = Message::read(&mut reader) {
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
        let mut client =
            Client { child, stdin, incoming, backlog: Vec::new(), server_requests: Vec::new(), next_id: 0 };
        let result = client.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "rootUri": uri(root),
                "workspaceFolders": [{ "uri": uri(root), "name": "root" }],
                "capabilities": capabilities,
            }),
        );
        client.notify("initialized", json!({}));
        (client, result.expect("initialize succeeds"))
    }

    fn write(&mut self, message: Message) {
        message.write(&mut self.stdin).expect("write to the server");
        self.stdin.flush().unwrap();
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.write(Message::Notification(Notification::new(method.to_owned(), params)));
    }

    /// Sends a request and waits for its response: `Ok(result)` or `Err(error)`. Requests from
    /// the server are answered with `null`; notifications go to the backlog.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.write(Message::Request(Request::new(id.clone(), method.to_owned(), params)));
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.next(deadline) {
                Some(Incoming::Response(r)) if r.id == id => {
                    return match r.error {
                        Some(e) => Err(serde_json::to_value(e).unwrap()),
                        None => Ok(r.result.unwrap_or(Value::Null)),
                    };
                }
                Some(_) => {}
                None => panic!("no response to `{method}` within {PATIENCE:?}"),
            }
        }
    }

    /// The next message: a notification goes to the backlog (its last entry); a request is
    /// answered.
    fn next(&mut self, deadline: Instant) -> Option<Incoming> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok(Message::Notification(n)) => {
                self.backlog.push(n);
                Some(Incoming::Notification)
            }
            Ok(Message::Request(r)) => {
                self.server_requests.push(r.method.clone());
                let response = lsp_server::Response::new_ok(r.id, Value::Null);
                self.write(Message::Response(response));
                Some(Incoming::Request)
            }
            Ok(Message::Response(r)) => Some(Incoming::Response(r)),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Waits for a notification that `wanted` accepts, looking at the backlog first (and taking
    /// it out of the backlog).
    pub fn wait_for(&mut self, what: &str, wanted: impl Fn(&Notification) -> bool) -> Notification {
        if let Some(i) = self.backlog.iter().position(&wanted) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.next(deadline) {
                Some(Incoming::Notification) if self.backlog.last().is_some_and(&wanted) => {
                    return self.backlog.pop().expect("just pushed");
                }
                Some(_) => {}
                None => panic!("no {what} within {PATIENCE:?}; received: {:#?}", self.backlog),
            }
        }
    }

    /// Waits for the diagnostics of `uri`, of `version` when given.
    pub fn diagnostics(&mut self, uri: &str, version: Option<i64>) -> Vec<Value> {
        let n = self.wait_for(&format!("diagnostics of {uri} (version {version:?})"), |n| {
            n.method == "textDocument/publishDiagnostics"
                && n.params["uri"] == uri
                && version.is_none_or(|v| n.params["version"] == v)
        });
        match n.params {
            Value::Object(mut params) => match params.remove("diagnostics") {
                Some(Value::Array(diagnostics)) => diagnostics,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// Opens a document.
    pub fn open(&mut self, uri: &str, language: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": language, "version": version, "text": text } }),
        );
    }

    /// Replaces a document's whole text.
    pub fn replace(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    /// `shutdown` then `exit`; returns the server's exit status.
    pub fn shutdown(mut self) -> std::process::ExitStatus {
        let answer = self.request("shutdown", Value::Null);
        assert_eq!(answer, Ok(Value::Null));
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
