//! Configuration: `--config FILE`, else `agent-events.toml`, else
//! `[workspace.metadata.agent-events]` in `Cargo.toml`, else `[tool.agent-events]` in
//! `pyproject.toml` — the first found wins; another one present is a warning. Unknown keys and
//! wrong types are errors naming the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::frontend::Lang;
use crate::rules::{builtin_defs, check_list, ActiveRule, Level, RuleDef, SharedLists};

/// A configuration that could not be read or is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration in {}: {}", path.display(), message.trim_end())]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, naming the key.
    pub message: String,
}

/// The configuration as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConfig {
    /// Globs (relative to the project root) of the files to lint; all when absent.
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs of files and folders never linted.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Module paths of canonical code (`my_app::events`, `app.events.adapter`), besides the
    /// runtime's own crates.
    #[serde(default)]
    pub canonical_paths: Vec<String>,
    /// Python: call patterns of the project's canonical adapter (`self._adapter.emit_*`).
    #[serde(default)]
    pub canonical_calls: Vec<String>,
    /// Application event types and their required fields.
    #[serde(default)]
    pub custom_events: BTreeMap<String, CustomEventConfig>,
    /// Further rule files (paths relative to the configuration file).
    #[serde(default)]
    pub extra_rules: Vec<String>,
    /// Shared name lists (`<list>` replaces, `extend-<list>` adds), read by every rule that
    /// names them.
    #[serde(default)]
    pub lists: toml::Table,
    /// Per-rule settings: `level` and the rule's name lists (`<list>` replaces, `extend-<list>`
    /// adds), also for one language only (`[rules.<id>.<language>]`, e.g. `python`).
    #[serde(default)]
    pub rules: BTreeMap<String, toml::Table>,
    /// Rule levels for some paths.
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// The project's own events: kinds, emitters and pairs.
    #[serde(default)]
    pub vocabulary: crate::rules::vocab::RawVocabulary,
}

/// A custom event type.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomEventConfig {
    /// Its required own fields.
    #[serde(default)]
    pub required: Vec<String>,
}

/// Rule levels for the files matching some globs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Globs relative to the project root.
    pub paths: Vec<String>,
    /// Rule id → level.
    pub rules: BTreeMap<String, Level>,
}

#[derive(Deserialize)]
struct CargoManifest {
    workspace: Option<CargoWorkspace>,
}

#[derive(Deserialize)]
struct CargoWorkspace {
    metadata: Option<CargoMetadata>,
}

#[derive(Deserialize)]
struct CargoMetadata {
    #[serde(rename = "agent-events")]
    agent_events: Option<RawConfig>,
}

#[derive(Deserialize)]
struct PyProject {
    tool: Option<PyTool>,
}

#[derive(Deserialize)]
struct PyTool {
    #[serde(rename = "agent-events")]
    agent_events: Option<RawConfig>,
}

/// The configuration in force for a run.
#[derive(Debug)]
pub struct Config {
    /// Warnings about the configuration (e.g. a second configuration that is ignored).
    pub warnings: Vec<String>,
    /// Every rule with its configured lists, before any language's differences.
    pub rules: Vec<ActiveRule>,
    /// The same rules as they apply to each language's files (by [`Lang::index`]).
    by_lang: Vec<Vec<ActiveRule>>,
    /// The shared name lists, as configured.
    pub shared: SharedLists,
    /// Python: call patterns of the project's canonical adapter.
    pub canonical_calls: Vec<String>,
    /// The languages linted (`--lang`); all when empty.
    pub langs: Vec<Lang>,
    /// Rule id → configured default level.
    pub levels: BTreeMap<String, Level>,
    include: Option<GlobSet>,
    exclude: GlobSet,
    overrides: Vec<(GlobSet, BTreeMap<String, Level>)>,
    /// Canonical module paths, split into segments.
    pub canonical_paths: Vec<Vec<String>>,
    /// Custom event types and their required fields.
    pub custom_events: Vec<(String, Vec<String>)>,
    /// The declared vocabulary.
    pub vocabulary: crate::rules::vocab::Vocabulary,
    disabled: std::collections::BTreeSet<String>,
}

/// Crates whose code is canonical whatever the configuration says.
pub const CANONICAL_CRATES: [&str; 3] = ["agent_events", "agent_events_schema", "agent_events_macros"];

fn globset(path: &Path, key: &str, globs: &[String]) -> Result<GlobSet, ConfigError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let pattern = glob.trim_end_matches('/');
        for p in [pattern.to_owned(), format!("{pattern}/**")] {
            let g = Glob::new(&p).map_err(|e| ConfigError {
                path: path.to_owned(),
                message: format!("`{key}`: `{glob}` is not a valid glob: {e}"),
            })?;
            builder.add(g);
        }
    }
    builder.build().map_err(|e| ConfigError { path: path.to_owned(), message: format!("`{key}`: {e}") })
}

impl Config {
    /// The configuration for a project root: `explicit` if given, else the first found.
    pub fn load(root: &Path, explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        let (raw, source) = match explicit {
            Some(path) => {
                let text = read(path)?;
                let raw = if path.file_name().is_some_and(|n| n == "Cargo.toml") {
                    cargo_config(path, &text)?.unwrap_or_default()
                } else if path.file_name().is_some_and(|n| n == "pyproject.toml") {
                    pyproject_config(path, &text)?.unwrap_or_default()
                } else {
                    parse_toml::<RawConfig>(path, &text)?
                };
                (raw, Some(path.to_owned()))
            }
            None => {
                let mut found: Vec<(RawConfig, PathBuf)> = Vec::new();
                let own = root.join("agent-events.toml");
                if own.is_file() {
                    found.push((parse_toml(&own, &read(&own)?)?, own));
                }
                let cargo = root.join("Cargo.toml");
                if cargo.is_file() {
                    if let Some(raw) = cargo_config(&cargo, &read(&cargo)?)? {
                        found.push((raw, cargo));
                    }
                }
                let py = root.join("pyproject.toml");
                if py.is_file() {
                    if let Some(raw) = pyproject_config(&py, &read(&py)?)? {
                        found.push((raw, py));
                    }
                }
                let mut found = found.into_iter();
                match found.next() {
                    Some((raw, path)) => {
                        for (_, other) in found {
                            warnings.push(format!(
                                "configuration in {} is ignored: {} comes first",
                                other.display(),
                                path.display()
                            ));
                        }
                        (raw, Some(path))
                    }
                    None => (RawConfig::default(), None),
                }
            }
        };
        let path = source.unwrap_or_else(|| root.join("agent-events.toml"));
        Config::from_raw(raw, &path, warnings)
    }

    /// The configuration built from its written form; `path` names it in errors.
    pub fn from_raw(raw: RawConfig, path: &Path, warnings: Vec<String>) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError { path: path.to_owned(), message };
        let mut shared = SharedLists::builtin();
        for (key, value) in &raw.lists {
            let at = format!("lists.{key}");
            let (list, extend) = split_extend(key);
            let Some(slot) = shared.lists.get_mut(list) else {
                return Err(err(format!(
                    "`{at}`: there is no shared list `{list}` (the shared lists: {})",
                    shared.names()
                )));
            };
            let values = strings(&at, value).map_err(err)?;
            if extend {
                slot.names.extend(values);
            } else {
                slot.names = values;
            }
        }
        let mut defs = builtin_defs();
        for extra in &raw.extra_rules {
            let file = path.parent().unwrap_or(Path::new(".")).join(extra);
            let text = read(&file)?;
            let def = RuleDef::parse(&text, &shared)
                .map_err(|e| ConfigError { path: file.clone(), message: e.to_string() })?;
            if defs.iter().any(|d| d.id == def.id) {
                return Err(err(format!("`extra-rules`: rule `{}` in {extra} is already defined", def.id)));
            }
            defs.push(def);
        }
        let mut rules: Vec<ActiveRule> = defs.into_iter().map(|d| ActiveRule::new(d, &shared)).collect();
        let mut levels: BTreeMap<String, Level> =
            rules.iter().map(|r| (r.def.id.clone(), r.def.level)).collect();
        let mut by_lang: Vec<Vec<ActiveRule>> =
            Lang::ALL.iter().map(|l| rules.iter().map(|r| r.for_lang(*l)).collect()).collect();
        for (id, table) in &raw.rules {
            let Some(index) = rules.iter().position(|r| &r.def.id == id) else {
                let known = rules.iter().map(|r| r.def.id.as_str());
                return Err(err(format!("`rules.{id}`: {}", crate::rules::unknown_rule(id, known))));
            };
            for (key, value) in table {
                let at = format!("rules.{id}.{key}");
                if key == "level" {
                    let level = value
                        .as_str()
                        .ok_or_else(|| format!("must be a string, found {}", value.type_str()))
                        .and_then(str::parse::<Level>)
                        .map_err(|e| err(format!("`{at}`: {e}")))?;
                    levels.insert(id.clone(), level);
                    continue;
                }
                if key == "rewrites" {
                    let defs: Vec<crate::rewrite::RewriteDef> = value
                        .clone()
                        .try_into()
                        .map_err(|e: toml::de::Error| err(format!("`{at}`: {}", e.message())))?;
                    for (i, def) in defs.into_iter().enumerate() {
                        let rewrite = crate::rewrite::Rewrite::new(def)
                            .map_err(|e| err(format!("`{at}[{i}]`: {e}")))?;
                        rules[index].rewrites.push(rewrite.clone());
                        for lang in
                            Lang::ALL.into_iter().filter(|l| l.spec().rewrites && rewrite.applies_to(*l))
                        {
                            by_lang[lang.index()][index].rewrites.push(rewrite.clone());
                        }
                    }
                    continue;
                }
                if let Some(lang) = Lang::from_name(key) {
                    let table = value
                        .as_table()
                        .ok_or_else(|| err(format!("`{at}`: must be a table of name lists")))?;
                    for (key, value) in table {
                        if key == "rewrites" && lang == Lang::Python {
                            let defs: Vec<crate::rewrite::RewriteDef> =
                                value.clone().try_into().map_err(|e: toml::de::Error| {
                                    err(format!("`{at}.rewrites`: {}", e.message()))
                                })?;
                            for (i, def) in defs.into_iter().enumerate() {
                                let rewrite = crate::rewrite::Rewrite::new_python(def)
                                    .map_err(|e| err(format!("`{at}.rewrites[{i}]`: {e}")))?;
                                by_lang[lang.index()][index].rewrites.push(rewrite);
                            }
                            continue;
                        }
                        set_list(&mut by_lang[lang.index()][index], &format!("{at}.{key}"), key, value)
                            .map_err(err)?;
                    }
                    continue;
                }
                set_list(&mut rules[index], &at, key, value).map_err(err)?;
                for lang_rules in &mut by_lang {
                    set_list(&mut lang_rules[index], &at, key, value).map_err(err)?;
                }
            }
        }
        let mut overrides = Vec::new();
        for (i, o) in raw.overrides.iter().enumerate() {
            for id in o.rules.keys() {
                if !levels.contains_key(id) {
                    let known = levels.keys().map(String::as_str);
                    let message = crate::rules::unknown_rule(id, known);
                    return Err(err(format!("`overrides[{i}].rules.{id}`: {message}")));
                }
            }
            overrides.push((globset(path, &format!("overrides[{i}].paths"), &o.paths)?, o.rules.clone()));
        }
        let mut custom_events = Vec::new();
        for (name, event) in raw.custom_events {
            if !agent_events_schema::is_custom_type_name(&name) {
                return Err(err(format!(
                    "`custom-events.{name}`: a custom event type must be lower snake case and not a built-in type"
                )));
            }
            custom_events.push((name, event.required));
        }
        let mut builtin_kinds: Vec<&str> =
            agent_events_schema::EventType::ALL.iter().map(|t| t.as_str()).collect();
        builtin_kinds.extend(custom_events.iter().map(|(n, _)| n.as_str()));
        let vocabulary = crate::rules::vocab::Vocabulary::new(raw.vocabulary, &builtin_kinds).map_err(err)?;
        let mut canonical_paths: Vec<Vec<String>> =
            CANONICAL_CRATES.iter().map(|c| vec![(*c).to_owned()]).collect();
        canonical_paths.extend(raw.canonical_paths.iter().map(|p| {
            let sep = if p.contains("::") { "::" } else { "." };
            p.split(sep).map(str::to_owned).collect()
        }));
        for (i, pattern) in raw.canonical_calls.iter().enumerate() {
            let (receiver, method) = pattern.rsplit_once('.').unwrap_or_default();
            if receiver.is_empty() || method.is_empty() || pattern.contains(char::is_whitespace) {
                return Err(err(format!(
                    "`canonical-calls[{i}]`: `{pattern}` is not a call pattern like `self._adapter.emit_*`"
                )));
            }
        }
        Ok(Config {
            warnings,
            rules,
            by_lang,
            shared,
            canonical_calls: raw.canonical_calls,
            langs: Vec::new(),
            levels,
            include: if raw.include.is_empty() {
                None
            } else {
                Some(globset(path, "include", &raw.include)?)
            },
            exclude: globset(path, "exclude", &raw.exclude)?,
            overrides,
            canonical_paths,
            custom_events,
            vocabulary,
            disabled: Default::default(),
        })
    }

    /// The rules as they apply to files of `lang`.
    pub fn rules_for(&self, lang: Lang) -> &[ActiveRule] {
        &self.by_lang[lang.index()]
    }

    /// Whether files of `lang` are linted.
    pub fn lints(&self, lang: Lang) -> bool {
        self.langs.is_empty() || self.langs.contains(&lang)
    }

    /// Whether a file (path relative to the root, `/`-separated) is linted at all.
    pub fn wants(&self, rel: &str) -> bool {
        !self.exclude.is_match(rel) && self.include.as_ref().is_none_or(|g| g.is_match(rel))
    }

    /// The exclude globs, for skipping whole folders while walking.
    pub fn exclude_set(&self) -> GlobSet {
        self.exclude.clone()
    }

    /// Turns a rule off whatever the configuration says (`--select`, `--ignore`).
    pub fn disable(&mut self, rule: &str) {
        self.disabled.insert(rule.to_owned());
    }

    /// The level of a rule for one file, after per-path overrides (the last match wins).
    pub fn level(&self, rule: &str, rel: &str) -> Level {
        if self.disabled.contains(rule) {
            return Level::Allow;
        }
        let mut level = self.levels.get(rule).copied().unwrap_or(Level::Allow);
        for (globs, rules) in &self.overrides {
            if let Some(l) = rules.get(rule).filter(|_| globs.is_match(rel)) {
                level = *l;
            }
        }
        level
    }

    /// Whether a rule can report anything in this run: not turned off, and not `allow`
    /// everywhere (a per-path override may turn it on).
    pub fn may_report(&self, rule: &str) -> bool {
        !self.disabled.contains(rule)
            && (self.levels.get(rule).is_some_and(|l| *l != Level::Allow)
                || self
                    .overrides
                    .iter()
                    .any(|(_, rules)| rules.get(rule).is_some_and(|l| *l != Level::Allow)))
    }

    /// Whether a module path (`crate_name::a::b`) is canonical.
    pub fn is_canonical_module(&self, module: &[String]) -> bool {
        self.canonical_paths.iter().any(|p| module.len() >= p.len() && module[..p.len()] == p[..])
    }
}

/// `extend-<list>` → (`<list>`, true); `<list>` → (`<list>`, false).
fn split_extend(key: &str) -> (&str, bool) {
    match key.strip_prefix("extend-") {
        Some(list) => (list, true),
        None => (key, false),
    }
}

/// A configuration value that must be a list of strings; the error names the key.
fn strings(at: &str, value: &toml::Value) -> Result<Vec<String>, String> {
    value
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
        .ok_or_else(|| format!("`{at}`: must be a list of strings"))
}

/// Sets one name list of a rule from a configuration key: `<list>` replaces it, `extend-<list>`
/// adds to it. The error names the key.
fn set_list(rule: &mut ActiveRule, at: &str, key: &str, value: &toml::Value) -> Result<(), String> {
    let (list, extend) = split_extend(key);
    let Some(decl) = rule.kind.list(list) else {
        let mut known: Vec<String> = vec!["level".into(), "rewrites".into()];
        known.extend(Lang::ALL.map(|l| l.name().to_owned()));
        for l in rule.kind.lists() {
            known.push(l.name.to_owned());
            known.push(format!("extend-{}", l.name));
        }
        return Err(format!("`{at}`: unknown key (expected one of {})", known.join(", ")));
    };
    let values = strings(at, value)?;
    check_list(decl.shape, at, &values).map_err(|e| e.to_string())?;
    rule.set_list(list, values, extend);
    Ok(())
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError { path: path.to_owned(), message: format!("cannot read the file: {e}") })
}

fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError { path: path.to_owned(), message: e.to_string() })
}

fn cargo_config(path: &Path, text: &str) -> Result<Option<RawConfig>, ConfigError> {
    let manifest: CargoManifest = parse_toml(path, text)?;
    Ok(manifest.workspace.and_then(|w| w.metadata).and_then(|m| m.agent_events))
}

fn pyproject_config(path: &Path, text: &str) -> Result<Option<RawConfig>, ConfigError> {
    let project: PyProject = parse_toml(path, text)?;
    Ok(project.tool.and_then(|t| t.agent_events))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = parse_toml(Path::new("agent-events.toml"), text)?;
        Config::from_raw(raw, Path::new("agent-events.toml"), Vec::new())
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key() {
        let e = config("exclud = []").unwrap_err();
        assert!(e.message.contains("unknown field `exclud`"), "{e}");
        let e = config("exclude = \"x\"").unwrap_err();
        assert!(e.message.contains("exclude"), "{e}");
        let e = config("[rules.user-emitter-call]\nmethod = []").unwrap_err();
        assert!(e.message.starts_with("`rules.user-emitter-call.method`: unknown key"), "{e}");
        let e = config("[rules.user-emitter-call]\nlevel = \"loud\"").unwrap_err();
        assert_eq!(
            e.message,
            "`rules.user-emitter-call.level`: `loud` is not a level (expected `allow`, `warn` or `deny`)"
        );
        let e = config("[rules.no-such-rule]\nlevel = \"deny\"").unwrap_err();
        assert_eq!(e.message, "`rules.no-such-rule`: there is no rule `no-such-rule`");
        let e = config("[rules.user-emitter-call]\nmethods = [1]").unwrap_err();
        assert_eq!(e.message, "`rules.user-emitter-call.methods`: must be a list of strings");
    }

    #[test]
    fn lists_are_replaced_or_extended_and_levels_overridden_per_path() {
        let c = config(
            "[rules.user-emitter-call]\nlevel = \"deny\"\nextend-methods = [\"notify_step\"]\n\
             [[overrides]]\npaths = [\"tests/**\"]\nrules = { user-emitter-call = \"allow\" }\n",
        )
        .unwrap();
        let rule = c.rules.iter().find(|r| r.def.id == "user-emitter-call").unwrap();
        assert!(rule.listed("methods", "notify_step"));
        assert!(rule.listed("methods", "notify_tool_executing"));
        assert_eq!(c.level("user-emitter-call", "src/a.rs"), Level::Deny);
        assert_eq!(c.level("user-emitter-call", "tests/a.rs"), Level::Allow);
    }

    #[test]
    fn a_shared_list_is_configured_once_for_every_rule_that_reads_it() {
        let c = config("[lists]\nextend-send-helpers = [\"push_event\"]\n").unwrap();
        for id in ["direct-event-payload", "unpaired-tool-event"] {
            for lang in Lang::ALL {
                let rule = c.rules_for(lang).iter().find(|r| r.def.id == id).unwrap();
                assert!(rule.listed("send-helpers", "push_event"), "{id} in {lang:?}");
                assert!(rule.listed("send-helpers", "emit_websocket_event"), "{id} in {lang:?}");
            }
        }
        let e = config("[lists]\nsend-helper = []\n").unwrap_err();
        assert!(e.message.starts_with("`lists.send-helper`: there is no shared list `send-helper`"), "{e}");
        let e = config("[rules.deprecated-api]\nreplacements = [\"A to B\"]\n").unwrap_err();
        assert_eq!(
            e.message,
            "`rules.deprecated-api.replacements`: `A to B` is not of the form `Name -> replacement`"
        );
    }

    #[test]
    fn excludes_cover_folders_and_their_files() {
        let c = config("exclude = [\"fixtures\"]").unwrap();
        assert!(!c.wants("fixtures/a/b.rs"));
        assert!(c.exclude_set().is_match("fixtures"));
        assert!(c.wants("src/a.rs"));
    }
}
