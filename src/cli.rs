//! The command line: `check`, `rules`, `explain`, `schema`.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::baseline::Baseline;
use crate::config::Config;
use crate::diagnostic::Severity;
use crate::discover::{discover, find_root, relative, Packages, Target};
use crate::fixer;
use crate::frontend::Lang;
use crate::lint::Linter;
use crate::report::{self, Format};
use crate::rules::Level;

/// Finds and fixes every non-canonical agent-event emission site in a workspace.
#[derive(Parser)]
#[command(name = "cargo-agent-events", bin_name = "cargo agent-events", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lints files and folders (default: the whole project, from its root).
    Check(CheckArgs),
    /// Lists the rules with their levels.
    Rules {
        /// Read the configuration from this file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Prints a rule's documentation, or `vocabulary`: how to declare a project's own events.
    Explain {
        /// The rule id, e.g. `direct-event-payload`, or `vocabulary`.
        rule: String,
    },
    /// Prints the JSON Schema (draft 2020-12) of the wire format.
    Schema,
    /// Applies fixes: safe ones, or unsafe ones too with `--unsafe-fixes`.
    Fix(FixArgs),
    /// A language server (LSP over stdin and stdout) for editors: findings as you type, fixes
    /// and suppressions as code actions, rule docs on hover.
    Server,
    /// Migration progress: canonical emission sites against legacy ones.
    Stats {
        /// Files and folders to count.
        paths: Vec<PathBuf>,
        /// `human`, `markdown` (pull requests, `$GITHUB_STEP_SUMMARY`) or `json`.
        #[arg(long, default_value = "human", value_parser = ["human", "markdown", "json"])]
        format: String,
        /// Read the configuration from this file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Lint only files of these languages (comma-separated: `rust`, `python`).
        #[arg(long, value_delimiter = ',', value_parser = lang_parser)]
        lang: Vec<Lang>,
    },
    /// Writes a baseline of every current finding (`check --baseline` then fails only on new ones).
    Baseline {
        /// Files and folders to lint.
        paths: Vec<PathBuf>,
        /// Where to write it (default: `agent-events-baseline.json` at the project root).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Read the configuration from this file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Lint only files of these languages (comma-separated: `rust`, `python`).
        #[arg(long, value_delimiter = ',', value_parser = lang_parser)]
        lang: Vec<Lang>,
    },
}

#[derive(Args)]
struct FixArgs {
    /// Files and folders to fix.
    paths: Vec<PathBuf>,
    /// Apply unsafe fixes too (rewrites and placeholders a person should look at).
    #[arg(long)]
    unsafe_fixes: bool,
    /// Print a unified diff of the fixes and write nothing.
    #[arg(long)]
    diff: bool,
    /// Run this command (e.g. "cargo check") after writing; restore every file if it fails.
    #[arg(long, value_name = "COMMAND")]
    verify: Option<String>,
    /// Fix only these rules' findings (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    select: Vec<String>,
    /// Do not fix these rules' findings (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Read the configuration from this file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Fix only files of these languages (comma-separated: `rust`, `python`).
    #[arg(long, value_delimiter = ',', value_parser = lang_parser)]
    lang: Vec<Lang>,
}

/// A language on the command line, by its name in the language table.
fn lang_parser(name: &str) -> Result<Lang, String> {
    Lang::from_name(name)
        .ok_or_else(|| format!("there is no language `{name}` (the languages: {})", Lang::names()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
struct CheckArgs {
    /// Files and folders to lint.
    paths: Vec<PathBuf>,
    /// How to print findings.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Run only these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    select: Vec<String>,
    /// Do not run these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Exit 1 on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    /// Exit 0 even when there are errors (2 still means the run itself failed).
    #[arg(long)]
    exit_zero: bool,
    /// Colour in the human format.
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// Lint standard input as if it were this file (for editors).
    #[arg(long)]
    stdin_filename: Option<PathBuf>,
    /// Read the configuration from this file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Parse every file, not only those holding a string some active rule needs.
    #[arg(long)]
    no_prefilter: bool,
    /// Report only findings that are not in this baseline (see `baseline`); any of them, warnings
    /// included, exits 1 (as with `--deny-warnings`).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// With `--baseline`: remove the findings that are gone from it (it never grows).
    #[arg(long, requires = "baseline")]
    update_baseline: bool,
    /// Also write a report in another format to a file: `--report sarif=out.sarif` (repeatable).
    #[arg(long, value_name = "FORMAT=FILE")]
    report: Vec<String>,
    /// Print the prefilter's strings, one per line, and exit.
    #[arg(long)]
    print_prefilter: bool,
    /// Lint only files of these languages (comma-separated: `rust`, `python`).
    #[arg(long, value_delimiter = ',', value_parser = lang_parser)]
    lang: Vec<Lang>,
}

static PROGRAM: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// How the user runs this program: `cargo agent-events`, or `agent-events` from the Python wheel
/// (for the commands that reports suggest).
pub fn program() -> &'static str {
    PROGRAM.get().copied().unwrap_or("cargo agent-events")
}

/// Usage, configuration or internal error: exit 2.
fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Runs the command line; `args` as from `std::env::args_os`.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    // `cargo agent-events …` runs this binary as `cargo-agent-events agent-events …`.
    let args =
        args.into_iter().enumerate().filter(|(i, a)| !(*i == 1 && a == "agent-events")).map(|(_, a)| a);
    let mut args: Vec<std::ffi::OsString> = args.collect();
    // Installed from the Python wheel, the program is `agent-events`.
    let bin_name = match args.first().map(Path::new).and_then(Path::file_stem) {
        Some(stem) if stem == "agent-events" => "agent-events",
        _ => "cargo agent-events",
    };
    if args.is_empty() {
        args.push(bin_name.into());
    }
    let _ = PROGRAM.set(bin_name);
    let name = if bin_name == "agent-events" { "agent-events" } else { "cargo-agent-events" };
    let parsed = Cli::command()
        .name(name)
        .bin_name(bin_name)
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match cli.command {
        Command::Check(args) => check(args, &cwd),
        Command::Rules { config } => rules(&cwd, config.as_deref()),
        Command::Explain { rule } => explain(&rule),
        Command::Fix(args) => fix(args, &cwd),
        Command::Server => crate::server::run_stdio(),
        Command::Stats { paths, format, config, lang } => {
            stats(&paths, &format, config.as_deref(), &lang, &cwd)
        }
        Command::Baseline { paths, output, config, lang } => {
            write_baseline(&paths, output, config.as_deref(), &lang, &cwd)
        }
        Command::Schema => {
            let schema = agent_events_schema::json_schema();
            println!("{}", serde_json::to_string_pretty(&schema).unwrap_or_default());
            ExitCode::SUCCESS
        }
    }
}

/// The root and the configuration, with `--select`/`--ignore` applied.
fn setup(
    first: PathBuf,
    config: Option<&Path>,
    select: &[String],
    ignore: &[String],
    lang: &[Lang],
    cwd: &Path,
) -> Result<(PathBuf, Config), ExitCode> {
    let root = find_root(&first, cwd);
    let mut config = Config::load(&root, config).map_err(fail)?;
    config.langs = lang.to_vec();
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    let known: BTreeSet<String> = config.levels.keys().cloned().collect();
    for (flag, id) in select.iter().map(|id| ("--select", id)).chain(ignore.iter().map(|id| ("--ignore", id)))
    {
        if !known.contains(id) {
            let message = crate::rules::unknown_rule(id, known.iter().map(String::as_str));
            return Err(fail(format!("`{flag}`: {message} (the rules: `{} rules`)", program())));
        }
    }
    for id in &known {
        if (!select.is_empty() && !select.contains(id)) || ignore.contains(id) {
            config.disable(id);
        }
    }
    Ok((root, config))
}

/// The files under `paths`: a path that is not there stops the run (exit 2); a folder or file
/// that cannot be read while walking is skipped with a warning naming it.
fn discovered(root: &Path, paths: &[PathBuf], config: &Config) -> Result<Vec<Target>, ExitCode> {
    let (targets, errors) = discover(root, paths, config);
    for e in &errors {
        if e.fatal {
            return Err(fail(format!("{}: {}", e.path.display(), e.message)));
        }
        eprintln!("warning: skipped: {}", e.message);
    }
    Ok(targets)
}

/// The root, the configuration and the files under `paths` (default: the whole project).
fn project(
    paths: &[PathBuf],
    config: Option<&Path>,
    lang: &[Lang],
    cwd: &Path,
) -> Result<(PathBuf, Config, Vec<Target>), ExitCode> {
    let first = paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let (root, config) = setup(first, config, &[], &[], lang, cwd)?;
    let targets = discovered(&root, &given_or_root(paths, &root), &config)?;
    if targets.is_empty() {
        eprintln!("warning: {}", nothing_to_lint(&config, paths, &root));
    }
    Ok((root, config, targets))
}

/// The paths given on the command line, or else the whole project: its root, wherever in it the
/// linter runs (as cargo does).
fn given_or_root(paths: &[PathBuf], root: &Path) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![root.to_owned()]
    } else {
        paths.to_vec()
    }
}

/// `no Rust or Python files to lint in src/gen`: what a run that found no file says.
fn nothing_to_lint(config: &Config, paths: &[PathBuf], root: &Path) -> String {
    let langs: Vec<&str> =
        Lang::ALL.into_iter().filter(|l| config.lints(*l)).map(|l| l.spec().display).collect();
    let places: Vec<String> = if paths.is_empty() {
        vec![root.display().to_string()]
    } else {
        paths.iter().map(|p| p.display().to_string()).collect()
    };
    format!("no {} files to lint in {}", langs.join(" or "), places.join(", "))
}

fn check(args: CheckArgs, cwd: &Path) -> ExitCode {
    let first = args
        .stdin_filename
        .clone()
        .or_else(|| args.paths.first().cloned())
        .unwrap_or_else(|| PathBuf::from("."));
    let (root, config) =
        match setup(first, args.config.as_deref(), &args.select, &args.ignore, &args.lang, cwd) {
            Ok(found) => found,
            Err(code) => return code,
        };
    let linter =
        if args.no_prefilter { Linter::new(&config).without_prefilter() } else { Linter::new(&config) };
    for warning in &linter.warnings {
        eprintln!("warning: {warning}");
    }
    if args.print_prefilter {
        let mut needles = BTreeSet::new();
        for lang in Lang::ALL.into_iter().filter(|l| config.lints(*l)) {
            needles.extend(linter.prefilter(lang).map_or(&[][..], |p| p.needles()));
        }
        for needle in needles {
            println!("{needle}");
        }
        return ExitCode::SUCCESS;
    }
    let (reports, files) = match &args.stdin_filename {
        Some(name) => {
            let mut bytes = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
                return fail(format!("cannot read standard input: {e}"));
            }
            let path = if name.is_absolute() { name.clone() } else { cwd.join(name) };
            let absolute = path.canonicalize().unwrap_or(path);
            let rel = relative(&root, &absolute);
            let module = Packages::default().module_of(&absolute, &rel);
            (vec![crate::lint::on_worker_stack(|| linter.lint_bytes(&rel, &module, &bytes))], 1)
        }
        None => {
            let paths = given_or_root(&args.paths, &root);
            let targets = match discovered(&root, &paths, &config) {
                Ok(targets) => targets,
                Err(code) => return code,
            };
            if targets.is_empty() {
                eprintln!("warning: {}", nothing_to_lint(&config, &args.paths, &root));
            }
            (linter.run(&targets), targets.len())
        }
    };
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut reports = reports;
    let mut baselined = 0;
    if let Some(file) = &args.baseline {
        let baseline = match Baseline::load(file) {
            Ok(b) => b,
            Err(e) => return fail(e),
        };
        let before: usize = reports.iter().map(|r| r.findings.len()).sum();
        let gone = baseline.filter(&mut reports);
        baselined = before - reports.iter().map(|r| r.findings.len()).sum::<usize>();
        let paid: usize = gone.iter().map(|(_, n)| n).sum();
        if args.update_baseline && paid > 0 {
            if let Err(e) = baseline.shrunk(&gone).save(file) {
                return fail(e);
            }
            eprintln!("{paid} baselined finding(s) are gone: removed from {}", file.display());
        } else if paid > 0 {
            eprintln!(
                "{paid} baselined finding(s) are gone: run with --update-baseline to shrink {}",
                file.display()
            );
        }
    }
    let cx = report::Context { root: &root, rules: &config.rules, program: program() };
    for spec in &args.report {
        let Some((format, file)) = spec.split_once('=') else {
            return fail(format!("`--report {spec}`: expected FORMAT=FILE"));
        };
        let Ok(format) = <Format as ValueEnum>::from_str(format, true) else {
            return fail(format!("`--report {spec}`: `{format}` is not a format"));
        };
        if let Err(e) = std::fs::write(file, report::render(&reports, format, false, &cx)) {
            return fail(format!("cannot write the report {file}: {e}"));
        }
    }
    let mut out = report::render(&reports, args.format, color, &cx);
    if args.format == Format::Human && files > 0 {
        out.push_str(&report::summary(&reports, files, args.baseline.as_ref().map(|_| baselined)));
        out.push('\n');
    } else if args.baseline.is_some() && matches!(args.format, Format::Short | Format::Github | Format::Cargo)
    {
        // Formats whose standard output is findings only say it on standard error.
        eprintln!("{}", report::baselined(baselined));
    }
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        return ExitCode::from(2);
    }
    if let Some(bug) = reports.iter().find(|r| r.internal_error) {
        return fail(format!("linting {} failed on a bug of the linter (see its finding)", bug.rel));
    }
    // With a baseline every finding it does not hold is new, whatever its level: the ratchet
    // fails on it.
    let deny_warnings = args.deny_warnings || args.baseline.is_some();
    let findings = reports.iter().flat_map(|r| &r.findings);
    let failing = findings.into_iter().any(|f| f.severity == Severity::Error || deny_warnings);
    if failing && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn fix(args: FixArgs, cwd: &Path) -> ExitCode {
    let first = args.paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let (root, config) =
        match setup(first, args.config.as_deref(), &args.select, &args.ignore, &args.lang, cwd) {
            Ok(found) => found,
            Err(code) => return code,
        };
    if !args.diff {
        match fixer::recover(&root) {
            Ok(0) => {}
            Ok(n) => eprintln!("restored {n} file(s) left by an interrupted `fix --verify`"),
            Err(e) => return fail(format!("cannot restore the journal of an interrupted fix: {e}")),
        }
    }
    let targets = match discovered(&root, &given_or_root(&args.paths, &root), &config) {
        Ok(targets) => targets,
        Err(code) => return code,
    };
    if targets.is_empty() {
        eprintln!("warning: {}", nothing_to_lint(&config, &args.paths, &root));
    }
    let linter = Linter::new(&config);
    let plan = crate::lint::on_worker_stack(|| fixer::plan(&linter, &targets, args.unsafe_fixes));
    for (rel, why) in &plan.refused {
        eprintln!("warning: {rel}: not fixed: {why}");
    }
    if !plan.converged {
        return fail(format!(
            "the fixes did not reach a fixed point after {} passes (still changing: {}); a rewrite probably re-creates what it fixes; nothing was written",
            fixer::MAX_PASSES,
            plan.unsettled.join(", ")
        ));
    }
    if plan.unsafe_left > 0 {
        // Not applied, and not shown: say so, and how to have them.
        let how = if args.diff { "fix --diff --unsafe-fixes" } else { "fix --unsafe-fixes" };
        eprintln!(
            "{} unsafe fix(es) not {}: run `{} {how}` to include them (review the result)",
            plan.unsafe_left,
            if args.diff { "shown" } else { "applied" },
            program()
        );
    }
    if args.diff {
        print!("{}", fixer::diff(&plan));
        return ExitCode::SUCCESS;
    }
    match fixer::write(&root, &plan, args.verify.as_deref()) {
        Ok(fixer::Written::Done) => {
            eprintln!("applied {} fix(es) to {} file(s)", plan.applied, plan.changes.len());
        }
        Ok(fixer::Written::RolledBack(output)) => {
            eprint!("{output}");
            eprintln!(
                "error: `{}` failed after fixing; restored all {} changed file(s)",
                args.verify.unwrap_or_default(),
                plan.changes.len()
            );
            return ExitCode::from(1);
        }
        Err(e) => return fail(format!("writing the fixes failed: {e}")),
    }
    let remaining: usize = linter.run(&targets).iter().map(|r| r.findings.len()).sum();
    eprintln!("{remaining} finding(s) remain");
    ExitCode::SUCCESS
}

fn stats(paths: &[PathBuf], format: &str, config: Option<&Path>, lang: &[Lang], cwd: &Path) -> ExitCode {
    let (_, config, targets) = match project(paths, config, lang, cwd) {
        Ok(found) => found,
        Err(code) => return code,
    };
    // Canonical calls hold none of the legacy rules' strings: every file is parsed.
    let reports =
        Linter::new(&config).without_prefilter().run_observing(&targets, &crate::stats::canonical_sites);
    let stats = crate::stats::collect(&targets, &reports);
    match format {
        "markdown" => print!("{}", stats.markdown()),
        "json" => println!("{}", serde_json::to_string_pretty(&stats.json()).unwrap_or_default()),
        _ => print!("{}", stats.human()),
    }
    ExitCode::SUCCESS
}

fn write_baseline(
    paths: &[PathBuf],
    output: Option<PathBuf>,
    config: Option<&Path>,
    lang: &[Lang],
    cwd: &Path,
) -> ExitCode {
    let (root, config, targets) = match project(paths, config, lang, cwd) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let reports = Linter::new(&config).run(&targets);
    let baseline = Baseline::of(&reports);
    let file = output.unwrap_or_else(|| root.join(crate::baseline::DEFAULT_FILE));
    if let Err(e) = baseline.save(&file) {
        return fail(e);
    }
    let total: usize = baseline.entries.iter().map(|e| e.count).sum();
    eprintln!("wrote {} with {total} finding(s)", file.display());
    ExitCode::SUCCESS
}

fn rules(cwd: &Path, config: Option<&Path>) -> ExitCode {
    let root = find_root(cwd, cwd);
    let config = match Config::load(&root, config) {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    for rule in &config.rules {
        let level = config.levels.get(&rule.def.id).copied().unwrap_or(Level::Allow);
        println!("{:<22} {:<5} {}", rule.def.id, level, rule.def.summary);
    }
    ExitCode::SUCCESS
}

/// `explain vocabulary`: the configuration of a project's own events.
pub const VOCABULARY_DOCS: &str = include_str!("../docs/vocabulary.md");

fn explain(id: &str) -> ExitCode {
    if id == "vocabulary" {
        print!("{VOCABULARY_DOCS}");
        return ExitCode::SUCCESS;
    }
    let defs = crate::rules::builtin_defs();
    match defs.iter().find(|d| d.id == id) {
        Some(def) => {
            print!("{}", crate::rules::explain::explain(def));
            ExitCode::SUCCESS
        }
        None => {
            let ids: Vec<&str> = defs.iter().map(|d| d.id.as_str()).collect();
            match crate::rules::closest(id, ids.iter().copied()) {
                Some(_) => fail(crate::rules::unknown_rule(id, ids.iter().copied())),
                None => fail(format!("there is no rule `{id}`; the rules are: {}", ids.join(", "))),
            }
        }
    }
}
