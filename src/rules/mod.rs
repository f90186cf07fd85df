//! Rules are data plus matchers: `rules/<id>.toml` holds a rule's id, kind, default level,
//! message, help, name lists and docs; each matcher kind is one module here.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::facts::Facts;
use crate::source::Span;

mod broadcast;
pub mod canonical;
mod competing;
mod event_payload;
pub mod events;
pub mod explain;
mod manager_access;
mod method_call;
mod missing_field;
mod paths;
pub mod sends;
mod singleton;
mod sinks;
mod unpaired;
pub mod vocab;

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

/// The matcher a rule uses: `kind = "…"` in a rule file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
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
    /// An open event (`tool_executing`, or a declared pair's) with a path to an exit without
    /// its close.
    Unpaired,
    /// A pair's close compiled out by `#[cfg]` where its open is not.
    CfgClose,
    /// A terminal (`exactly-once`) close sent twice on one path.
    Twice,
    /// A pair opened in a future that `select!` or `abort()` may drop before its close.
    Cancelled,
    /// A declared event kind's variant that serialises under another name than its `wire`.
    WireName,
    /// Agent events sent through all-users methods.
    Broadcast,
    /// Types defining agent-event emission methods.
    Competing,
    /// Files that do not parse (reported by the engine).
    ParseError,
    /// Suppressions that suppressed nothing (reported by the engine).
    UnusedSuppression,
}

/// What the entries of a name list are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Names (`"send_event"`, `"WebSocketManager"`, `"a::b::Name"`).
    Names,
    /// `"Name -> replacement"` entries, parsed into [`Replacement`]s when the rule is loaded.
    Replacements,
}

/// A name list a matcher reads.
#[derive(Clone, Copy, Debug)]
pub struct ListDecl {
    /// Its name in rule files and configuration.
    pub name: &'static str,
    /// What its entries are.
    pub shape: Shape,
}

impl ListDecl {
    /// A list of names.
    pub const fn names(name: &'static str) -> Self {
        ListDecl { name, shape: Shape::Names }
    }

    /// A list of `Name -> replacement` entries.
    pub const fn replacements(name: &'static str) -> Self {
        ListDecl { name, shape: Shape::Replacements }
    }
}

impl Kind {
    /// Its name in rule files.
    pub fn name(self) -> &'static str {
        match self {
            Kind::EventPayload => "event-payload",
            Kind::MissingField => "missing-field",
            Kind::ManagerAccess => "manager-access",
            Kind::Singleton => "singleton",
            Kind::MethodCall => "method-call",
            Kind::BannedPath => "banned-path",
            Kind::Unpaired => "unpaired",
            Kind::CfgClose => "cfg-close",
            Kind::Twice => "twice",
            Kind::Cancelled => "cancelled",
            Kind::WireName => "wire-name",
            Kind::Broadcast => "broadcast",
            Kind::Competing => "competing",
            Kind::ParseError => "parse-error",
            Kind::UnusedSuppression => "unused-suppression",
        }
    }

    /// The name lists its matcher reads: a rule of this kind defines each of them (in `[lists]`,
    /// or by naming a shared list), and no other.
    pub fn lists(self) -> &'static [ListDecl] {
        match self {
            Kind::EventPayload => event_payload::LISTS,
            Kind::MissingField => &[],
            Kind::ManagerAccess => manager_access::LISTS,
            Kind::Singleton => singleton::LISTS,
            Kind::MethodCall => method_call::LISTS,
            Kind::BannedPath => paths::LISTS,
            Kind::Unpaired | Kind::CfgClose | Kind::Twice | Kind::Cancelled => unpaired::LISTS,
            Kind::Broadcast => broadcast::LISTS,
            Kind::Competing => competing::LISTS,
            Kind::ParseError | Kind::UnusedSuppression | Kind::WireName => &[],
        }
    }

    /// Its declaration of the list `name`, if it reads one.
    pub fn list(self, name: &str) -> Option<&'static ListDecl> {
        self.lists().iter().find(|l| l.name == name)
    }
}

/// A `Name -> replacement` entry of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement {
    /// The name replaced.
    pub from: String,
    /// What replaces it.
    pub to: String,
}

impl Replacement {
    /// Parses `"Name -> replacement"`.
    pub fn parse(entry: &str) -> Option<Replacement> {
        let (from, to) = entry.split_once("->")?;
        let (from, to) = (from.trim(), to.trim());
        (!from.is_empty() && !to.is_empty()).then(|| Replacement { from: from.to_owned(), to: to.to_owned() })
    }
}

/// Why a rule file, the shared lists or a configured list is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Not valid TOML, or not of the rule file's form (unknown key, unknown `kind` …).
    #[error("{0}")]
    Toml(String),
    /// A `[lang.<name>]` section for a language the linter does not read.
    #[error("`lang.{0}`: there is no language `{0}` (the languages: {langs})", langs = crate::frontend::Lang::names())]
    UnknownLanguage(String),
    /// A list the rule's matcher does not read.
    #[error("`{at}`: the `{kind}` matcher reads no list `{list}` ({reads})", kind = kind.name(), reads = reads(*kind))]
    UnknownList {
        /// Where the list is defined.
        at: String,
        /// The list.
        list: String,
        /// The rule's kind.
        kind: Kind,
    },
    /// A list the matcher reads that the rule does not define.
    #[error("the `{kind}` matcher reads the list `{list}`: define it under `[lists]` or name a shared list in `shared-lists`", kind = kind.name())]
    MissingList {
        /// The list.
        list: String,
        /// The rule's kind.
        kind: Kind,
    },
    /// A name in `shared-lists` that no shared list has.
    #[error("`shared-lists`: there is no shared list `{0}` (the shared lists: {1})")]
    UnknownShared(String, String),
    /// A list defined both in `[lists]` and in `shared-lists`.
    #[error("`lists.{0}`: the rule also reads the shared list `{0}`; define it once")]
    Twice(String),
    /// An entry of a replacement list that is not `Name -> replacement`.
    #[error("`{at}`: `{entry}` is not of the form `Name -> replacement`")]
    BadReplacement {
        /// Where.
        at: String,
        /// The entry.
        entry: String,
    },
    /// A rewrite that does not compile.
    #[error("`rewrites[{0}]`: {1}")]
    Rewrite(usize, String),
}

fn reads(kind: Kind) -> String {
    match kind.lists() {
        [] => "it reads none".to_owned(),
        lists => format!(
            "it reads {}",
            lists.iter().map(|l| format!("`{}`", l.name)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Checks the entries of a list of the given shape; `at` names it in the error.
pub fn check_list(shape: Shape, at: &str, values: &[String]) -> Result<(), RuleError> {
    if shape == Shape::Replacements {
        if let Some(entry) = values.iter().find(|v| Replacement::parse(v).is_none()) {
            return Err(RuleError::BadReplacement { at: at.to_owned(), entry: entry.clone() });
        }
    }
    Ok(())
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
    /// The configuration (TOML) the examples are linted with, when they need one: a declared
    /// vocabulary.
    #[serde(default)]
    pub config: Option<String>,
}

/// One rule, as written in `rules/<id>.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleDef {
    /// The rule id, e.g. `direct-event-payload`.
    pub id: String,
    /// The matcher kind.
    pub kind: Kind,
    /// The default level.
    pub level: Level,
    /// One line for `cargo agent-events rules`.
    pub summary: String,
    /// The finding's message; `{name}` placeholders are filled by the matcher.
    pub message: String,
    /// What to do instead.
    pub help: String,
    /// The note at a finding's main span in the human report: something the message does not
    /// already say (without it, the span is underlined only).
    #[serde(default)]
    pub label: Option<String>,
    /// Shared lists (`rules/lists.toml`) the rule reads.
    #[serde(default)]
    pub shared_lists: Vec<String>,
    /// The rule's own named lists of names the matcher reads (configurable).
    #[serde(default)]
    pub lists: BTreeMap<String, Vec<String>>,
    /// Rewrites that fix findings of this rule (more can be configured).
    #[serde(default)]
    pub rewrites: Vec<crate::rewrite::RewriteDef>,
    /// Documentation.
    pub docs: Docs,
    /// What differs for files of other languages, by language name (`[lang.python]`).
    #[serde(default)]
    pub lang: BTreeMap<String, LangDef>,
    /// The languages whose code has what the rule looks for (`#[cfg]`, `select!`); all when
    /// empty.
    #[serde(default)]
    pub languages: Vec<String>,
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
    /// Rewrites written in this language, for its files only.
    #[serde(default)]
    pub rewrites: Vec<crate::rewrite::RewriteDef>,
    /// An example that fires.
    pub bad: String,
    /// What to write instead; does not fire.
    pub good: String,
}

impl RuleDef {
    /// Parses a rule definition, checking its kind, its lists against those its matcher reads
    /// and the shared lists, its language sections and its rewrites.
    pub fn parse(text: &str, shared: &SharedLists) -> Result<RuleDef, RuleError> {
        let def: RuleDef = toml::from_str(text).map_err(|e| RuleError::Toml(e.to_string()))?;
        let kind = def.kind;
        let declared = |at: &str, list: &str| {
            kind.list(list).ok_or_else(|| RuleError::UnknownList {
                at: at.to_owned(),
                list: list.to_owned(),
                kind,
            })
        };
        for (list, values) in &def.lists {
            let at = format!("lists.{list}");
            check_list(declared(&at, list)?.shape, &at, values)?;
            if def.shared_lists.contains(list) {
                return Err(RuleError::Twice(list.clone()));
            }
        }
        for list in &def.shared_lists {
            if !shared.lists.contains_key(list) {
                return Err(RuleError::UnknownShared(list.clone(), shared.names()));
            }
            declared("shared-lists", list)?;
        }
        if let Some(missing) = kind
            .lists()
            .iter()
            .find(|l| !def.lists.contains_key(l.name) && !def.shared_lists.iter().any(|s| s == l.name))
        {
            return Err(RuleError::MissingList { list: missing.name.to_owned(), kind });
        }
        if let Some(name) = def.languages.iter().find(|n| crate::frontend::Lang::from_name(n).is_none()) {
            return Err(RuleError::UnknownLanguage(name.clone()));
        }
        for (name, lang) in &def.lang {
            if crate::frontend::Lang::from_name(name).is_none() {
                return Err(RuleError::UnknownLanguage(name.clone()));
            }
            for (list, values) in &lang.lists {
                let at = format!("lang.{name}.lists.{list}");
                check_list(declared(&at, list)?.shape, &at, values)?;
            }
            for (i, r) in lang.rewrites.iter().enumerate() {
                lang_rewrite(name, r.clone()).map_err(|e| RuleError::Rewrite(i, e.to_string()))?;
            }
        }
        for (i, r) in def.rewrites.iter().enumerate() {
            crate::rewrite::Rewrite::new(r.clone()).map_err(|e| RuleError::Rewrite(i, e.to_string()))?;
        }
        Ok(def)
    }

    /// Whether the rule looks at code of `lang` at all.
    pub fn reads(&self, lang: crate::frontend::Lang) -> bool {
        self.languages.is_empty() || self.languages.iter().any(|l| l == lang.name())
    }

    /// What differs for files of `lang`, if anything.
    pub fn for_lang(&self, lang: crate::frontend::Lang) -> Option<&LangDef> {
        self.lang.get(lang.name())
    }

    /// The bad and good examples in `lang`: its `[lang.<name>]` section's, else, for the first
    /// language of the table (Rust), the rule's own.
    pub fn examples(&self, lang: crate::frontend::Lang) -> Option<(&str, &str)> {
        match self.for_lang(lang) {
            Some(def) => Some((&def.bad, &def.good)),
            None => (lang == crate::frontend::Lang::ALL[0]).then_some((&self.docs.bad, &self.docs.good)),
        }
    }
}

/// A list that several rules read (`rules/lists.toml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedList {
    /// What it holds.
    pub doc: String,
    /// Its names.
    pub names: Vec<String>,
}

/// The shared lists, by name.
#[derive(Clone, Debug, Default)]
pub struct SharedLists {
    /// Each list's current names (after configuration).
    pub lists: BTreeMap<String, SharedList>,
}

impl SharedLists {
    /// The shared lists that ship with the linter.
    pub fn builtin() -> SharedLists {
        let lists = toml::from_str(include_str!("../../rules/lists.toml"))
            .unwrap_or_else(|e| panic!("rules/lists.toml is invalid: {e}"));
        SharedLists { lists }
    }

    /// Their names, for messages.
    pub fn names(&self) -> String {
        self.lists.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
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
    "cfg-gated-close",
    "terminal-event-twice",
    "cancelled-pair",
    "event-wire-name",
    "unscoped-broadcast",
    "competing-emitter",
    "parse-error",
    "unused-suppression",
);

/// Every built-in rule definition, in the order of [`BUILTIN`].
pub fn builtin_defs() -> Vec<RuleDef> {
    let shared = SharedLists::builtin();
    BUILTIN
        .iter()
        .map(|(id, text)| {
            RuleDef::parse(text, &shared).unwrap_or_else(|e| panic!("rules/{id}.toml is invalid: {e}"))
        })
        .collect()
}

/// `there is no rule `{id}``, with the closest known id when one is near enough to be a typo:
/// `; did you mean `unpaired-tool-event`?`.
pub fn unknown_rule<'a>(id: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    match closest(id, known) {
        Some(near) => format!("there is no rule `{id}`; did you mean `{near}`?"),
        None => format!("there is no rule `{id}`"),
    }
}

/// The candidate nearest to `word` by edit distance, if within a third of its length (at least
/// 2 edits); ties go to the first candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(word, candidate);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The indefinite article for `word` by its sound: `an agent_completed`, `a tool_completed`,
/// `a user_message`, `an hour`.
pub fn article(word: &str) -> &'static str {
    let w = word.trim_start_matches(|c: char| !c.is_alphanumeric()).to_ascii_lowercase();
    const YOU_OR_W: &[&str] = &["uni", "use", "usu", "uti", "ure", "uri", "eu", "ewe", "one", "once"];
    const SILENT_H: &[&str] = &["hour", "honest", "honor", "honour", "heir"];
    if YOU_OR_W.iter().any(|p| w.starts_with(p)) {
        "a"
    } else if SILENT_H.iter().any(|p| w.starts_with(p)) || w.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// A name list of a rule, as configured for a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum List {
    /// Names.
    Names(Vec<String>),
    /// `Name -> replacement` entries, parsed.
    Replacements(Vec<Replacement>),
}

impl List {
    /// A list of `shape` from its written entries (checked by [`check_list`] first).
    pub fn new(shape: Shape, values: Vec<String>) -> List {
        match shape {
            Shape::Names => List::Names(values),
            Shape::Replacements => {
                List::Replacements(values.iter().filter_map(|v| Replacement::parse(v)).collect())
            }
        }
    }
}

/// A rule as configured for a run: its definition and its name lists after configuration.
#[derive(Clone, Debug)]
pub struct ActiveRule {
    /// The definition.
    pub def: RuleDef,
    /// The matcher.
    pub kind: Kind,
    /// The name lists, with configured replacements and extensions applied.
    pub lists: BTreeMap<String, List>,
    /// The help for findings of this rule.
    pub help: String,
    /// The rewrites that fix its findings: the rule's own, then configured ones.
    pub rewrites: Vec<crate::rewrite::Rewrite>,
}

impl ActiveRule {
    /// A rule with its own lists and the shared lists it reads, as they are in `shared`.
    pub fn new(def: RuleDef, shared: &SharedLists) -> Self {
        let kind = def.kind;
        let mut lists = BTreeMap::new();
        for decl in kind.lists() {
            let values = match def.lists.get(decl.name) {
                Some(values) => values.clone(),
                None => shared.lists.get(decl.name).map(|l| l.names.clone()).unwrap_or_default(),
            };
            lists.insert(decl.name.to_owned(), List::new(decl.shape, values));
        }
        let rewrites =
            def.rewrites.iter().filter_map(|r| crate::rewrite::Rewrite::new(r.clone()).ok()).collect();
        let help = def.help.clone();
        ActiveRule { def, kind, lists, help, rewrites }
    }

    /// The rule as it applies to files of `lang`: its lists and help for that language.
    pub fn for_lang(&self, lang: crate::frontend::Lang) -> ActiveRule {
        let mut rule = self.clone();
        if let Some(def) = self.def.for_lang(lang) {
            for (name, values) in &def.lists {
                if let Some(decl) = self.kind.list(name) {
                    rule.lists.insert(name.clone(), List::new(decl.shape, values.clone()));
                }
            }
            if let Some(help) = &def.help {
                rule.help = help.clone();
            }
            rule.rewrites
                .extend(def.rewrites.iter().filter_map(|r| lang_rewrite(lang.name(), r.clone()).ok()));
        }
        rule.rewrites.retain(|rw| lang.spec().rewrites && rw.applies_to(lang));
        rule
    }

    /// Sets a list from its written entries: replaced, or extended with `extend`. The caller
    /// has checked the entries ([`check_list`]).
    pub fn set_list(&mut self, name: &str, values: Vec<String>, extend: bool) {
        let Some(decl) = self.kind.list(name) else { return };
        let new = List::new(decl.shape, values);
        match (self.lists.get_mut(name), new) {
            (Some(List::Names(old)), List::Names(new)) if extend => old.extend(new),
            (Some(List::Replacements(old)), List::Replacements(new)) if extend => old.extend(new),
            (_, new) => {
                self.lists.insert(name.to_owned(), new);
            }
        }
    }

    /// A list of names (empty when the rule has none by that name).
    pub fn list(&self, name: &str) -> &[String] {
        match self.lists.get(name) {
            Some(List::Names(names)) => names,
            _ => &[],
        }
    }

    /// A list of replacements (empty when the rule has none by that name).
    pub fn replacements(&self, name: &str) -> &[Replacement] {
        match self.lists.get(name) {
            Some(List::Replacements(entries)) => entries,
            _ => &[],
        }
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
    /// The help, when it is not the rule's (a declared pair's own).
    pub help: Option<String>,
    /// The note at the main span, when it is not the rule's `label`.
    pub note: Option<String>,
}

impl Hit {
    /// A hit with no placeholders.
    pub fn at(span: Span) -> Self {
        Hit { span, args: Vec::new(), labels: Vec::new(), fix: None, help: None, note: None }
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
    /// The lists that decide what sends a payload.
    pub send_lists: &'a sends::SendLists,
    /// How the file's literals are sent, worked out once for every rule that asks.
    pub sends: &'a std::cell::OnceCell<sends::Sends>,
}

impl<'a> Cx<'a> {
    /// What canonical code writes instead of sending an event of this type by hand.
    pub fn canonical_call(&self, event: &str) -> String {
        self.api().call(event, self.adapter)
    }

    /// How the file's literals are sent.
    pub fn sends(&self) -> &sends::Sends {
        self.sends.get_or_init(|| sends::Sends::new(self.facts, self.send_lists))
    }

    /// The call that sends literal `i`, if it is sent.
    pub fn sent_by(&self, literal: usize) -> Option<&'a crate::facts::Call> {
        self.sends().of_literal(literal).map(|c| &self.facts.calls[c])
    }

    /// Whether literal `i` leaves its function to be sent: passed to a send, or returned.
    pub fn is_sent(&self, literal: usize) -> bool {
        self.sent_by(literal).is_some() || self.sends().returned(literal)
    }

    /// Whether literal `i` is sent from the server to a user.
    pub fn sent_to_user(&self, literal: usize) -> bool {
        self.sent_by(literal).is_some_and(|c| self.send_lists.to_user(c))
    }

    /// Whether literal `i` is a hand-built event, and which. Its keys besides the type must be
    /// event fields (a test-case descriptor, an LLM API's `tool_use` block, a chat step are not
    /// events), unless it is a known type sent to a user through a known path (a send helper, a
    /// manager, a method naming the user), which is an event however it drifted. `user_message`
    /// is an event only when sent to a user (clients send it); a type the schema does not list
    /// but that starts with `agent_`/`tool_` is one when sent to a user or by a legacy emitter.
    pub fn event_of(&self, literal: usize) -> Option<events::Typed> {
        let lit = &self.facts.literals[literal];
        let typed = self.events.typed(lit)?;
        let fields = self.events.has_event_fields(lit);
        let is_event = match typed.event.as_str() {
            "user_message" => fields && self.sent_to_user(literal),
            _ if typed.known => fields || self.sent_to_user(literal),
            // Sent to a user, or sent by a legacy emitter: a client's request (`agent_request`)
            // goes the other way.
            other => {
                (other.starts_with("agent_") || other.starts_with("tool_"))
                    && fields
                    && (self.sent_to_user(literal)
                        || (self.sent_by(literal).is_some() && self.built_in_emitter(literal)))
            }
        };
        is_event.then_some(typed)
    }

    /// Whether literal `i` is built in a legacy emitter function (`notify_agent_thinking`, a send
    /// helper): built for an emitter, whatever its fields.
    pub fn built_in_emitter(&self, literal: usize) -> bool {
        let body = self.facts.literals[literal].body;
        self.facts
            .bodies
            .get(body)
            .and_then(|b| b.name.as_deref())
            .is_some_and(|name| self.send_lists.is_emitter_fn(name, self.events))
    }

    /// The event a call argument carries: an event type named as a string, a hand-built event
    /// written in it, or a name bound to one earlier in the same body.
    pub fn event_of_arg(&self, call: &crate::facts::Call, arg: &crate::facts::Arg) -> Option<events::Typed> {
        if let Some((event, span)) = self.events.of_str_arg(arg) {
            return Some(events::Typed { event, span, known: true });
        }
        let literal = match (arg.literal, arg.ident.as_deref()) {
            (Some(i), _) => i,
            (None, Some(name)) => self.facts.literals.iter().rposition(|l| {
                l.body == call.body && l.binding.as_deref() == Some(name) && l.span.end <= call.span.start
            })?,
            (None, None) => return None,
        };
        self.event_of(literal)
    }

    /// The canonical API of the file's language.
    pub fn api(&self) -> &'static canonical::Api {
        canonical::Api::of(self.lang)
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
    builtin_needles(cx)
}

/// The strings a file must hold for a rule to fire on a declared vocabulary's sinks, when that
/// is another way than [`needles`]: a form and a sink method (`direct-event-payload`,
/// `unscoped-broadcast`), or a sink method and an event type (`competing-emitter`).
pub fn vocabulary_needles(cx: &Needles<'_>) -> Option<Vec<Vec<String>>> {
    let vocab = &*cx.events.vocab;
    if vocab.emitter_needles().is_empty() {
        return None;
    }
    match cx.rule.kind {
        Kind::EventPayload | Kind::Broadcast => Some(vec![vocab.needles(), vocab.emitter_needles()]),
        Kind::Competing => {
            Some(vec![vocab.emitter_needles(), vocab.event_types().into_iter().map(str::to_owned).collect()])
        }
        _ => None,
    }
}

fn builtin_needles(cx: &Needles<'_>) -> Option<Vec<Vec<String>>> {
    Some(match cx.rule.kind {
        Kind::EventPayload => event_payload::needles(cx),
        Kind::MissingField => missing_field::needles(cx),
        Kind::ManagerAccess => manager_access::needles(cx),
        Kind::Singleton => singleton::needles(cx),
        Kind::MethodCall => method_call::needles(cx),
        Kind::BannedPath => paths::needles(cx),
        Kind::Unpaired | Kind::CfgClose | Kind::Twice | Kind::Cancelled => unpaired::needles(cx),
        Kind::Broadcast => broadcast::needles(cx),
        Kind::Competing => competing::needles(cx),
        Kind::WireName => vocab::wire_needles(&cx.events.vocab),
        Kind::ParseError | Kind::UnusedSuppression => return None,
    })
}

/// Runs one rule's matcher over a file's facts.
pub fn run(cx: &Cx<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    match cx.rule.kind {
        Kind::EventPayload => {
            event_payload::check(cx, &mut hits);
            sinks::check(cx, &mut hits);
        }
        Kind::MissingField => missing_field::check(cx, &mut hits),
        Kind::ManagerAccess => manager_access::check(cx, &mut hits),
        Kind::Singleton => singleton::check(cx, &mut hits),
        Kind::MethodCall => method_call::check(cx, &mut hits),
        Kind::BannedPath => paths::check(cx, &mut hits),
        Kind::Unpaired | Kind::CfgClose | Kind::Twice | Kind::Cancelled => unpaired::check(cx, &mut hits),
        Kind::Broadcast => {
            broadcast::check(cx, &mut hits);
            sinks::check(cx, &mut hits);
        }
        Kind::Competing => {
            competing::check(cx, &mut hits);
            sinks::check(cx, &mut hits);
        }
        Kind::WireName => vocab::check_wire(cx, &mut hits),
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

/// A rewrite of a rule file's `[lang.<name>]` section: written in that language.
fn lang_rewrite(
    lang: &str,
    def: crate::rewrite::RewriteDef,
) -> Result<crate::rewrite::Rewrite, crate::rewrite::RewriteError> {
    match crate::frontend::Lang::from_name(lang) {
        Some(crate::frontend::Lang::Python) => crate::rewrite::Rewrite::new_python(def),
        _ => crate::rewrite::Rewrite::new(def),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_section_s_rewrites_apply_to_that_language_only() {
        let def = parse(
            "kind = \"missing-field\"\n[lang.python]\nbad = \"\"\ngood = \"\"\n[[lang.python.rewrites]]\nmatch = \"a($x)\"\nreplace = \"b($x)\"",
        )
        .unwrap();
        let rule = ActiveRule::new(def, &SharedLists::builtin());
        assert_eq!(rule.for_lang(crate::frontend::Lang::Python).rewrites.len(), 1);
        assert_eq!(rule.for_lang(crate::frontend::Lang::Rust).rewrites.len(), 0);
        let e = parse(
            "kind = \"missing-field\"\n[lang.python]\nbad = \"\"\ngood = \"\"\n[[lang.python.rewrites]]\nmatch = \"a(\"\nreplace = \"b\"",
        )
        .unwrap_err();
        assert!(matches!(e, RuleError::Rewrite(0, _)), "{e}");
    }

    #[test]
    fn every_builtin_rule_parses_and_is_named_for_its_file() {
        for (def, (id, _)) in builtin_defs().iter().zip(BUILTIN) {
            assert_eq!(&def.id, id);
        }
    }

    #[test]
    fn a_misspelt_rule_id_gets_the_nearest_one() {
        let ids = ["unpaired-tool-event", "unscoped-broadcast", "user-emitter-call"];
        assert_eq!(closest("unpaired-tool-evnet", ids), Some("unpaired-tool-event"));
        assert_eq!(closest("unscoped-brodcast", ids), Some("unscoped-broadcast"));
        assert_eq!(closest("no-such-rule", ids), None);
        assert_eq!(
            unknown_rule("user-emiter-call", ids),
            "there is no rule `user-emiter-call`; did you mean `user-emitter-call`?"
        );
        assert_eq!(unknown_rule("zzz", ids), "there is no rule `zzz`");
    }

    #[test]
    fn the_article_follows_the_sound_of_the_next_word() {
        for (word, a) in [
            ("agent_completed", "an"),
            ("agent_started", "an"),
            ("tool_completed", "a"),
            ("user_message", "a"),
            ("error_raised", "an"),
            ("plan_updated", "a"),
            ("hour", "an"),
            ("`item`", "an"),
        ] {
            assert_eq!(article(word), a, "{word}");
        }
    }

    const HEAD: &str = "id = \"x\"\nlevel = \"warn\"\nsummary = \"s\"\nmessage = \"m\"\nhelp = \"h\"\n";
    const DOCS: &str = "[docs]\nwhat = \"w\"\nwhy = \"y\"\nbad = \"b\"\ngood = \"g\"\n";

    fn parse(body: &str) -> Result<RuleDef, RuleError> {
        RuleDef::parse(&format!("{HEAD}{body}\n{DOCS}"), &SharedLists::builtin())
    }

    #[test]
    fn a_misspelt_kind_is_an_error_not_another_kind() {
        let e = parse("kind = \"event-paylod\"").unwrap_err();
        assert!(e.to_string().contains("unknown variant `event-paylod`"), "{e}");
    }

    #[test]
    fn lists_are_checked_against_the_matcher_that_reads_them() {
        let e = parse("kind = \"method-call\"\n[lists]\nmethods = [\"a\"]\nprefixes = []\nmethod = []")
            .unwrap_err();
        assert_eq!(e.to_string(), "`lists.method`: the `method-call` matcher reads no list `method` (it reads `methods`, `prefixes`)");
        let e = parse("kind = \"method-call\"\n[lists]\nmethods = [\"a\"]").unwrap_err();
        assert!(e.to_string().starts_with("the `method-call` matcher reads the list `prefixes`"), "{e}");
        let e = parse("kind = \"broadcast\"\nshared-lists = [\"broadcast-method\"]").unwrap_err();
        assert!(
            e.to_string().starts_with("`shared-lists`: there is no shared list `broadcast-method`"),
            "{e}"
        );
        let e = parse(
            "kind = \"broadcast\"\nshared-lists = [\"broadcast-methods\"]\n[lists]\nbroadcast-methods = []",
        )
        .unwrap_err();
        assert_eq!(e, RuleError::Twice("broadcast-methods".into()));
        let e = parse(
            "kind = \"banned-path\"\n[lists]\npaths = []\nrewrite-paths = []\nreplacements = [\"A => B\"]",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "`lists.replacements`: `A => B` is not of the form `Name -> replacement`");
        let e = parse("kind = \"missing-field\"\n[lang.cobol]\nbad = \"\"\ngood = \"\"").unwrap_err();
        assert_eq!(e, RuleError::UnknownLanguage("cobol".into()));
    }

    #[test]
    fn replacements_are_parsed_once_and_shared_lists_reach_every_reader() {
        let def = parse("kind = \"banned-path\"\n[lists]\npaths = [\"A\"]\nrewrite-paths = []\nreplacements = [\"A -> `b::B`\"]").unwrap();
        let rule = ActiveRule::new(def, &SharedLists::builtin());
        assert_eq!(
            rule.replacements("replacements"),
            [Replacement { from: "A".into(), to: "`b::B`".into() }]
        );
        let mut shared = SharedLists::builtin();
        shared.lists.get_mut("send-helpers").unwrap().names.push("my_send".into());
        let readers: Vec<ActiveRule> = builtin_defs()
            .into_iter()
            .filter(|d| d.shared_lists.iter().any(|l| l == "send-helpers"))
            .map(|d| ActiveRule::new(d, &shared))
            .collect();
        assert!(readers.len() >= 2);
        assert!(readers.iter().all(|r| r.listed("send-helpers", "my_send")));
    }
}
