//! Every rule's documented bad example fires that rule, and its good example fires nothing.

#[path = "../runtime/tests/skip/mod.rs"]
mod skip;

use std::path::Path;

use cargo_agent_events::config::{Config, RawConfig};
use cargo_agent_events::frontend::Lang;
use cargo_agent_events::lint::Linter;
use cargo_agent_events::rules::{builtin_defs, RuleDef};

/// The configuration a rule's examples are linted with: its docs' `config`, if any.
fn raw_config(def: &RuleDef, base: &str) -> RawConfig {
    let text = format!("{base}\n{}", def.docs.config.as_deref().unwrap_or_default());
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: the docs' `config` is invalid: {e}", def.id))
}

fn lint(def: &RuleDef, text: &str) -> Vec<String> {
    let config = Config::from_raw(raw_config(def, ""), Path::new("agent-events.toml"), Vec::new()).unwrap();
    let linter = Linter::new(&config);
    linter.lint_text("src/example.rs", &[], text).findings.into_iter().map(|f| f.rule).collect()
}

#[test]
fn bad_examples_fire_their_rule() {
    for def in builtin_defs() {
        let rules = lint(&def, &def.docs.bad);
        assert!(rules.contains(&def.id), "{}: the bad example fires {rules:?}", def.id);
    }
}

#[test]
fn good_examples_fire_nothing() {
    for def in builtin_defs() {
        let rules = lint(&def, &def.docs.good);
        assert!(rules.is_empty(), "{}: the good example fires {rules:?}", def.id);
    }
}

fn lint_python(def: &RuleDef, text: &str) -> Vec<String> {
    let raw = raw_config(def, "canonical-calls = [\"self._websocket_adapter.emit_*\"]");
    let config = Config::from_raw(raw, Path::new("pyproject.toml"), Vec::new()).unwrap();
    let linter = Linter::new(&config);
    linter
        .lint_text("app/example.py", &["app".into(), "example".into()], text)
        .findings
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

#[test]
fn every_rule_has_python_examples_that_behave() {
    for def in builtin_defs().into_iter().filter(|d| d.reads(Lang::Python)) {
        let (bad, good) =
            def.examples(Lang::Python).unwrap_or_else(|| panic!("{} has no [lang.python] section", def.id));
        let rules = lint_python(&def, bad);
        assert!(rules.contains(&def.id), "{}: the Python bad example fires {rules:?}", def.id);
        let rules = lint_python(&def, good);
        assert!(rules.is_empty(), "{}: the Python good example fires {rules:?}", def.id);
    }
}

/// Every language of the table has examples in every rule that reads it, and none in a rule
/// that does not.
#[test]
fn every_rule_has_examples_in_every_language() {
    for def in builtin_defs() {
        for lang in Lang::ALL {
            assert_eq!(
                def.examples(lang).is_some(),
                def.reads(lang),
                "{}: examples in {} but reads {:?}",
                def.id,
                lang.name(),
                def.languages
            );
        }
    }
}

/// Runs Python "good" examples with python3 against a stub adapter; see [`python_good_examples_run`].
const HARNESS: &str = r#"
import asyncio, inspect, json, logging, sys

spec = json.load(open(sys.argv[1]))


class ToolFailed(Exception):
    pass


class Anything:
    """Whatever else an example is handed: every attribute, call, item and await is another."""

    def __init__(self, label):
        self._label = label

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything(self._label + "." + name)

    def __call__(self, *args, **kwargs):
        return Anything(self._label + "()")

    def __getitem__(self, key):
        return Anything(self._label + "[" + repr(key) + "]")

    def __await__(self):
        yield from ()
        return self

    def __iter__(self):
        return iter(())

    def __eq__(self, other):
        return isinstance(other, Anything) and other._label == self._label

    def __hash__(self):
        return hash(self._label)

    def __str__(self):
        return self._label


class Adapter:
    """The canonical adapter: its emission methods, each recording the call."""

    def __init__(self, methods, log):
        for method in methods:
            setattr(self, method, self._recorder(method, log))

    @staticmethod
    def _recorder(method, log):
        async def record(*args, **kwargs):
            log.append({"call": method, "args": [str(a) for a in args], "kwargs": sorted(kwargs)})

        return record

    def __getattr__(self, name):
        raise AttributeError("the canonical adapter has no method " + name)


class Tools:
    """`self.tools[name]`: a tool that succeeds, or raises ToolFailed."""

    def __init__(self, fails, log):
        self.fails, self.log = fails, log

    def __getitem__(self, name):
        async def tool(*args, **kwargs):
            self.log.append({"call": "tool", "args": [str(name)], "kwargs": []})
            if self.fails:
                raise ToolFailed(str(name) + " failed")
            return {"rows": 3}

        return tool


class Owner(Anything):
    def __init__(self, adapter, tools):
        super().__init__("self")
        setattr(self, spec["adapter_attribute"], adapter)
        self.tools = tools


def environment():
    # What the examples take from the project they stand in: a logger and the per-user factory.
    return {
        "__name__": "example",
        "logger": logging.getLogger("example"),
        "get_websocket_manager": lambda *args, **kwargs: Anything("manager"),
    }


def functions(namespace, known):
    for name, value in list(namespace.items()):
        if name in known:
            continue
        if inspect.isfunction(value):
            yield name, value, False
        elif inspect.isclass(value):
            for attr, member in vars(value).items():
                if inspect.isfunction(member):
                    yield name + "." + attr, member, True


def call(function, owner, is_method):
    args = []
    for i, parameter in enumerate(inspect.signature(function).parameters.values()):
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            continue
        if parameter.name == "self" or (is_method and i == 0):
            args.append(owner)
        else:
            args.append(Anything(parameter.name))
    result = function(*args)
    if inspect.iscoroutine(result):
        asyncio.run(result)


def paired(log):
    problems, open_calls = [], []
    for entry in log:
        name = entry["args"][0] if entry["args"] else None
        if entry["call"] == spec["executing"]:
            open_calls.append(name)
        elif entry["call"] == spec["completed"]:
            if name in open_calls:
                open_calls.remove(name)
            else:
                problems.append("tool_completed for " + str(name) + " with no tool_executing open")
    problems += ["tool_executing for " + str(n) + " never completed" for n in open_calls]
    return problems


failed = False
for example in spec["examples"]:
    for mode in ("succeeds", "raises"):
        log, problems, raised = [], [], None
        owner = Owner(Adapter(spec["methods"], log), Tools(mode == "raises", log))
        namespace = environment()
        known = set(namespace)
        try:
            exec(compile(example["source"], "<" + example["rule"] + ">", "exec"), namespace)
            for name, function, is_method in functions(namespace, known):
                try:
                    call(function, owner, is_method)
                except ToolFailed:
                    raised = "ToolFailed"
        except Exception as error:
            problems.append(type(error).__name__ + ": " + str(error))
        problems += paired(log)
        failed = failed or bool(problems)
        print(json.dumps({"rule": example["rule"], "mode": mode, "calls": [e["call"] for e in log],
                          "raised": raised, "problems": problems}))
sys.exit(1 if failed else 0)
"#;

/// What one example did in one mode (the tool succeeding or raising).
#[derive(Debug, serde::Deserialize)]
struct Ran {
    rule: String,
    mode: String,
    calls: Vec<String>,
    raised: Option<String>,
    problems: Vec<String>,
}

/// python3, or `None` (with a visible skip) when it is missing and not required.
fn python3() -> Option<&'static str> {
    let found =
        std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        skip::skip("python3", "Debian: `apt-get install python3`");
        return None;
    }
    Some("python3")
}

/// The canonical adapter's calls, from `rules/canonical.toml`'s Python text for each event type
/// and the adapter pattern the examples are linted with: (`self._websocket_adapter`,
/// [`emit_agent_started`, …]).
fn adapter() -> (String, Vec<String>) {
    let canonical: toml::Table = toml::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/canonical.toml")).unwrap(),
    )
    .unwrap();
    let template = canonical["python"]["calls"]["*"].as_str().unwrap();
    let calls: Vec<String> = agent_events_schema::EventType::ALL
        .iter()
        .map(|t| {
            let call = template.replace("{adapter-call}", &ADAPTER_PATTERN.replace('*', t.as_str()));
            call.trim_matches('`').trim_end_matches("(…)").to_owned()
        })
        .collect();
    let (receiver, _) = calls[0].rsplit_once('.').unwrap();
    let attribute = receiver.strip_prefix("self.").expect("the adapter is an attribute of `self`").to_owned();
    let methods = calls.iter().map(|c| c.rsplit_once('.').unwrap().1.to_owned()).collect();
    (attribute, methods)
}

/// The canonical adapter the Python examples are linted with (see `lint_python`).
const ADAPTER_PATTERN: &str = "self._websocket_adapter.emit_*";

/// Runs examples `(rule, source)` in the harness; its exit status and what each did.
fn run_python(python: &str, examples: &[(String, String)]) -> (bool, Vec<Ran>, String) {
    let (attribute, methods) = adapter();
    let dir = tempfile::tempdir().unwrap();
    let spec = serde_json::json!({
        "adapter_attribute": attribute,
        "executing": methods.iter().find(|m| m.ends_with("tool_executing")).unwrap(),
        "completed": methods.iter().find(|m| m.ends_with("tool_completed")).unwrap(),
        "methods": methods,
        "examples": examples.iter().map(|(rule, source)| serde_json::json!({ "rule": rule, "source": source })).collect::<Vec<_>>(),
    });
    std::fs::write(dir.path().join("spec.json"), spec.to_string()).unwrap();
    std::fs::write(dir.path().join("harness.py"), HARNESS).unwrap();
    let out = std::process::Command::new(python)
        .args(["harness.py", "spec.json"])
        .current_dir(dir.path())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ran =
        stdout.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    (out.status.success(), ran, format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

/// Every rule's Python "good" example compiles and runs against a stub of the canonical adapter
/// (the methods `rules/canonical.toml` names), with its tool succeeding and raising: no
/// `NameError`/`UnboundLocalError` or other error but the tool's own, and every
/// `tool_executing` completed.
#[test]
fn python_good_examples_run() {
    let Some(python) = python3() else { return };
    let examples: Vec<(String, String)> = builtin_defs()
        .iter()
        .filter(|d| d.reads(Lang::Python))
        .map(|d| (d.id.clone(), d.examples(Lang::Python).unwrap().1.to_owned()))
        .collect();
    let (ok, ran, output) = run_python(python, &examples);
    assert!(ok, "a Python good example misbehaves:\n{output}");
    assert_eq!(ran.len(), examples.len() * 2, "{output}");
    for r in &ran {
        assert!(r.problems.is_empty(), "{r:?}");
    }
    // The tool example was exercised on both paths.
    let unpaired: Vec<&Ran> = ran.iter().filter(|r| r.rule == "unpaired-tool-event").collect();
    for r in unpaired {
        assert_eq!(r.calls, ["emit_tool_executing", "tool", "emit_tool_completed"], "{r:?}");
        assert_eq!(r.raised.is_some(), r.mode == "raises", "{r:?}");
    }
}

/// The harness catches the bug a `finally:` completing with a result the tool never returned.
#[test]
fn the_python_harness_catches_an_unbound_result() {
    let Some(python) = python3() else { return };
    let buggy = "async def run_tool(self, name, params):\n    await self._websocket_adapter.emit_tool_executing(name, params)\n    try:\n        result = await self.tools[name](params)\n    finally:\n        await self._websocket_adapter.emit_tool_completed(name, result)\n    return result\n";
    let (ok, ran, output) = run_python(python, &[("buggy".into(), buggy.into())]);
    assert!(!ok, "{output}");
    let raised: Vec<&Ran> = ran.iter().filter(|r| r.mode == "raises").collect();
    assert!(raised[0].problems.iter().any(|p| p.starts_with("UnboundLocalError")), "{output}");
    assert!(raised[0].problems.iter().any(|p| p.contains("never completed")), "{output}");
    let unpaired =
        "async def f(self):\n    await self._websocket_adapter.emit_tool_executing(\"search\", {})\n";
    let (ok, _, output) = run_python(python, &[("unpaired".into(), unpaired.into())]);
    assert!(!ok && output.contains("tool_executing for search never completed"), "{output}");
}
