//! `cargo agent-events server`: a Language Server Protocol server over stdio, on `lsp-server`
//! and `lsp-types`.
//!
//! - Open documents are linted from their unsaved text. Changes are queued per document: a newer
//!   version replaces the one waiting; a change that follows another within [`DEBOUNCE`] waits
//!   [`DEBOUNCE`] (a burst is linted once), one after a pause is linted at once; and a result
//!   for a version that is no longer current is dropped.
//! - The workspace is linted on start-up (and again when a configuration changes), for the files
//!   that are not open.
//! - One linter per project (configuration), built once; one long-lived lint thread with the
//!   linter's large stack, reused for every document.
//! - A panic while linting a document is logged, and that document's diagnostics are cleared;
//!   the session goes on. An invalid configuration is a diagnostic on its file.

mod actions;
mod convert;
mod projects;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as notif, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, Diagnostic, DiagnosticSeverity,
    DidChangeWatchedFilesRegistrationOptions, FileSystemWatcher, GlobPattern, HoverProviderCapability,
    InitializeParams, MessageType, Position, Range, Registration, RegistrationParams, SaveOptions,
    ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Uri,
};

pub use convert::{Encoding, Lines};

use crate::config::ConfigError;
use crate::diagnostic::Finding;
use crate::frontend::Lang;
use projects::{is_config_file, Lintable, Projects};

/// How long a document's lint waits after a change that follows another this closely: a burst
/// of keystrokes is linted once.
pub const DEBOUNCE: Duration = Duration::from_millis(10);

/// Serves one session on stdin and stdout; the exit code is 0 after `shutdown` and `exit`.
pub fn run_stdio() -> ExitCode {
    let (connection, io_threads) = Connection::stdio();
    let served = serve(&connection);
    drop(connection);
    let joined = io_threads.join();
    match (served, joined) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(e), _) => {
            eprintln!("error: the language server stopped: {e}");
            ExitCode::from(1)
        }
        (_, Err(e)) => {
            eprintln!("error: the language server's input or output failed: {e}");
            ExitCode::from(1)
        }
    }
}

/// One open document.
struct Doc {
    uri: Uri,
    version: i32,
    text: Arc<str>,
    /// The findings of `version`, once linted, with their diagnostics.
    linted: Option<(i32, Vec<Finding>, Vec<Diagnostic>)>,
}

/// A document to lint.
struct Job {
    uri: Uri,
    version: i32,
    text: Arc<str>,
    lintable: Lintable,
}

/// What the background threads send back.
enum Done {
    /// A document linted (or the panic message).
    Document { uri: Uri, version: i32, text: Arc<str>, findings: Result<Vec<Finding>, String> },
    /// The workspace linted: each file with findings, with its text.
    Workspace { generation: u64, files: Vec<(PathBuf, Arc<str>, Vec<Finding>)>, errors: Vec<ConfigError> },
}

/// The documents waiting to be linted, newest version per document.
#[derive(Default)]
struct Queue {
    pending: Mutex<Pending>,
    ready: Condvar,
}

#[derive(Default)]
struct Pending {
    /// By URI, each with when it is due.
    jobs: BTreeMap<String, (Job, Instant)>,
    /// When each document last changed.
    changed: HashMap<String, Instant>,
    closed: bool,
}

impl Queue {
    /// Queues a document's newest version. A change right after another one (within
    /// [`DEBOUNCE`]) waits [`DEBOUNCE`], so a burst of keystrokes is linted once; a change after
    /// a pause is linted at once.
    fn push(&self, job: Job) {
        if let Ok(mut pending) = self.pending.lock() {
            let now = Instant::now();
            let key = job.uri.as_str().to_owned();
            let burst = pending.changed.get(&key).is_some_and(|last| now.duration_since(*last) < DEBOUNCE);
            // A version already waiting keeps its time: a steady stream of changes is still
            // linted every DEBOUNCE.
            let waiting = pending.jobs.get(&key).map(|(_, due)| *due);
            let due = waiting.unwrap_or(if burst { now + DEBOUNCE } else { now });
            pending.changed.insert(key.clone(), now);
            pending.jobs.insert(key, (job, due));
            self.ready.notify_one();
        }
    }

    /// Forgets a closed document.
    fn forget(&self, uri: &str) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.jobs.remove(uri);
            pending.changed.remove(uri);
        }
    }

    fn close(&self) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.closed = true;
            self.ready.notify_one();
        }
    }

    /// The next job that is due; `None` once closed.
    fn next(&self) -> Option<Job> {
        let mut pending = self.pending.lock().ok()?;
        loop {
            if pending.closed {
                return None;
            }
            let now = Instant::now();
            let due = pending.jobs.iter().map(|(k, (_, due))| (*due, k.clone())).min();
            match due {
                Some((at, key)) if at <= now => return pending.jobs.remove(&key).map(|(job, _)| job),
                Some((at, _)) => pending = self.ready.wait_timeout(pending, at - now).ok()?.0,
                None => pending = self.ready.wait(pending).ok()?,
            }
        }
    }
}

/// The lint thread: takes jobs until the queue closes.
fn lint_thread(queue: Arc<Queue>, done: Sender<Done>) -> std::io::Result<std::thread::JoinHandle<()>> {
    // Fault injection for the tests of what a panic does: a document whose text holds this
    // variable's value panics its lint.
    let panic_on = std::env::var("AGENT_EVENTS_SERVER_PANIC_ON").ok().filter(|m| !m.is_empty());
    std::thread::Builder::new().name("lint".into()).stack_size(crate::lint::WORKER_STACK).spawn(move || {
        while let Some(job) = queue.next() {
            let Lintable { linter, rel, module } = &job.lintable;
            let linted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if panic_on.as_deref().is_some_and(|marker| job.text.contains(marker)) {
                    panic!("injected by AGENT_EVENTS_SERVER_PANIC_ON");
                }
                linter.lint_text(rel, module, &job.text).findings
            }));
            let findings = linted.map_err(|panic| panic_message(&*panic));
            let sent =
                done.send(Done::Document { uri: job.uri, version: job.version, text: job.text, findings });
            if sent.is_err() {
                return;
            }
        }
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// A document's current version, linted.
struct Current {
    text: Arc<str>,
    findings: Vec<Finding>,
    diagnostics: Vec<Diagnostic>,
    lintable: Lintable,
}

/// The server's state, on the main thread.
struct Server<'a> {
    connection: &'a Connection,
    encoding: Encoding,
    folders: Vec<PathBuf>,
    /// By URI.
    docs: HashMap<String, Doc>,
    projects: Projects,
    queue: Arc<Queue>,
    done: Sender<Done>,
    /// Files (URIs) given diagnostics by the last workspace lint (cleared when they have none).
    workspace_published: HashSet<String>,
    /// Configuration files (URIs) given an error diagnostic, with its message.
    config_published: HashMap<String, String>,
    /// Which workspace lint is the newest (older results are dropped).
    generation: u64,
    /// Runs the synchronous lints of code actions on a large stack.
    sync_worker: Option<crate::lint::StackWorker>,
}

/// Runs a session on `connection` (stdio for the real server, in-memory in tests) until
/// `shutdown` and `exit`.
pub fn serve(connection: &Connection) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams = serde_json::from_value(params)?;
    let encoding = Encoding::negotiate(
        params.capabilities.general.as_ref().and_then(|g| g.position_encodings.as_deref()),
    );
    let capabilities = ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(false) })),
            ..TextDocumentSyncOptions::default()
        })),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX, CodeActionKind::from(actions::FIX_ALL)]),
            ..CodeActionOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    };
    let result = serde_json::json!({
        "capabilities": capabilities,
        "serverInfo": { "name": "agent-events", "version": env!("CARGO_PKG_VERSION") },
    });
    connection.initialize_finish(id, result)?;

    let mut folders: Vec<PathBuf> =
        params.workspace_folders.iter().flatten().filter_map(|f| convert::path_of(&f.uri)).collect();
    #[allow(deprecated)]
    if folders.is_empty() {
        folders.extend(params.root_uri.as_ref().and_then(convert::path_of));
    }
    let watch = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files)
        .and_then(|w| w.dynamic_registration)
        .unwrap_or(false);

    let queue = Arc::new(Queue::default());
    let (done, results) = crossbeam_channel::unbounded();
    let worker = lint_thread(Arc::clone(&queue), done.clone())?;
    let mut server = Server {
        connection,
        encoding,
        folders,
        docs: HashMap::new(),
        projects: Projects::default(),
        queue: Arc::clone(&queue),
        done,
        workspace_published: HashSet::new(),
        config_published: HashMap::new(),
        generation: 0,
        sync_worker: crate::lint::StackWorker::start("lint-sync"),
    };
    if watch {
        server.register_watchers();
    }
    let outcome = server.main_loop(&results);
    queue.close();
    let _ = worker.join();
    outcome
}

impl Server<'_> {
    fn main_loop(
        &mut self,
        results: &Receiver<Done>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.lint_workspace();
        loop {
            select! {
                recv(self.connection.receiver) -> message => {
                    let Ok(message) = message else { return Ok(()) };
                    match message {
                        Message::Request(request) => {
                            if self.connection.handle_shutdown(&request)? {
                                return Ok(());
                            }
                            self.request(request);
                        }
                        Message::Notification(notification) => {
                            if notification.method == notif::Exit::METHOD {
                                return Ok(());
                            }
                            self.notification(notification);
                        }
                        Message::Response(_) => {}
                    }
                }
                recv(results) -> done => {
                    if let Ok(done) = done {
                        self.finished(done);
                    }
                }
            }
        }
    }

    fn send(&self, message: impl Into<Message>) {
        let _ = self.connection.sender.send(message.into());
    }

    fn log(&self, typ: MessageType, message: String) {
        let params = lsp_types::LogMessageParams { typ, message };
        self.send(Notification::new(notif::LogMessage::METHOD.to_owned(), params));
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<Diagnostic>, version: Option<i32>) {
        self.publish_ref(&uri, &diagnostics, version);
    }

    /// Publishes without copying the diagnostics (an open document keeps them for its code
    /// actions and hover).
    fn publish_ref(&self, uri: &Uri, diagnostics: &[Diagnostic], version: Option<i32>) {
        let params = serde_json::json!({ "uri": uri, "diagnostics": diagnostics, "version": version });
        self.send(Notification::new(notif::PublishDiagnostics::METHOD.to_owned(), params));
    }

    /// Clears the diagnostics of a URI kept as text.
    fn publish_cleared(&self, uri: &str) {
        if let Ok(uri) = uri.parse::<Uri>() {
            self.publish(uri, Vec::new(), None);
        }
    }

    fn register_watchers(&self) {
        let watchers = projects::CONFIG_FILES
            .iter()
            .map(|name| FileSystemWatcher {
                glob_pattern: GlobPattern::String(format!("**/{name}")),
                kind: None,
            })
            .collect();
        let options = DidChangeWatchedFilesRegistrationOptions { watchers };
        let registration = Registration {
            id: "agent-events-config".to_owned(),
            method: notif::DidChangeWatchedFiles::METHOD.to_owned(),
            register_options: serde_json::to_value(options).ok(),
        };
        let params = RegistrationParams { registrations: vec![registration] };
        let id = RequestId::from("agent-events-register-watchers".to_owned());
        self.send(Request::new(id, req::RegisterCapability::METHOD.to_owned(), params));
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            notif::DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params) else {
                    return;
                };
                let doc = p.text_document;
                let text: Arc<str> = Arc::from(doc.text);
                self.docs.insert(
                    doc.uri.as_str().to_owned(),
                    Doc { uri: doc.uri.clone(), version: doc.version, text, linted: None },
                );
                self.schedule(&doc.uri);
            }
            notif::DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params) else {
                    return;
                };
                let uri = p.text_document.uri;
                let Some(doc) = self.docs.get_mut(uri.as_str()) else { return };
                let mut text = doc.text.to_string();
                for change in p.content_changes {
                    match change.range {
                        Some(range) => {
                            let span = Lines::new(&text).span(range, self.encoding);
                            text.replace_range(span.start..span.end, &change.text);
                        }
                        None => text = change.text,
                    }
                }
                doc.version = p.text_document.version;
                doc.text = Arc::from(text);
                self.schedule(&uri);
            }
            notif::DidSaveTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(n.params) else {
                    return;
                };
                if convert::path_of(&p.text_document.uri).is_some_and(|path| is_config_file(&path)) {
                    self.configuration_changed();
                }
            }
            notif::DidCloseTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params) else {
                    return;
                };
                let uri = p.text_document.uri;
                self.docs.remove(uri.as_str());
                self.queue.forget(uri.as_str());
                // Closed, the document shows the findings of the file on disk.
                let diagnostics = self.lint_on_disk(&uri).unwrap_or_default();
                if !diagnostics.is_empty() {
                    self.workspace_published.insert(uri.as_str().to_owned());
                }
                self.publish(uri, diagnostics, None);
            }
            notif::DidChangeWatchedFiles::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidChangeWatchedFilesParams>(n.params) else {
                    return;
                };
                if p.changes
                    .iter()
                    .any(|c| convert::path_of(&c.uri).is_some_and(|path| is_config_file(&path)))
                {
                    self.configuration_changed();
                }
            }
            _ => {}
        }
    }

    /// A configuration file changed: every project is read again, every open document and the
    /// workspace linted again.
    fn configuration_changed(&mut self) {
        self.projects.clear();
        let uris: Vec<Uri> = self.docs.values().map(|d| d.uri.clone()).collect();
        for uri in uris {
            self.schedule(&uri);
        }
        self.lint_workspace();
    }

    /// Queues a document's lint, or clears its diagnostics when it is not linted (an invalid
    /// configuration, an excluded file, another language).
    fn schedule(&mut self, uri: &Uri) {
        if !self.docs.contains_key(uri.as_str()) {
            return;
        }
        let lintable = convert::path_of(uri).and_then(|path| self.projects.lintable(&path));
        self.publish_config_errors();
        let Some(doc) = self.docs.get(uri.as_str()) else { return };
        match lintable {
            Some(lintable) => self.queue.push(Job {
                uri: uri.clone(),
                version: doc.version,
                text: Arc::clone(&doc.text),
                lintable,
            }),
            None => self.publish(uri.clone(), Vec::new(), Some(doc.version)),
        }
    }

    fn finished(&mut self, done: Done) {
        match done {
            Done::Document { uri, version, text, findings } => {
                let Some(doc) = self.docs.get_mut(uri.as_str()) else { return };
                if doc.version != version {
                    return; // stale: a newer version is queued
                }
                match findings {
                    Ok(findings) => {
                        let lines = Lines::new(&text);
                        let diagnostics: Vec<Diagnostic> = findings
                            .iter()
                            .map(|f| convert::diagnostic(f, &uri, &lines, self.encoding))
                            .collect();
                        self.publish_ref(&uri, &diagnostics, Some(version));
                        if let Some(doc) = self.docs.get_mut(uri.as_str()) {
                            doc.linted = Some((version, findings, diagnostics));
                        }
                    }
                    Err(panic) => {
                        doc.linted = None;
                        let path =
                            convert::path_of(&uri).map(|p| p.display().to_string()).unwrap_or_default();
                        self.log(
                            MessageType::ERROR,
                            format!("agent-events: linting {path} failed (a bug in the linter; please report it): {panic}"),
                        );
                        self.publish(uri, Vec::new(), Some(version));
                    }
                }
            }
            Done::Workspace { generation, files, errors } => {
                if generation != self.generation {
                    return;
                }
                let mut published = HashSet::new();
                for (path, text, findings) in files {
                    let Some(uri) = convert::uri_of(&path) else { continue };
                    if self.docs.contains_key(uri.as_str()) {
                        continue; // an open document's diagnostics come from its text
                    }
                    let lines = Lines::new(&text);
                    let diagnostics = findings
                        .iter()
                        .map(|f| convert::diagnostic(f, &uri, &lines, self.encoding))
                        .collect();
                    published.insert(uri.as_str().to_owned());
                    self.publish(uri, diagnostics, None);
                }
                for stale in self.workspace_published.difference(&published) {
                    if !self.docs.contains_key(stale) {
                        self.publish_cleared(stale);
                    }
                }
                self.workspace_published = published;
                for error in errors {
                    self.publish_config_error(&error);
                }
            }
        }
    }

    /// Lints every workspace folder in the background.
    fn lint_workspace(&mut self) {
        self.generation += 1;
        let generation = self.generation;
        let folders = self.folders.clone();
        let done = self.done.clone();
        let spawned = std::thread::Builder::new().name("workspace".into()).spawn(move || {
            let mut files = Vec::new();
            let mut errors = Vec::new();
            let mut roots: Vec<PathBuf> = folders.iter().map(|f| crate::discover::find_root(f, f)).collect();
            roots.sort();
            roots.dedup();
            for (root, folder) in roots.iter().zip(&folders) {
                let config = match crate::config::Config::load(root, None) {
                    Ok(config) => config,
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                };
                let (targets, _) = crate::discover::discover(root, std::slice::from_ref(folder), &config);
                let linter = crate::lint::Linter::new(&config);
                for (target, report) in targets.iter().zip(linter.run(&targets)) {
                    if let Some(source) = report.source.filter(|_| !report.findings.is_empty()) {
                        files.push((target.path.clone(), source, report.findings));
                    }
                }
            }
            let _ = done.send(Done::Workspace { generation, files, errors });
        });
        if let Err(e) = spawned {
            self.log(MessageType::ERROR, format!("agent-events: cannot lint the workspace: {e}"));
        }
    }

    /// Shows each project's configuration error on its file, and clears the ones fixed.
    fn publish_config_errors(&mut self) {
        let errors: Vec<ConfigError> = self.projects.errors().cloned().collect();
        let now: HashSet<String> =
            errors.iter().filter_map(|e| convert::uri_of(&e.path)).map(|u| u.as_str().to_owned()).collect();
        for fixed in self.config_published.keys().filter(|u| !now.contains(*u)) {
            self.publish_cleared(fixed);
        }
        self.config_published.retain(|u, _| now.contains(u));
        for error in errors {
            self.publish_config_error(&error);
        }
    }

    /// Shows a configuration error on its file, unless it is shown already.
    fn publish_config_error(&mut self, error: &ConfigError) {
        let Some(uri) = convert::uri_of(&error.path) else { return };
        if self.config_published.get(uri.as_str()) == Some(&error.message) {
            return;
        }
        let position = config_error_position(&error.message);
        let diagnostic = Diagnostic {
            range: Range { start: position, end: position },
            severity: Some(DiagnosticSeverity::ERROR),
            source: Some("agent-events".to_owned()),
            message: format!("invalid configuration: {}", error.message.trim_end()),
            ..Diagnostic::default()
        };
        self.config_published.insert(uri.as_str().to_owned(), error.message.clone());
        self.publish(uri, vec![diagnostic], None);
    }

    fn request(&mut self, request: Request) {
        let id = request.id.clone();
        let answer = match request.method.as_str() {
            req::CodeActionRequest::METHOD => serde_json::from_value(request.params)
                .map_err(|e| e.to_string())
                .map(|p| serde_json::to_value(self.code_actions(p)).unwrap_or_default()),
            req::HoverRequest::METHOD => serde_json::from_value(request.params)
                .map_err(|e| e.to_string())
                .map(|p| serde_json::to_value(self.hover(p)).unwrap_or_default()),
            _ => {
                let message = format!("agent-events does not handle `{}`", request.method);
                self.send(Response::new_err(id, ErrorCode::MethodNotFound as i32, message));
                return;
            }
        };
        match answer {
            Ok(value) => self.send(Response::new_ok(id, value)),
            Err(e) => self.send(Response::new_err(id, ErrorCode::InvalidParams as i32, e)),
        }
    }

    /// The findings of a document's current version: the ones published, or (when its lint is
    /// still queued) linted now.
    fn current(&mut self, uri: &Uri) -> Option<Current> {
        let path = convert::path_of(uri)?;
        let lintable = self.projects.lintable(&path)?;
        let doc = self.docs.get(uri.as_str())?;
        if let Some((version, findings, diagnostics)) = &doc.linted {
            if *version == doc.version {
                let (findings, diagnostics) = (findings.clone(), diagnostics.clone());
                return Some(Current { text: Arc::clone(&doc.text), findings, diagnostics, lintable });
            }
        }
        let text = Arc::clone(&doc.text);
        let (findings, diagnostics) = self.lint_now(uri, &lintable, &text)?;
        Some(Current { text, findings, diagnostics, lintable })
    }

    /// Lints a text now, on the large stack (a panic is logged and gives `None`).
    fn lint_now(
        &self,
        uri: &Uri,
        lintable: &Lintable,
        text: &Arc<str>,
    ) -> Option<(Vec<Finding>, Vec<Diagnostic>)> {
        let (linter, rel, module) =
            (Arc::clone(&lintable.linter), lintable.rel.clone(), lintable.module.clone());
        let lint_text = Arc::clone(text);
        let lint = move || linter.lint_text(&rel, &module, &lint_text).findings;
        let linted = match &self.sync_worker {
            Some(worker) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.run(lint))),
            None => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::lint::on_worker_stack(lint)))
            }
        };
        let findings = match linted {
            Ok(findings) => findings,
            Err(panic) => {
                let message = panic_message(&*panic);
                self.log(
                    MessageType::ERROR,
                    format!(
                        "agent-events: linting {} failed (a bug in the linter; please report it): {message}",
                        lintable.rel
                    ),
                );
                return None;
            }
        };
        let lines = Lines::new(text);
        let diagnostics =
            findings.iter().map(|f| convert::diagnostic(f, uri, &lines, self.encoding)).collect();
        Some((findings, diagnostics))
    }

    /// The diagnostics of a file as it is on disk (a document just closed).
    fn lint_on_disk(&mut self, uri: &Uri) -> Option<Vec<Diagnostic>> {
        let path = convert::path_of(uri)?;
        let lintable = self.projects.lintable(&path)?;
        let text: Arc<str> = Arc::from(std::fs::read_to_string(&path).ok()?);
        Some(self.lint_now(uri, &lintable, &text)?.1)
    }

    fn code_actions(&mut self, p: lsp_types::CodeActionParams) -> Vec<lsp_types::CodeActionOrCommand> {
        let uri = p.text_document.uri;
        let Some(Current { text, findings, diagnostics, lintable }) = self.current(&uri) else {
            return Vec::new();
        };
        let lang = Lang::of_name(&lintable.rel);
        let only = p.context.only;
        let Lintable { linter, rel, module } = lintable;
        let (range, encoding) = (p.range, self.encoding);
        // On the large stack: fixing the whole file lints it again, to a fixed point.
        let compute = move || {
            let doc = actions::Linted {
                uri: &uri,
                text: &text,
                findings: &findings,
                diagnostics: &diagnostics,
                encoding,
            };
            actions::code_actions(&doc, range, only.as_deref(), lang, &linter, &rel, &module)
        };
        match &self.sync_worker {
            Some(worker) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.run(compute)))
                .unwrap_or_else(|panic| {
                    self.log(
                        MessageType::ERROR,
                        format!("agent-events: code actions failed: {}", panic_message(&*panic)),
                    );
                    Vec::new()
                }),
            None => crate::lint::on_worker_stack(compute),
        }
    }

    fn hover(&mut self, p: lsp_types::HoverParams) -> Option<lsp_types::Hover> {
        let uri = p.text_document_position_params.text_document.uri;
        let current = self.current(&uri)?;
        actions::hover(&current.findings, &current.diagnostics, p.text_document_position_params.position)
    }
}

/// Where a configuration error is: toml's `at line L, column C` when the message has it.
fn config_error_position(message: &str) -> Position {
    let number_after = |key: &str| {
        let at = message.find(key)? + key.len();
        let digits: String = message[at..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    };
    match (number_after("line "), number_after("column ")) {
        (Some(line), Some(column)) => Position::new(line.saturating_sub(1), column.saturating_sub(1)),
        (Some(line), None) => Position::new(line.saturating_sub(1), 0),
        _ => Position::new(0, 0),
    }
}
