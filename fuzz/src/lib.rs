//! What the fuzz targets share: the configurations they lint with and the properties they check.
//! Every property failure panics, which libFuzzer reports as a crash with the input saved.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cargo_agent_events::config::{Config, RawConfig};
use cargo_agent_events::discover::Target;
use cargo_agent_events::fix;
use cargo_agent_events::fixer;
use cargo_agent_events::frontend::{self, Lang};
use cargo_agent_events::lint::{self, Linter};

/// The configuration with every kind of fix turned on (also read by `tests/regressions.rs`).
pub const FIXING_CONFIG: &str = include_str!("../fixing-config.toml");

/// The built-in rules with no configuration.
pub fn default_config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::from_raw(RawConfig::default(), Path::new("agent-events.toml"), Vec::new())
            .expect("the default configuration is valid")
    })
}

/// [`FIXING_CONFIG`], loaded.
pub fn fixing_config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let raw: RawConfig = toml::from_str(FIXING_CONFIG).expect("fixing-config.toml is valid TOML");
        Config::from_raw(raw, Path::new("agent-events.toml"), Vec::new())
            .expect("fixing-config.toml is valid")
    })
}

/// The linter of [`default_config`] without the prefilter (so the parser sees every input),
/// built once for every input.
fn unfiltered_linter() -> &'static Linter<'static> {
    static LINTER: OnceLock<Linter<'static>> = OnceLock::new();
    LINTER.get_or_init(|| Linter::new(default_config()).without_prefilter())
}

/// The linter of [`fixing_config`], built once for every input.
fn fixing_linter() -> &'static Linter<'static> {
    static LINTER: OnceLock<Linter<'static>> = OnceLock::new();
    LINTER.get_or_init(|| Linter::new(fixing_config()))
}

/// Runs `f` on one long-lived thread with the linter's worker stack: a new 64 MiB-stack thread
/// per input would cost more than most inputs take to lint.
pub fn on_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    static WORKER: OnceLock<Option<lint::StackWorker>> = OnceLock::new();
    match WORKER.get_or_init(|| lint::StackWorker::start("fuzz-worker")) {
        Some(worker) => worker.run(f),
        None => lint::on_worker_stack(f),
    }
}

/// Lints any bytes as the file `rel`, without the prefilter (so the parser sees every input),
/// and checks the linter survived: no panic caught, and every finding's span inside the file.
pub fn lint_any(rel: &'static str, bytes: &[u8]) {
    let linter = unfiltered_linter();
    let owned = bytes.to_vec();
    let report = on_stack(move || linter.lint_bytes(rel, &[], &owned));
    assert!(!report.internal_error, "the linter panicked on {rel}: {:?}", report.findings);
    for finding in &report.findings {
        let span = finding.span;
        assert!(
            span.start <= span.end && span.end <= bytes.len(),
            "span {span:?} outside a {}-byte file",
            bytes.len()
        );
    }
}

/// Whether `text` parses as `lang`.
pub fn parses(lang: Lang, text: &str) -> bool {
    let text = text.to_owned();
    on_stack(move || frontend::parse(lang, &text, &frontend::Options::default(), false).facts.is_ok())
}

/// The file name a fix input is linted as: the low two bits of its first byte pick the language
/// and whether it is test code.
pub fn fix_input_name(flags: u8) -> (Lang, &'static str) {
    match (flags & 1 == 1, flags & 2 == 2) {
        (false, false) => (Lang::Rust, "src/fuzz.rs"),
        (false, true) => (Lang::Rust, "tests/fuzz.rs"),
        (true, false) => (Lang::Python, "app/fuzz.py"),
        (true, true) => (Lang::Python, "tests/test_fuzz.py"),
    }
}

/// The fix properties, for one input (`flags` byte, then the file's text):
/// 1. the fixes of one pass, applied to a file that parses, leave a file that parses
///    (a fix that breaks code is a bug even though `fix` would refuse to write it);
/// 2. `fix` end to end, on a real file on disk: afterwards the file is byte for byte the
///    original, or a text that parses.
pub fn check_fix(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let (lang, rel) = fix_input_name(flags);
    let linter = fixing_linter();
    let original_parses = parses(lang, text);

    let owned = text.to_owned();
    let report = on_stack(move || linter.lint_text(rel, &[], &owned));
    assert!(!report.internal_error, "the linter panicked");
    let fixes: Vec<fix::Fix> =
        report.findings.iter().filter_map(|f| f.fix.as_ref()).map(|f| f.to_fix()).collect();
    let (fixed, applied, _) = fix::apply(text, &fixes.iter().collect::<Vec<_>>());
    if applied > 0 && original_parses {
        assert!(parses(lang, &fixed), "the fixes break the file:\n--- before\n{text}\n--- after\n{fixed}");
    }

    let root = scratch_root();
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("rel has a folder")).expect("scratch folder");
    std::fs::write(&path, text).expect("scratch file");
    let target = Target { rel: rel.to_owned(), path: path.clone(), module: Vec::new() };
    let plan = on_stack(move || fixer::plan(linter, std::slice::from_ref(&target), true));
    fixer::write(&root, &plan, None).expect("write the fixed file");
    let after = std::fs::read_to_string(&path).expect("read the fixed file back");
    std::fs::remove_file(&path).expect("remove the scratch file");
    assert!(after == text || parses(lang, &after), "fix left a file that does not parse:\n{after}");
}

/// A folder of this process's own for the files `fix` writes.
fn scratch_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("agent-events-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("scratch root");
        root
    })
    .clone()
}

/// A rewrite target's input, `pattern NUL template NUL file`, when it is UTF-8 and has its three
/// parts.
pub fn rewrite_input(data: &[u8]) -> Option<(String, String, String)> {
    let text = std::str::from_utf8(data).ok()?;
    let mut parts = text.splitn(3, '\0');
    Some((parts.next()?.to_owned(), parts.next()?.to_owned(), parts.next()?.to_owned()))
}

/// The ranges a rewrite is applied within: the whole file, and its second half (from a
/// character boundary).
pub fn rewrite_ranges(file: &str) -> [cargo_agent_events::source::Span; 2] {
    use cargo_agent_events::source::Span;
    let middle = (0..=file.len() / 2).rev().find(|&i| file.is_char_boundary(i)).unwrap_or(0);
    [Span { start: 0, end: file.len() }, Span { start: middle, end: file.len() }]
}

/// Every edit of a fix lies inside the file, on character boundaries.
pub fn check_edits(file: &str, fix: &fix::Fix) {
    for edit in &fix.edits {
        let (start, end) = (edit.span.start, edit.span.end);
        assert!(start <= end && end <= file.len(), "edit {start}..{end} outside the file");
        assert!(file.is_char_boundary(start) && file.is_char_boundary(end), "edit inside a character");
    }
}
