//! `cargo agent-events server` at the protocol level: the real binary, driven over stdio.

#[path = "lsp/client.rs"]
mod client;

use std::path::Path;

use client::{uri, Client};
use serde_json::{json, Value};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
}

/// A line with CJK and an emoji before the finding: UTF-16 counts them differently from bytes
/// and from characters.
const APP: &str = "# agent-events: allow(deprecated-api) -- nothing here uses it
async def notify(manager, user_id):
    label = \"进度 😀\"; await manager.send_to_user(user_id, {\"type\": \"agent_thinking\", \"thought\": label})
";

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// The code actions for a range of `uri`.
fn code_actions(client: &mut Client, uri: &str, range: &Value, only: Option<&[&str]>) -> Vec<Value> {
    let mut context = json!({ "diagnostics": [] });
    if let Some(only) = only {
        context["only"] = json!(only);
    }
    let answer = client.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": range, "context": context }),
    );
    answer.unwrap().as_array().cloned().unwrap_or_default()
}

/// A project holding `APP` as `app.py`, a server on it, and `app.py` open (version 1).
fn open_app() -> (tempfile::TempDir, Client, String) {
    let dir = project(&[("agent-events.toml", ""), ("app.py", APP)]);
    let root = dir.path().canonicalize().unwrap();
    let (mut client, _) = Client::start(binary(), &root, json!({}));
    let app = uri(&root.join("app.py"));
    client.open(&app, "python", 1, APP);
    (dir, client, app)
}

fn by_rule<'a>(diagnostics: &'a [Value], rule: &str) -> &'a Value {
    diagnostics.iter().find(|d| d["code"] == rule).unwrap_or_else(|| panic!("no {rule} in {diagnostics:#?}"))
}

#[test]
fn initialize_open_change_and_shut_down() {
    let dir = project(&[("agent-events.toml", ""), ("app.py", APP)]);
    let root = dir.path().canonicalize().unwrap();
    let (mut client, init) = Client::start(binary(), &root, json!({}));
    let caps = &init["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16", "the default when the client offers nothing");
    assert_eq!(caps["textDocumentSync"]["change"], 2, "incremental");
    assert_eq!(init["serverInfo"]["name"], "agent-events");

    let app = uri(&root.join("app.py"));
    // Unsaved text: the file on disk is not what is linted.
    let edited = APP.replace("allow(deprecated-api)", "allow(deprecated-api, user-emitter-call)");
    client.open(&app, "python", 1, &edited);
    let diagnostics = client.diagnostics(&app, Some(1));
    let event = by_rule(&diagnostics, "direct-event-payload");
    let line = APP.lines().nth(2).unwrap();
    let at = line.find("\"agent_thinking\"").unwrap();
    let utf16 = |s: &str| s.encode_utf16().count();
    assert_eq!(
        event["range"],
        json!({
            "start": { "line": 2, "character": utf16(&line[..at]) },
            "end": { "line": 2, "character": utf16(&line[..at]) + "\"agent_thinking\"".len() },
        }),
        "UTF-16 columns: 进度 count 1 each, 😀 counts 2"
    );
    assert_eq!(utf16(&line[..at]), line[..at].chars().count() + 1);
    assert_eq!(event["severity"], 2, "a warning");
    assert_eq!(event["source"], "agent-events");
    assert!(event["message"].as_str().unwrap().contains("hand-built `agent_thinking` event"), "{event}");
    assert!(
        diagnostics.iter().any(|d| d["code"] == "unused-suppression"
            && d["message"].as_str().unwrap().contains("no `user-emitter-call` finding")),
        "the unsaved text is linted: {diagnostics:#?}"
    );

    // An incremental change: the suppression is removed, and with it both of its findings.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": app, "version": 2 },
            "contentChanges": [{
                "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 1, "character": 0 } },
                "text": "",
            }],
        }),
    );
    let diagnostics = client.diagnostics(&app, Some(2));
    let rules: Vec<&Value> = diagnostics.iter().map(|d| &d["code"]).collect();
    assert_eq!(rules, ["direct-event-payload"], "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 1, "one line up");

    assert!(client.shutdown().success());
}

#[test]
fn utf8_is_used_when_the_client_offers_it() {
    let dir = project(&[("agent-events.toml", ""), ("app.py", APP)]);
    let root = dir.path().canonicalize().unwrap();
    let capabilities = json!({ "general": { "positionEncodings": ["utf-16", "utf-8"] } });
    let (mut client, init) = Client::start(binary(), &root, capabilities);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-8");
    let app = uri(&root.join("app.py"));
    client.open(&app, "python", 1, APP);
    let diagnostics = client.diagnostics(&app, Some(1));
    let line = APP.lines().nth(2).unwrap();
    assert_eq!(
        by_rule(&diagnostics, "direct-event-payload")["range"]["start"]["character"],
        line.find("\"agent_thinking\"").unwrap()
    );
}

#[test]
fn a_burst_of_changes_publishes_the_last_version_and_never_an_older_one_after_it() {
    let (_dir, mut client, app) = open_app();
    let _ = client.diagnostics(&app, Some(1));
    client.backlog.clear();
    for version in 2..=30 {
        let text = format!("{APP}\n# edit {version}\n");
        client.replace(&app, version, &text);
    }
    let last = client.diagnostics(&app, Some(30));
    assert_eq!(last.len(), 2);
    let published = |client: &Client| -> Vec<i64> {
        client
            .backlog
            .iter()
            .filter(|n| n.method == "textDocument/publishDiagnostics" && n.params["uri"] == app.as_str())
            .filter_map(|n| n.params["version"].as_i64())
            .collect()
    };
    let before = published(&client);
    assert!(before.windows(2).all(|w| w[0] < w[1]) && before.iter().all(|v| *v < 30), "{before:?}");
    assert!(before.len() < 28, "a burst is not linted change by change: {before:?}");
    // Nothing older may follow the newest: wait, then make a round trip.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let _ = client.request(
        "textDocument/hover",
        json!({
            "textDocument": { "uri": app }, "position": { "line": 0, "character": 0 },
        }),
    );
    assert_eq!(published(&client), before, "diagnostics published after the newest version's");
}

/// Applies a workspace edit's changes for `uri` to `text` (UTF-16 positions).
fn apply(text: &str, edit: &Value, uri: &str) -> String {
    let mut edits: Vec<&Value> = edit["changes"][uri].as_array().unwrap().iter().collect();
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let character = p["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= character || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    edits.sort_by_key(|e| std::cmp::Reverse(offset(&e["range"]["start"])));
    let mut out = text.to_owned();
    for e in edits {
        let (start, end) = (offset(&e["range"]["start"]), offset(&e["range"]["end"]));
        out.replace_range(start..end, e["newText"].as_str().unwrap());
    }
    out
}

#[test]
fn code_actions_fix_suppress_and_fix_all() {
    let (_dir, mut client, app) = open_app();
    let diagnostics = client.diagnostics(&app, Some(1));
    let unused = by_rule(&diagnostics, "unused-suppression").clone();

    // The safe fix of the unused suppression, as a preferred quick fix.
    let actions = code_actions(&mut client, &app, &unused["range"], Some(&["quickfix"]));
    let actions = &actions;
    let fix = actions
        .iter()
        .find(|a| a["title"] == "Fix `unused-suppression`")
        .unwrap_or_else(|| panic!("{actions:#?}"));
    assert_eq!((fix["kind"].clone(), fix["isPreferred"].clone()), (json!("quickfix"), json!(true)));
    assert!(!actions.iter().any(|a| a["kind"] == "source.fixAll.agent-events"), "`only` filters kinds");
    let fixed = apply(APP, &fix["edit"], &app);
    assert_eq!(fixed, APP.split_once('\n').unwrap().1, "the comment's line is removed");

    // Suppressing the hand-built event: the inserted comment silences it.
    let event = by_rule(&diagnostics, "direct-event-payload").clone();
    let actions = code_actions(
        &mut client,
        &app,
        &json!({ "start": event["range"]["start"], "end": event["range"]["start"] }),
        None,
    );
    let actions = &actions;
    let suppress = actions
        .iter()
        .find(|a| a["title"] == "Suppress `direct-event-payload` on this line (with a reason)")
        .unwrap_or_else(|| panic!("{actions:#?}"));
    let suppressed = apply(APP, &suppress["edit"], &app);
    assert!(
        suppressed.contains(
            "    # agent-events: allow(direct-event-payload) -- TODO: why this site stays\n    label ="
        ),
        "{suppressed}"
    );
    client.replace(&app, 2, &suppressed);
    let after = client.diagnostics(&app, Some(2));
    assert!(!after.iter().any(|d| d["code"] == "direct-event-payload"), "{after:#?}");

    // Fix all: every safe fix of the file, as the `fix` command would write it.
    let actions = code_actions(
        &mut client,
        &app,
        &json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }),
        Some(&["source.fixAll"]),
    );
    let actions = &actions;
    assert_eq!(actions.len(), 1, "{actions:#?}");
    assert_eq!(actions[0]["kind"], "source.fixAll.agent-events");
    let all = apply(&suppressed, &actions[0]["edit"], &app);
    assert!(!all.contains("allow(deprecated-api)") && all.contains("allow(direct-event-payload)"), "{all}");
}

#[test]
fn hover_shows_the_rules_documentation() {
    let (_dir, mut client, app) = open_app();
    let diagnostics = client.diagnostics(&app, Some(1));
    let event = by_rule(&diagnostics, "direct-event-payload");
    let hover = client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": app }, "position": event["range"]["start"] }),
        )
        .unwrap();
    let text = hover["contents"]["value"].as_str().unwrap();
    assert_eq!(hover["contents"]["kind"], "markdown");
    assert!(text.starts_with("# direct-event-payload"), "{text}");
    assert!(text.contains("## Use instead") && text.contains("## In Python"), "{text}");
    assert_eq!(hover["range"], event["range"]);
    let nothing = client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": app }, "position": { "line": 1, "character": 0 } }),
        )
        .unwrap();
    assert_eq!(nothing, Value::Null);
}

#[test]
fn the_workspace_is_linted_on_start_up() {
    let dir = project(&[
        ("agent-events.toml", "exclude = [\"vendor\"]\n"),
        ("app.py", APP),
        (
            "src/legacy.rs",
            "pub fn f(ws: &Ws) { ws.broadcast(serde_json::json!({\"type\": \"agent_started\"})); }\n",
        ),
        ("vendor/skip.py", APP),
        ("clean.py", "print('hello')\n"),
    ]);
    let root = dir.path().canonicalize().unwrap();
    let (mut client, _) = Client::start(binary(), &root, json!({}));
    let app = client.diagnostics(&uri(&root.join("app.py")), None);
    assert_eq!(app.len(), 2, "{app:#?}");
    let legacy = client.diagnostics(&uri(&root.join("src/legacy.rs")), None);
    assert!(!legacy.is_empty());
    let _ = client.request(
        "textDocument/hover",
        json!({
            "textDocument": { "uri": uri(&root.join("app.py")) }, "position": { "line": 0, "character": 0 },
        }),
    );
    let excluded = uri(&root.join("vendor/skip.py"));
    assert!(
        !client.backlog.iter().any(|n| n.params["uri"] == excluded.as_str()),
        "excluded folders are not linted"
    );
}

#[test]
fn an_invalid_configuration_is_a_diagnostic_on_its_file_and_a_fix_relints() {
    let dir = project(&[("agent-events.toml", "[rules]\nno-such-key = 1\nexclude = 3\n"), ("app.py", APP)]);
    let root = dir.path().canonicalize().unwrap();
    let capabilities = json!({ "workspace": { "didChangeWatchedFiles": { "dynamicRegistration": true } } });
    let (mut client, _) = Client::start(binary(), &root, capabilities);
    let config = uri(&root.join("agent-events.toml"));
    let app = uri(&root.join("app.py"));
    client.open(&app, "python", 1, APP);
    let errors = client.diagnostics(&config, None);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0]["message"].as_str().unwrap().starts_with("invalid configuration:"), "{errors:#?}");
    assert_eq!(errors[0]["severity"], 1);
    assert!(client.diagnostics(&app, Some(1)).is_empty(), "nothing is linted with an invalid configuration");

    assert!(
        client.server_requests.iter().any(|m| m == "client/registerCapability"),
        "the server asks to watch the configuration files: {:?}",
        client.server_requests
    );

    std::fs::write(root.join("agent-events.toml"), "").unwrap();
    client.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": config, "type": 2 }] }));
    client.wait_for("the configuration's error cleared", |n| {
        n.params["uri"] == config.as_str() && n.params["diagnostics"] == json!([])
    });
    client.wait_for("the open document linted again", |n| {
        n.params["uri"] == app.as_str() && n.params["diagnostics"].as_array().is_some_and(|d| d.len() == 2)
    });
}

#[test]
fn unknown_requests_get_an_error_and_the_session_goes_on() {
    let dir = project(&[("agent-events.toml", ""), ("app.py", APP)]);
    let root = dir.path().canonicalize().unwrap();
    let (mut client, _) = Client::start(binary(), &root, json!({}));
    let answer = client.request("textDocument/definition", json!({}));
    assert_eq!(answer.unwrap_err()["code"], -32601);
    let bad = client.request("textDocument/hover", json!({ "nonsense": true }));
    assert_eq!(bad.unwrap_err()["code"], -32602);
    let app = uri(&root.join("app.py"));
    client.open(&app, "python", 1, "def broken(:\n");
    let diagnostics = client.diagnostics(&app, Some(1));
    assert_eq!(diagnostics[0]["code"], "parse-error");
    assert!(client.shutdown().success());
}

#[test]
fn a_panic_while_linting_is_logged_clears_the_documents_diagnostics_and_the_session_goes_on() {
    let dir = project(&[("agent-events.toml", ""), ("app.py", APP)]);
    let root = dir.path().canonicalize().unwrap();
    let env = [("AGENT_EVENTS_SERVER_PANIC_ON", "PANIC-HERE")];
    let (mut client, _) = Client::start_with_env(binary(), &root, json!({}), &env);
    let app = uri(&root.join("app.py"));
    client.open(&app, "python", 1, APP);
    assert_eq!(client.diagnostics(&app, Some(1)).len(), 2);
    client.replace(&app, 2, &format!("{APP}# PANIC-HERE\n"));
    assert!(client.diagnostics(&app, Some(2)).is_empty(), "cleared");
    let logged =
        client.wait_for("an error logged", |n| n.method == "window/logMessage" && n.params["type"] == 1);
    let message = logged.params["message"].as_str().unwrap();
    assert!(message.contains("app.py") && message.contains("a bug in the linter"), "{message}");
    client.replace(&app, 3, APP);
    assert_eq!(client.diagnostics(&app, Some(3)).len(), 2, "the next version is linted as before");
    assert!(client.shutdown().success());
}

#[test]
fn a_closed_document_shows_the_findings_of_the_file_on_disk() {
    let (_dir, mut client, app) = open_app();
    client.replace(&app, 2, "print('edited, not saved')\n");
    assert!(client.diagnostics(&app, Some(2)).is_empty());
    client.notify("textDocument/didClose", json!({ "textDocument": { "uri": app } }));
    let on_disk = client.wait_for("the file's diagnostics after closing", |n| {
        n.params["uri"] == app.as_str()
            && n.params["version"].is_null()
            && n.params["diagnostics"].as_array().is_some_and(|d| d.len() == 2)
    });
    assert_eq!(on_disk.method, "textDocument/publishDiagnostics");
}
