//! Rules are data plus matchers: `rules/<id>.toml` holds a rule's id, kind, default level,
//! message, help, name lists and docs; each matcher kind is one module here.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::facts::Facts;
use crate::source::Span;

mod broadcast;
mod competing;
mod event_payload;
pub mod events;
mod manager_access;
mod method_call;
mod missing_field;
mod paths;
mod singleton;
mod unpaired;

pub use events::Events;

/// A configured rule level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Not reported.
    Allow,
    /// Reported as a warning.
    Warn,
    /// Reported as an error (exit code 1).
    Deny,
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(Level::Allow),
            "warn" => Ok(Level::Warn),
            "deny" => Ok(Level::Deny),
            other => Err(format!("`{other}` is not a level (expected `allow`, `warn` or `deny`)")),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        })
    }
}

/// The matcher a rule uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Hand-built event literals, `insert("type", …)`, event types passed to send helpers.
    EventPayload,
    /// Hand-built events lacking required fields.
    MissingField,
    /// A websocket manager reached through another object and used to send.
    ManagerAccess,
    /// Process-wide manager statics and zero-argument getters.
    Singleton,
    /// Calls of listed method names.
    MethodCall,
    /// Uses of listed paths.
    BannedPath,
    /// `tool_executing` with a path to an exit without `tool_completed`.
    Unpaired,
    /// Agent events sent through all-users methods.
    Broadcast,
    /// Types defining agent-event emission methods.
    Competing,
    /// Files that do not parse (reported by the engine).
    ParseError,
    /// Suppressions that suppressed nothing (reported by the engine).
    UnusedSuppression,
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "event-payload" => Kind::EventPayload,
            "missing-field" => Kind::MissingField,
            "manager-access" => Kind::ManagerAccess,
            "singleton" => Kind::Singleton,
            "method-call" => Kind::MethodCall,
            "banned-path" => Kind::BannedPath,
            "unpaired" => Kind::Unpaired,
            "broadcast" => Kind::Broadcast,
            "competing" => Kind::Competing,
            "parse-error" => Kind::ParseError,
            "unused-suppression" => Kind::UnusedSuppression,
            other => return Err(format!("`{other}` is not a matcher kind")),
        })
    }
}

/// The text of a rule's documentation, printed by `explain` and checked by the tests.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    /// What it does.
    pub what: String,
    /// Why is this bad?
    pub why: String,
    /// An example that fires.
    pub bad: String,
    /// What to write instead; does not fire.
    pub good: String,
    /// Options: the name lists and what they hold.
    #[serde(default)]
    pub options: Option<String>,
}

/// One rule, as written in `rules/<id>.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// The rule id, e.g. `direct-event-payload`.
    pub id: String,
    /// The matcher kind.
    pub kind: String,
    /// The default level.
    pub level: Level,
    /// One line for `cargo agent-events rules`.
    pub summary: String,
    /// The finding's message; `{name}` placeholders are filled by the matcher.
    pub message: String,
    /// What to do instead.
    pub help: String,
    /// Named lists of names the matcher reads (configurable).
    #[serde(default)]
    pub lists: BTreeMap<String, Vec<String>>,
    /// Rewrites that fix findings of this rule (more can be configured).
    #[serde(default)]
    pub rewrites: Vec<crate::rewrite::RewriteDef>,
    /// Documentation.
    pub docs: Docs,
    /// What differs for Python files.
    #[serde(default)]
    pub python: Option<LangDef>,
}

/// What differs for one language: help, name lists and examples.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LangDef {
    /// The help in this language, when it differs.
    #[serde(default)]
    pub help: Option<String>,
    /// Name lists that replace the rule's lists of the same name.
    #[serde(default)]
    pub lists: BTreeMap<String, Vec<String>>,
    /// An example that fires.
    pub bad: String,
    /// What to write instead; does not fire.
    pub good: String,
}

impl RuleDef {
    /// Parses a rule definition, checking that its kind exists.
    pub fn parse(text: &str) -> Result<RuleDef, String> {
        let def: RuleDef = toml::from_str(text).map_err(|e| e.to_string())?;
        def.kind.parse::<Kind>()?;
        if let Some(python) = &def.python {
            if let Some(list) = python.lists.keys().find(|l| !def.lists.contains_key(*l)) {
                return Err(format!("`python.lists.{list}` names no list of the rule"));
            }
        }
        for (i, r) in def.rewrites.iter().enumerate() {
            crate::rewrite::Rewrite::new(r.clone()).map_err(|e| format!("rewrites[{i}]: {e}"))?;
        }
        Ok(def)
    }

    /// The matcher kind.
    pub fn matcher(&self) -> Kind {
        self.kind.parse().unwrap_or(Kind::ParseError)
    }
}

macro_rules! builtin {
    ($($id:literal),* $(,)?) => {
        /// The rules that ship with the linter: `(id, TOML text)`.
        pub const BUILTIN: &[(&str, &str)] = &[$(($id, include_str!(concat!("../../rules/", $id, ".toml")))),*];
    };
}

builtin!(
    "direct-event-payload",
    "event-missing-field",
    "context-manager-call",
    "singleton-manager",
    "user-emitter-call",
    "deprecated-api",
    "unpaired-tool-event",
    "unscoped-broadcast",
    "competing-emitter",
    "parse-error",
    "unused-suppression",
);

/// Every built-in rule definition, in the order of [`BUILTIN`].
pub fn builtin_defs() -> Vec<RuleDef> {
    BUILTIN
        .iter()
        .map(|(id, text)| RuleDef::parse(text).unwrap_or_else(|e| panic!("rules/{id}.toml is invalid: {e}")))
        .collect()
}

/// A rule as configured for a run: its definition and its name lists after configuration.
#[derive(Clone, Debug)]
pub struct ActiveRule {
    /// The definition.
    pub def: RuleDef,
    /// The matcher.
    pub kind: Kind,
    /// The name lists, with configured replacements and extensions applied.
    pub lists: BTreeMap<String, Vec<String>>,
    /// The help for findings of this rule.
    pub help: String,
    /// The rewrites that fix its findings: the rule's own, then configured ones.
    pub rewrites: Vec<crate::rewrite::Rewrite>,
}

impl ActiveRule {
    /// A rule with its default lists.
    pub fn new(def: RuleDef) -> Self {
        let kind = def.matcher();
        let lists = def.lists.clone();
        let rewrites =
            def.rewrites.iter().filter_map(|r| crate::rewrite::Rewrite::new(r.clone()).ok()).collect();
        let help = def.help.clone();
        ActiveRule { def, kind, lists, help, rewrites }
    }

    /// The rule as it applies to files of `lang`: its lists and help for that language.
    pub fn for_lang(&self, lang: crate::frontend::Lang) -> ActiveRule {
        let mut rule = self.clone();
        if lang == crate::frontend::Lang::Python {
            if let Some(python) = &self.def.python {
                rule.lists.extend(python.lists.clone());
                if let Some(help) = &python.help {
                    rule.help = help.clone();
                }
            }
            // Rewrites are Rust token patterns.
            rule.rewrites.clear();
        }
        rule
    }

    /// A name list (empty when the rule has none by that name).
    pub fn list(&self, name: &str) -> &[String] {
        self.lists.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether `value` is in the list `name`.
    pub fn listed(&self, name: &str, value: &str) -> bool {
        self.list(name).iter().any(|v| v == value)
    }
}

/// One match of a rule: where, the values for the message's placeholders, and secondary labels.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The primary span.
    pub span: Span,
    /// Values for `{placeholder}`s in the message and help.
    pub args: Vec<(&'static str, String)>,
    /// Further spans with a note each.
    pub labels: Vec<(Span, String)>,
    /// How to fix it, when the rule knows.
    pub fix: Option<crate::fix::Fix>,
}

impl Hit {
    /// A hit with no placeholders.
    pub fn at(span: Span) -> Self {
        Hit { span, args: Vec::new(), labels: Vec::new(), fix: None }
    }

    /// Attaches a fix.
    pub fn fix(mut self, fix: crate::fix::Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    /// Adds a placeholder value.
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    /// Adds a secondary label.
    pub fn label(mut self, span: Span, note: impl Into<String>) -> Self {
        self.labels.push((span, note.into()));
        self
    }
}

/// What a matcher sees.
pub struct Cx<'a> {
    /// The file, relative to the root.
    pub rel: &'a str,
    /// The file's text.
    pub text: &'a str,
    /// The file's facts.
    pub facts: &'a Facts,
    /// The event types and their required fields.
    pub events: &'a Events,
    /// The rule being run.
    pub rule: &'a ActiveRule,
    /// The file's language.
    pub lang: crate::frontend::Lang,
    /// The project's canonical adapter call pattern (Python), e.g. `self._adapter.emit_*`.
    pub adapter: Option<&'a str>,
}

impl Cx<'_> {
    /// What canonical code writes instead of sending an event of this type by hand.
    pub fn canonical_call(&self, event: &str) -> String {
        match self.lang {
            crate::frontend::Lang::Rust => events::canonical_call(event),
            crate::frontend::Lang::Python => match self.adapter {
                Some(pattern) => format!("`{}(…)`", pattern.replacen('*', event, 1)),
                None => "the project's canonical adapter (name it in `canonical-calls`)".to_owned(),
            },
        }
    }
}

/// What the prefilter of a rule sees.
pub struct Needles<'a> {
    /// The event types and their required fields.
    pub events: &'a Events,
    /// The rule.
    pub rule: &'a ActiveRule,
}

/// The literal strings a file must contain for a rule to fire in it: one string of every group.
/// The prefilter skips, without parsing them, the files where no active rule's groups are all
/// present. `None` for the rules the engine reports itself (`parse-error` needs no string;
/// `unused-suppression` needs the suppression marker, which the engine adds).
pub fn needles(cx: &Needles<'_>) -> Option<Vec<Vec<String>>> {
    Some(match cx.rule.kind {
        Kind::EventPayload => event_payload::needles(cx),
        Kind::MissingField => missing_field::needles(cx),
        Kind::ManagerAccess => manager_access::needles(cx),
        Kind::Singleton => singleton::needles(cx),
        Kind::MethodCall => method_call::needles(cx),
        Kind::BannedPath => paths::needles(cx),
        Kind::Unpaired => unpaired::needles(cx),
        Kind::Broadcast => broadcast::needles(cx),
        Kind::Competing => competing::needles(cx),
        Kind::ParseError | Kind::UnusedSuppression => return None,
    })
}

/// Runs one rule's matcher over a file's facts.
pub fn run(cx: &Cx<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    match cx.rule.kind {
        Kind::EventPayload => event_payload::check(cx, &mut hits),
        Kind::MissingField => missing_field::check(cx, &mut hits),
        Kind::ManagerAccess => manager_access::check(cx, &mut hits),
        Kind::Singleton => singleton::check(cx, &mut hits),
        Kind::MethodCall => method_call::check(cx, &mut hits),
        Kind::BannedPath => paths::check(cx, &mut hits),
        Kind::Unpaired => unpaired::check(cx, &mut hits),
        Kind::Broadcast => broadcast::check(cx, &mut hits),
        Kind::Competing => competing::check(cx, &mut hits),
        Kind::ParseError | Kind::UnusedSuppression => {}
    }
    hits
}

/// Fills `{name}` placeholders.
pub fn render(template: &str, args: &[(&'static str, String)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in args {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_rule_parses_and_is_named_for_its_file() {
        for (def, (id, _)) in builtin_defs().iter().zip(BUILTIN) {
            assert_eq!(&def.id, id);
        }
    }
}
