//! The engine: one file in, its findings out — parse, facts, rules, suppressions.

use std::sync::Arc;

use rayon::prelude::*;

use crate::config::{Config, CANONICAL_CRATES};
use crate::diagnostic::{Finding, FindingFix, Label, PlacedEdit, Severity};
use crate::discover::Target;
use crate::facts::Facts;
use crate::frontend::{self, Lang};
use crate::prefilter::Prefilter;
use crate::rules::{self, ActiveRule, Cx, Events, Hit, Kind, Level};
use crate::source::{LineIndex, Span};
use crate::suppress::{self, Scope};

/// Files larger than this are reported, not parsed: a syntax tree takes many times the text.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Stack size of the worker threads.
pub const WORKER_STACK: usize = 64 * 1024 * 1024;

/// Runs `f` on a thread with a worker's stack (parsing, walking and dropping deep code recurse),
/// or here when no thread can be started.
pub fn on_worker_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let f = std::sync::Mutex::new(Some(f));
    let take = || f.lock().ok().and_then(|mut f| f.take());
    let on_thread = std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, || take().map(|f| f()))
            .ok()?;
        match handle.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    match on_thread {
        Some(result) => result,
        // No thread could be started: run here.
        None => take().map(|f| f()).expect("the closure runs once"),
    }
}

/// A long-lived thread with a worker's stack that runs jobs one after another: for callers that
/// lint many inputs one by one (the language server, the fuzz targets), which would otherwise pay
/// for a new 64 MiB-stack thread per input.
pub struct StackWorker {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl StackWorker {
    /// Starts the thread (`None` if no thread can be started).
    pub fn start(name: &str) -> Option<StackWorker> {
        let (jobs, queue) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .stack_size(WORKER_STACK)
            .spawn(move || {
                for job in queue {
                    job();
                }
            })
            .ok()?;
        Some(StackWorker { jobs })
    }

    /// Runs `f` on the worker and waits for its result; a panic in `f` is resumed here. Runs `f`
    /// here if the worker is gone.
    pub fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        let (done, result) = std::sync::mpsc::sync_channel(1);
        let f = Arc::new(std::sync::Mutex::new(Some(f)));
        let job = {
            let f = Arc::clone(&f);
            move || {
                let taken = f.lock().ok().and_then(|mut f| f.take());
                if let Some(f) = taken {
                    let _ = done.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
                }
            }
        };
        if self.jobs.send(Box::new(job)).is_ok() {
            if let Ok(outcome) = result.recv() {
                return outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            }
        }
        let taken = f.lock().ok().and_then(|mut f| f.take());
        taken.map(|f| f()).expect("the job runs once")
    }
}

/// The findings of one file, with its text when there are any (for rendering).
#[derive(Debug)]
pub struct FileReport {
    /// The file, relative to the root.
    pub rel: String,
    /// The file's text, kept only when it has findings.
    pub source: Option<Arc<str>>,
    /// Its findings, sorted.
    pub findings: Vec<Finding>,
    /// Whether linting it failed on a bug of the linter (the run exits with code 2).
    pub internal_error: bool,
}

impl FileReport {
    /// A file with no findings.
    pub fn empty(rel: &str) -> FileReport {
        FileReport { rel: rel.to_owned(), source: None, findings: Vec::new(), internal_error: false }
    }

    /// A file with these findings, on this text (kept for rendering when there are findings).
    pub fn with(rel: &str, text: &str, findings: Vec<Finding>) -> FileReport {
        let source = (!findings.is_empty()).then(|| Arc::from(text));
        FileReport { rel: rel.to_owned(), source, findings, internal_error: false }
    }
}

/// What a caller takes from the facts of each parsed file, besides the findings
/// ([`Linter::run_observing`]).
pub type Observe<'o, T> = &'o (dyn Fn(&Facts, Lang) -> T + Sync);

/// The configuration a linter reads: borrowed for one run, or shared for a long-lived linter
/// (the language server keeps one per project, reused for every document).
enum ConfigRef<'c> {
    Borrowed(&'c Config),
    Shared(Arc<Config>),
}

impl std::ops::Deref for ConfigRef<'_> {
    type Target = Config;

    fn deref(&self) -> &Config {
        match self {
            ConfigRef::Borrowed(config) => config,
            ConfigRef::Shared(config) => config,
        }
    }
}

/// Lints files with one configuration.
pub struct Linter<'c> {
    config: ConfigRef<'c>,
    events: Events,
    options: frontend::Options,
    /// The `{adapter}` of Python help texts.
    adapter: String,
    /// What decides whether a payload is sent.
    send_lists: rules::sends::SendLists,
    /// Per language (by [`Lang::index`]), when on; `None` for a language whose prefilter
    /// could not be built.
    prefilters: Option<Vec<Option<Prefilter>>>,
    /// What the caller should tell the user (a prefilter that could not be built).
    pub warnings: Vec<String>,
}

/// Names, on each finding, the innermost function whose extent holds its span (one sweep,
/// however many functions and findings there are).
fn name_enclosing_items(facts: &Facts, findings: &mut [Finding]) {
    if findings.is_empty() {
        return;
    }
    let extents: Vec<(Span, usize)> =
        facts.fns.iter().enumerate().filter_map(|(i, f)| f.extent.map(|e| (e, i))).collect();
    let spans: Vec<Span> = findings.iter().map(|f| f.span).collect();
    for (finding, f) in findings.iter_mut().zip(crate::source::innermost(extents, &spans)) {
        finding.item = f.map(|f| facts.fns[f].item_path());
    }
}

/// A fix with the positions of its edits.
fn placed(fix: crate::fix::Fix, text: &str, index: &LineIndex) -> FindingFix {
    FindingFix {
        applicability: fix.applicability,
        edits: fix
            .edits
            .into_iter()
            .map(|e| PlacedEdit {
                span: e.span,
                start: index.position(text, e.span.start),
                end: index.position(text, e.span.end),
                content: e.content,
            })
            .collect(),
    }
}

fn severity(level: Level) -> Option<Severity> {
    match level {
        Level::Allow => None,
        Level::Warn => Some(Severity::Warning),
        Level::Deny => Some(Severity::Error),
    }
}

impl<'c> Linter<'c> {
    /// A linter for this configuration, with the prefilter on.
    pub fn new(config: &'c Config) -> Self {
        Linter::with_config(ConfigRef::Borrowed(config))
    }

    /// A linter that keeps its configuration (no borrow): built once, reused for every file.
    pub fn shared(config: Arc<Config>) -> Linter<'static> {
        Linter::with_config(ConfigRef::Shared(config))
    }

    /// The configuration it lints with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn with_config(config: ConfigRef<'c>) -> Self {
        let events =
            Events::new(config.custom_events.iter().cloned()).with_vocabulary(config.vocabulary.clone());
        let mut canonical_crates: Vec<String> = CANONICAL_CRATES.iter().map(|c| (*c).to_owned()).collect();
        canonical_crates.extend(config.canonical_paths.iter().filter(|p| p.len() == 1).map(|p| p[0].clone()));
        let options = frontend::Options {
            canonical_crates,
            python: frontend::python::Options { canonical_calls: config.canonical_calls.clone() },
        };
        let mut warnings = Vec::new();
        let prefilters = Lang::ALL
            .iter()
            .map(|l| Prefilter::new(&config, &events, *l).map_err(|e| warnings.push(e.to_string())).ok())
            .collect();
        let adapter = match config.canonical_calls.first() {
            Some(pattern) => format!("`{pattern}`"),
            None => "named in `canonical-calls`".to_owned(),
        };
        let send_lists = rules::sends::SendLists::new(&config.shared);
        Linter { config, events, options, adapter, send_lists, prefilters: Some(prefilters), warnings }
    }

    /// Parses every file, even those the prefilter would skip (`--no-prefilter`).
    pub fn without_prefilter(mut self) -> Self {
        self.prefilters = None;
        self
    }

    /// The prefilter in force for files of `lang`, if any.
    pub fn prefilter(&self, lang: Lang) -> Option<&Prefilter> {
        self.prefilters.as_ref().and_then(|p| p[lang.index()].as_ref())
    }

    /// Lints every target in parallel; reports come back in the targets' order. Workers get
    /// large stacks: parsing and walking deeply nested code recurses.
    pub fn run(&self, targets: &[Target]) -> Vec<FileReport> {
        self.run_observing(targets, &|_, _| ()).into_iter().map(|(report, ())| report).collect()
    }

    /// [`Linter::run`], also taking `observe` of the facts of every file parsed (`T::default()`
    /// for a file that is not).
    pub fn run_observing<T: Send + Default>(
        &self,
        targets: &[Target],
        observe: Observe<'_, T>,
    ) -> Vec<(FileReport, T)> {
        let lint_all = || targets.par_iter().map(|t| self.lint_file_or_report_bug(t, observe)).collect();
        match rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK).build() {
            Ok(pool) => pool.install(lint_all),
            Err(_) => lint_all(),
        }
    }

    /// Lints a file; a panic (a bug) becomes a finding on the file, and the other files go on.
    fn lint_file_or_report_bug<T: Default>(
        &self,
        target: &Target,
        observe: Observe<'_, T>,
    ) -> (FileReport, T) {
        let linted =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.lint_file(target, observe)));
        linted.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let message = format!(
                "internal error while linting this file (a bug in the linter; please report it): {what}"
            );
            let findings: Vec<Finding> =
                self.parse_error(&target.rel, "", Span::default(), message).into_iter().collect();
            let source = Some(Arc::from(""));
            (FileReport { rel: target.rel.clone(), source, findings, internal_error: true }, T::default())
        })
    }

    fn lint_file<T: Default>(&self, target: &Target, observe: Observe<'_, T>) -> (FileReport, T) {
        let size = std::fs::metadata(&target.path).map(|m| m.len()).unwrap_or(0);
        if size > MAX_FILE_BYTES {
            return (self.too_large(&target.rel, size), T::default());
        }
        match std::fs::read(&target.path) {
            Ok(bytes) => self.lint_bytes_observing(&target.rel, &target.module, &bytes, observe),
            Err(e) => {
                let message = format!("cannot read this file: {e}");
                let findings =
                    self.parse_error(&target.rel, "", Span::default(), message).into_iter().collect();
                let report =
                    FileReport { source: Some(Arc::from("")), ..FileReport::with(&target.rel, "", findings) };
                (report, T::default())
            }
        }
    }

    fn too_large(&self, rel: &str, size: u64) -> FileReport {
        let mib = |n: u64| n as f64 / (1024.0 * 1024.0);
        let message = format!(
            "this file is {:.1} MiB, more than the {:.0} MiB the linter parses; exclude it (generated code?) or split it",
            mib(size),
            mib(MAX_FILE_BYTES)
        );
        let findings: Vec<Finding> =
            self.parse_error(rel, "", Span::default(), message).into_iter().collect();
        FileReport::with(rel, "", findings)
    }

    /// Lints a file's bytes; text that is not UTF-8 is a `parse-error`. A file the prefilter
    /// skips is not parsed and has no findings.
    pub fn lint_bytes(&self, rel: &str, module: &[String], bytes: &[u8]) -> FileReport {
        self.lint_bytes_observing(rel, module, bytes, &|_, _| ()).0
    }

    fn lint_bytes_observing<T: Default>(
        &self,
        rel: &str,
        module: &[String],
        bytes: &[u8],
        observe: Observe<'_, T>,
    ) -> (FileReport, T) {
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return (self.too_large(rel, bytes.len() as u64), T::default());
        }
        if self.prefilter(Lang::of_name(rel)).is_some_and(|p| !p.wants(bytes)) {
            return (FileReport::empty(rel), T::default());
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.lint_text_observing(rel, module, text, observe),
            Err(e) => {
                let lossy = String::from_utf8_lossy(bytes);
                // The valid prefix is the same in the lossy text, so the offset is a char boundary.
                let span = Span::new(e.valid_up_to(), e.valid_up_to());
                let message =
                    format!("this file is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to());
                let findings: Vec<Finding> =
                    self.parse_error(rel, &lossy, span, message).into_iter().collect();
                (FileReport::with(rel, &lossy, findings), T::default())
            }
        }
    }

    fn rule(&self, kind: Kind) -> Option<&ActiveRule> {
        self.config.rules.iter().find(|r| r.kind == kind)
    }

    fn parse_error(&self, rel: &str, text: &str, span: Span, message: String) -> Option<Finding> {
        let rule = self.rule(Kind::ParseError)?;
        let hit = Hit::at(span).arg("error", message);
        self.finding(rule, rel, text, &LineIndex::new(text), hit)
    }

    fn finding(
        &self,
        rule: &ActiveRule,
        rel: &str,
        text: &str,
        index: &LineIndex,
        hit: Hit,
    ) -> Option<Finding> {
        let severity = severity(self.config.level(&rule.def.id, rel))?;
        let mut args = hit.args;
        args.push(("adapter", self.adapter.clone()));
        let label = |span: Span, message: String| Label {
            span,
            start: index.position(text, span.start),
            end: index.position(text, span.end),
            message,
        };
        Some(Finding {
            rule: rule.def.id.clone(),
            severity,
            path: rel.to_owned(),
            span: hit.span,
            start: index.position(text, hit.span.start),
            end: index.position(text, hit.span.end),
            message: rules::render(&rule.def.message, &args),
            help: rules::render(hit.help.as_deref().unwrap_or(&rule.help), &args),
            labels: hit.labels.into_iter().map(|(span, note)| label(span, note)).collect(),
            note: hit.note,
            fix: hit.fix.map(|fix| placed(fix, text, index)),
            item: None,
            snippet: text
                .get(hit.span.start..hit.span.end)
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_whitespace())
                .take(512)
                .collect(),
        })
    }

    /// Lints one file's text.
    pub fn lint_text(&self, rel: &str, module: &[String], text: &str) -> FileReport {
        self.lint_text_observing(rel, module, text, &|_, _| ()).0
    }

    fn lint_text_observing<T: Default>(
        &self,
        rel: &str,
        module: &[String],
        text: &str,
        observe: Observe<'_, T>,
    ) -> (FileReport, T) {
        let lang = Lang::of_name(rel);
        let index = LineIndex::new(text);
        let mut findings = Vec::new();
        let mut observed = T::default();
        let parsed = frontend::parse(lang, text, &self.options, text.contains(suppress::MARKER));
        let ok = match &parsed.facts {
            Ok(facts) => {
                observed = observe(facts, lang);
                if !self.config.is_canonical_module(module) {
                    let adapter = self.config.canonical_calls.first().map(String::as_str);
                    let sends = std::cell::OnceCell::new();
                    for rule in self.config.rules_for(lang) {
                        if matches!(rule.kind, Kind::ParseError | Kind::UnusedSuppression)
                            || self.config.level(&rule.def.id, rel) == Level::Allow
                        {
                            continue;
                        }
                        let cx = Cx {
                            rel,
                            text,
                            facts,
                            events: &self.events,
                            rule,
                            lang,
                            adapter,
                            send_lists: &self.send_lists,
                            sends: &sends,
                        };
                        for hit in rules::run(&cx) {
                            findings.extend(self.finding(rule, rel, text, &index, hit));
                        }
                    }
                }
                name_enclosing_items(facts, &mut findings);
                true
            }
            Err(e) => {
                let message = format!("this file does not parse as {}: {}", lang.spec().display, e.message);
                findings.extend(self.parse_error(rel, text, e.span, message));
                false
            }
        };
        self.apply_suppressions(rel, text, &index, ok, &parsed.comments, &mut findings);
        drop(parsed);
        if ok && lang.spec().rewrites {
            self.attach_rewrites(lang, text, &index, &mut findings);
        }
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        findings.dedup_by(|a, b| a.rule == b.rule && a.span == b.span);
        (FileReport::with(rel, text, findings), observed)
    }

    /// Gives findings that have no fix yet the fix of the first of their rule's rewrites whose
    /// pattern matches code around them.
    fn attach_rewrites(&self, lang: Lang, text: &str, index: &LineIndex, findings: &mut [Finding]) {
        let rules = self.config.rules_for(lang);
        let wanted = |f: &Finding| {
            f.fix.is_none()
                && rules.iter().any(|r| r.def.id == f.rule && r.rewrites.iter().any(|rw| rw.applies_to(lang)))
        };
        if !findings.iter().any(wanted) {
            return;
        }
        let base = text.len() - text.strip_prefix('\u{feff}').unwrap_or(text).len();
        let body = &text[base..];
        let mut attach = |fix_for: &dyn Fn(&crate::rewrite::Rewrite, Span) -> Option<crate::fix::Fix>| {
            for finding in findings.iter_mut().filter(|f| wanted(f)) {
                let Some(rule) = rules.iter().find(|r| r.def.id == finding.rule) else { continue };
                let within =
                    Span::new(finding.span.start.saturating_sub(base), finding.span.end.saturating_sub(base));
                let fix = rule.rewrites.iter().find_map(|rw| fix_for(rw, within));
                if let Some(mut fix) = fix {
                    for edit in &mut fix.edits {
                        edit.span = Span::new(edit.span.start + base, edit.span.end + base);
                    }
                    finding.fix = Some(placed(fix, text, index));
                }
            }
        };
        match lang {
            Lang::Rust => {
                let Ok(file) = syn::parse_file(body) else { return };
                attach(&|rw, within| crate::rewrite::fix_for(rw, body, &file, within));
                drop(file);
                proc_macro2::extra::invalidate_current_thread_spans();
            }
            Lang::Python => {
                let Ok(parsed) = ruff_python_parser::parse_module(body) else { return };
                attach(&|rw, within| crate::rewrite::python::fix_for(rw, body, &parsed, within));
            }
        }
    }

    fn apply_suppressions(
        &self,
        rel: &str,
        text: &str,
        index: &LineIndex,
        parsed: bool,
        comments: &[crate::comments::Comment],
        findings: &mut Vec<Finding>,
    ) {
        if !text.contains(suppress::MARKER) {
            return;
        }
        let (suppressions, malformed) = suppress::parse(text, comments, index);
        let mut used = vec![Vec::new(); suppressions.len()];
        // The suppressions that may cover a line: those of the file, and those of that line.
        let mut of_file = Vec::new();
        let mut by_line: std::collections::HashMap<usize, Vec<usize>> = std::collections::HashMap::new();
        for (i, s) in suppressions.iter().enumerate() {
            match s.scope {
                Scope::File => of_file.push(i),
                Scope::Line(line) => by_line.entry(line).or_default().push(i),
            }
        }
        findings.retain(|f| {
            let on_line = by_line.get(&f.start.line).map_or(&[][..], Vec::as_slice);
            // The first suppression, in file order, that names the rule.
            let covering = of_file
                .iter()
                .chain(on_line)
                .filter_map(|&i| Some((i, suppressions[i].rules.iter().position(|(r, _)| *r == f.rule)?)))
                .min_by_key(|(i, _)| *i);
            match covering {
                Some((i, r)) => {
                    if !used[i].contains(&r) {
                        used[i].push(r);
                    }
                    false
                }
                None => true,
            }
        });
        let Some(rule) = self.rule(Kind::UnusedSuppression) else { return };
        if !parsed {
            return;
        }
        let mut unused = Vec::new();
        for (i, s) in suppressions.iter().enumerate() {
            for (r, (id, span)) in s.rules.iter().enumerate() {
                let reason = if !self.config.levels.contains_key(id) {
                    format!("there is no rule `{id}`")
                } else if self.config.level(id, rel) == Level::Allow || used[i].contains(&r) {
                    continue;
                } else {
                    match s.scope {
                        Scope::Line(line) => format!("no `{id}` finding on line {line}"),
                        Scope::File => format!("no `{id}` finding in this file"),
                    }
                };
                let fix = suppress::removal(text, s, r, &used[i]);
                unused.push(Hit::at(*span).arg("reason", reason).label(s.span, "this suppression").fix(fix));
            }
        }
        for m in malformed {
            unused.push(Hit::at(m.span).arg("reason", m.message));
        }
        for hit in unused {
            let covered_by_file = suppressions.iter().any(|s| {
                s.scope == Scope::File
                    && s.rules.iter().any(|(id, _)| id == &rule.def.id)
                    && !s.span.contains(hit.span)
            });
            if !covered_by_file {
                findings.extend(self.finding(rule, rel, text, index, hit));
            }
        }
    }
}
