//! The shipped vocabularies (`docs/vocabularies/*.toml`) on small excerpts written in the shapes
//! of the projects they describe (`tests/vocabularies/*.rs`): every line marked
//! `// expect: <rule>` is a finding of that rule, and there is no other finding. A pair the
//! linter stops finding fails here.

use std::collections::BTreeSet;
use std::path::Path;

use cargo_agent_events::config::Config;
use cargo_agent_events::diagnostic::Finding;
use cargo_agent_events::lint::Linter;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Findings as `(line, rule)`.
type Sites = BTreeSet<(usize, String)>;

/// The findings of the excerpt linted with the vocabulary, and the lines it marks.
fn findings(vocabulary: &str, excerpt: &str) -> (Sites, Sites) {
    let config = Config::load(root(), Some(&root().join("docs/vocabularies").join(vocabulary))).unwrap();
    let linter = Linter::new(&config);
    let text = std::fs::read_to_string(root().join("tests/vocabularies").join(excerpt)).unwrap();
    // Through the prefilter, whose strings come from the vocabulary: the same findings as without.
    let report = linter.lint_bytes("src/agent.rs", &[], text.as_bytes());
    let unfiltered =
        Linter::new(&config).without_prefilter().lint_bytes("src/agent.rs", &[], text.as_bytes());
    assert_eq!(report.findings, unfiltered.findings, "{excerpt}: the prefilter changes the findings");
    let found = report.findings.into_iter().map(|f| (f.start.line, f.rule)).collect();
    let expected = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| l.split_once("// expect: ").map(|(_, r)| (i + 1, r.trim().to_owned())))
        .collect();
    (found, expected)
}

/// The findings of `code` (the file `rel`, module `module`) linted with a vocabulary written in
/// TOML, through the prefilter.
fn lint_with(vocabulary: &str, rel: &str, module: &[String], code: &str) -> Vec<Finding> {
    let raw = toml::from_str(vocabulary).unwrap();
    let config = Config::from_raw(raw, Path::new("agent-events.toml"), Vec::new()).unwrap();
    Linter::new(&config).lint_bytes(rel, module, code.as_bytes()).findings
}

fn check(vocabulary: &str, excerpt: &str) {
    let (found, expected) = findings(vocabulary, excerpt);
    assert_eq!(found, expected, "{excerpt} with {vocabulary}: found (left) and marked (right) differ");
}

#[test]
fn swiftide_on_start_and_before_tool_are_paired() {
    check("swiftide.toml", "swiftide.rs");
}

#[test]
fn rust_deep_agents_sdk_agent_and_sub_agent_are_paired() {
    check("rust-deep-agents-sdk.toml", "deep_agents.rs");
}

#[test]
fn autoagents_turns_are_paired_and_the_second_send_path_is_found() {
    check("autoagents.toml", "autoagents.rs");
}

/// Without a vocabulary the same excerpts are silent: the events are the project's own.
#[test]
fn without_a_vocabulary_the_excerpts_are_silent() {
    let config = Config::load(&root().join("fixtures/legacy-backend"), None).unwrap();
    let linter = Linter::new(&config);
    for excerpt in ["swiftide.rs", "deep_agents.rs", "autoagents.rs"] {
        let text = std::fs::read_to_string(root().join("tests/vocabularies").join(excerpt)).unwrap();
        let findings = linter.lint_text("src/agent.rs", &[], &text).findings;
        assert!(findings.is_empty(), "{excerpt}: {findings:#?}");
    }
}

/// The error of a configuration file holding `text`.
fn config_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent-events.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(dir.path(), Some(&path)).unwrap_err().message
}

#[test]
fn configuration_errors_name_the_key() {
    assert_eq!(
        config_error("[vocabulary.events.turn_started]\nvariants = [\"TurnStarted\"]"),
        "`vocabulary.events.turn_started.variants[0]`: `TurnStarted` is not an enum variant like `Event::TaskStarted`"
    );
    assert_eq!(
        config_error("[vocabulary.events.on_start]\nmacros = [\"invoke_hooks!\"]"),
        "`vocabulary.events.on_start.macros[0]`: `invoke_hooks!` is not a macro with its first argument, like `invoke_hooks!(OnStart)`"
    );
    assert_eq!(
        config_error("[vocabulary.events.turn_started]\n"),
        "`vocabulary.events.turn_started`: declares no way to write it (give `variants`, `structs`, `helpers`, `macros` or `strings`)"
    );
    assert_eq!(
        config_error(
            "[vocabulary.events.turn_started]\nvariants = [\"Event::TurnStarted\"]\n[[vocabulary.pairs]]\nopen = \"turn_startd\"\nclose = \"tool_completed\""
        ),
        "`vocabulary.pairs[0].open`: there is no event kind `turn_startd`; did you mean `turn_started`?"
    );
    assert_eq!(
        config_error(
            "[vocabulary.events.a]\nhelpers = [\"a\"]\n[[vocabulary.pairs]]\nopen = \"a\"\nclose = \"tool_completed\"\nclose-in = [\"later\"]"
        ),
        "`vocabulary.pairs[0].close-in[0]`: `later` is not a place (expected `drop`, `stream-end` or `caller:<function>`)"
    );
    assert!(config_error("[vocabulary]\nevent = {}").contains("unknown field `event`"));
    assert_eq!(
        config_error("[vocabulary.emitters]\nsinks = [\"a b\"]"),
        "`vocabulary.emitters.sinks[0]`: `a b` is not a method like `send` or `tx.send`"
    );
}

/// The shapes the pairing rules follow in a declared vocabulary: a `let … else` that leaves, a
/// `?` in a `try_stream!` body, a `Drop` guard, a named caller, the end of a stream, keys.
#[test]
fn pairs_follow_let_else_streams_guards_callers_and_keys() {
    let vocabulary = r#"
[vocabulary.events.started]
variants = ["Ev::Started"]
[vocabulary.events.done]
variants = ["Ev::Done"]
[[vocabulary.pairs]]
open = "started"
close = "done"
key = "id"
close-in = ["drop", "stream-end", "caller:run"]
"#;
    let code = r#"
fn let_else(tx: &Tx, x: Option<u32>) {
    tx.send(Ev::Started { id: 1 });
    let Some(v) = x else { return };
    tx.send(Ev::Done { id: 1 });
}
fn streamed(tx: Tx) -> impl Stream {
    try_stream! {
        tx.send(Ev::Started { id: 2 });
        let v = fetch().await?;
        yield v;
    }
}
fn stream_end(tx: Tx) -> impl Stream {
    stream! {
        tx.send(Ev::Started { id: 3 });
        yield 1;
    }
}
struct Guard;
impl Drop for Guard {
    fn drop(&mut self) { self.tx.send(Ev::Done { id: 0 }); }
}
fn guarded(tx: &Tx) -> Result<(), E> {
    tx.send(Ev::Started { id: 4 });
    let _g = Guard;
    step()?;
    Ok(())
}
fn opens(tx: &Tx) {
    tx.send(Ev::Started { id: 5 });
}
fn run(tx: &Tx) -> Result<(), E> {
    opens(tx);
    tx.send(Ev::Done { id: 5 });
    opens_again(tx);
    step()?;
    tx.send(Ev::Done { id: 9 });
    Ok(())
}
fn opens_again(tx: &Tx) {
    tx.send(Ev::Started { id: 9 });
}
fn keyed(tx: &Tx) {
    tx.send(Ev::Started { id: 6 });
    tx.send(Ev::Done { id: 7 });
}
"#;
    let lines: Vec<(usize, String, String)> = lint_with(vocabulary, "src/a.rs", &[], code)
        .into_iter()
        .map(|f| (f.start.line, f.rule, f.message))
        .collect();
    let at: Vec<usize> = lines.iter().map(|(l, ..)| *l).collect();
    // `let … else { return }` (l. 3), `?` in `try_stream!` (l. 9), the named caller's `?` after
    // a call that hands it an open (l. 36), a key that does not match (l. 45); the guard, the
    // caller that closes and the plain stream's end close theirs.
    assert_eq!(at, [3, 9, 36, 45], "{lines:#?}");
    assert!(lines[0].2.contains("the `return` leaves first"), "{lines:#?}");
    assert!(lines[1].2.contains("the `?` leaves first"), "{lines:#?}");
}

/// The `toml` blocks of a Markdown text that declare a vocabulary.
fn vocabulary_blocks(markdown: &str) -> Vec<String> {
    markdown
        .split("```toml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block.to_owned()))
        .filter(|block| block.contains("[vocabulary"))
        .collect()
}

/// The documented examples are configurations the linter takes, and `explain vocabulary` prints
/// the reference.
#[test]
fn the_documented_vocabularies_are_valid() {
    let reference = std::fs::read_to_string(root().join("docs/vocabulary.md")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let blocks: Vec<String> =
        vocabulary_blocks(&reference).into_iter().chain(vocabulary_blocks(&readme)).collect();
    assert_eq!(blocks.len(), 2, "one example in each");
    for block in &blocks {
        let raw = toml::from_str(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        let config = Config::from_raw(raw, Path::new("agent-events.toml"), Vec::new());
        assert!(config.is_ok(), "{:?}\n{block}", config.err());
    }
    for name in ["swiftide.toml", "rust-deep-agents-sdk.toml", "autoagents.toml"] {
        let path = root().join("docs/vocabularies").join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let pinned = text.lines().next().and_then(|l| l.split_once(" at ")).is_some_and(|(_, rest)| {
            rest.split_whitespace()
                .next()
                .map(|c| c.trim_end_matches('.'))
                .is_some_and(|c| c.len() == 40 && c.chars().all(|c| c.is_ascii_hexdigit()))
        });
        assert!(pinned, "{name}: the first line pins the commit");
        Config::load(root(), Some(&path)).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(["explain", "vocabulary"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), reference);
}

/// A vocabulary's sinks: delivered outside the canonical emitters (`direct-event-payload`), a
/// second emitter (`competing-emitter`), to every user (`unscoped-broadcast`); the canonical
/// emitter and test code are silent.
#[test]
fn sinks_outside_the_canonical_emitters_are_findings() {
    let vocabulary = r#"
[vocabulary.events.task_started]
variants = ["Event::TaskStarted"]
[vocabulary.emitters]
canonical = ["Hub::*"]
sinks = ["tx.send"]
broadcast = ["all.send"]
"#;
    let code = r#"
impl Hub {
    async fn send(&self, event: Event) {
        self.tx.send(event).await;
    }
}
async fn by_hand(tx: &Sender<Event>) {
    tx.send(Event::TaskStarted { sub_id: 1 }).await;
}
async fn relay(tx: &Sender<Event>, event: Event) {
    tx.send(event).await;
}
async fn to_everyone(state: &State) {
    state.all.send(Event::TaskStarted { sub_id: 1 });
}
async fn unrelated(tx: &Sender<String>, line: String) {
    tx.send(line).await;
}
#[cfg(test)]
mod tests {
    async fn feeds(tx: &Sender<Event>) {
        tx.send(Event::TaskStarted { sub_id: 1 }).await;
    }
}
"#;
    let found: Vec<(usize, String)> =
        lint_with(vocabulary, "src/a.rs", &[], code).into_iter().map(|f| (f.start.line, f.rule)).collect();
    assert_eq!(
        found,
        [
            (8, "direct-event-payload".to_owned()),
            (10, "competing-emitter".to_owned()),
            (14, "unscoped-broadcast".to_owned()),
        ]
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
        .args(["check", "--print-prefilter", "--config"])
        .arg(root().join("docs/vocabularies/swiftide.toml"))
        .arg(root().join("fixtures/legacy-backend"))
        .output()
        .unwrap();
    let needles = String::from_utf8(out.stdout).unwrap();
    assert!(
        needles.lines().any(|l| l == "OnStart"),
        "the vocabulary's forms are the prefilter's strings:\n{needles}"
    );
}

/// Every way of writing a kind: a variant through `use Event::*`, through a type alias and as
/// `Self::X` in the enum's `impl`, a struct literal and `Struct::new`, a unit variant, a helper,
/// a macro's first argument.
#[test]
fn every_form_of_a_kind_is_found() {
    let vocabulary = r#"
[vocabulary.events.started]
variants = ["Event::Started"]
structs = ["StartedEvent"]
helpers = ["Hub::send_started"]
macros = ["fire!(OnStart)"]
[vocabulary.events.done]
variants = ["Event::Done"]
[[vocabulary.pairs]]
open = "started"
close = "done"
"#;
    let code = r#"
use crate::events::Event::*;
type E = crate::events::Event;
fn glob(tx: &Tx) -> Result<(), X> {
    tx.send(Started { id: 1 });
    step()?;
    tx.send(Done);
}
fn alias(tx: &Tx) -> Result<(), X> {
    tx.send(E::Started(1));
    step()?;
    tx.send(E::Done);
}
fn literal(tx: &Tx) -> Result<(), X> {
    tx.send(StartedEvent { id: 1 });
    step()?;
    tx.send(Done);
}
fn constructed(tx: &Tx) -> Result<(), X> {
    tx.send(StartedEvent::new(1));
    step()?;
    tx.send(Done);
}
fn helper(hub: &Hub) -> Result<(), X> {
    hub.send_started(1);
    step()?;
    hub.send(Done);
}
fn hooked(&mut self) -> Result<(), X> {
    fire!(OnStart, self);
    step()?;
    self.tx.send(Done);
}
fn paired(hub: &Hub) -> Result<(), X> {
    hub.send_started(1);
    hub.send(Done);
    step()?;
}
impl Event {
    fn in_its_impl(tx: &Tx) -> Result<(), X> {
        tx.send(Self::Started(1));
        step()?;
        tx.send(Self::Done);
    }
}
"#;
    let lines: Vec<usize> =
        lint_with(vocabulary, "src/a.rs", &[], code).into_iter().map(|f| f.start.line).collect();
    assert_eq!(lines, [5, 10, 15, 20, 25, 30, 41]);
}

/// A Python project declares string types and helpers: the pairing rule follows them.
#[test]
fn python_declares_strings_and_helpers() {
    let vocabulary = r#"
[vocabulary.events.step_started]
strings = ["step_started"]
helpers = ["emit_step_started"]
[vocabulary.events.step_finished]
strings = ["step_finished"]
helpers = ["emit_step_finished"]
[[vocabulary.pairs]]
open = "step_started"
close = "step_finished"
key = "step"
"#;
    let code = r#"
async def run(self, step):
    await self.events.emit_step_started(step)
    if not step:
        return None
    result = await self.do(step)
    await self.events.emit_step_finished(step)
    return result

async def run_guarded(self, step):
    await self.events.emit_step_started(step)
    try:
        return await self.do(step)
    finally:
        await self.events.emit_step_finished(step)
"#;
    let found: Vec<(usize, String)> =
        lint_with(vocabulary, "app/steps.py", &["app".into(), "steps".into()], code)
            .into_iter()
            .map(|f| (f.start.line, f.message))
            .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, 3);
    assert!(
        found[0].1.contains("`step_started` sent here may never be closed (`step_finished`): the `return`"),
        "{found:#?}"
    );
}
