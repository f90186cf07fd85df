//! Compares three Rust parsers of Python: which syntax each accepts (one small sample per feature,
//! plus invalid samples that must be rejected), and how fast each parses a large tree of real code.
//!
//!   cargo run --release -- [--rounds N] [--list-failures] [CORPUS]
//!
//! CORPUS defaults to target/py-corpus at the repository's root (see corpus.sh). The output is
//! markdown; progress goes to stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use std::{env, fs};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

#[derive(Clone, Copy)]
enum Which {
    Ruff,
    RustPython,
    TreeSitter,
}

const ALL: [Which; 3] = [Which::Ruff, Which::RustPython, Which::TreeSitter];

impl Which {
    fn label(self) -> &'static str {
        match self {
            Which::Ruff => "ruff_python_parser 0.0.10",
            Which::RustPython => "rustpython-parser 0.4.0",
            Which::TreeSitter => "tree-sitter-python 0.25.0",
        }
    }
}

/// The parsers, with the state that is reused from one file to the next.
struct Parsers {
    tree_sitter: tree_sitter::Parser,
}

impl Parsers {
    fn new() -> Parsers {
        let mut tree_sitter = tree_sitter::Parser::new();
        tree_sitter.set_language(&tree_sitter_python::LANGUAGE.into()).expect("a compatible grammar");
        Parsers { tree_sitter }
    }

    /// Whether `which` parses `source` without a syntax error; the tree is built and dropped.
    fn accepts(&mut self, which: Which, source: &str) -> bool {
        match which {
            Which::Ruff => ruff_python_parser::parse_module(source).is_ok(),
            Which::RustPython => {
                rustpython_parser::parse(source, rustpython_parser::Mode::Module, "<input>").is_ok()
            }
            // tree-sitter always returns a tree; a rejection is an ERROR or MISSING node in it.
            Which::TreeSitter => {
                self.tree_sitter.parse(source, None).is_some_and(|t| !t.root_node().has_error())
            }
        }
    }

    /// The first syntax error `which` reports in `source`, on one line.
    fn first_error(&mut self, which: Which, source: &str) -> Option<String> {
        let message = match which {
            Which::Ruff => ruff_python_parser::parse_module(source).err()?.to_string(),
            Which::RustPython => rustpython_parser::parse(source, rustpython_parser::Mode::Module, "<input>")
                .err()?
                .to_string(),
            Which::TreeSitter => {
                let tree = self.tree_sitter.parse(source, None)?;
                let node = first_error_node(tree.root_node())?;
                let at = node.start_position();
                let what =
                    if node.is_missing() { format!("MISSING {}", node.kind()) } else { "ERROR".into() };
                format!("{what} at {}:{}", at.row + 1, at.column + 1)
            }
        };
        Some(message.lines().next().unwrap_or_default().to_string())
    }
}

fn first_error_node(node: tree_sitter::Node) -> Option<tree_sitter::Node> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    let found = node.children(&mut cursor).filter(|c| c.has_error()).find_map(first_error_node);
    found
}

struct Options {
    rounds: usize,
    list_failures: bool,
    corpus: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut options = Options { rounds: 5, list_failures: false, corpus: None };
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                let n = args.next().ok_or("--rounds needs a number")?;
                options.rounds =
                    n.parse().ok().filter(|n| *n > 0).ok_or(format!("--rounds {n}: not a count"))?;
            }
            "--list-failures" => options.list_failures = true,
            "-h" | "--help" => {
                return Err("usage: python-parsers [--rounds N] [--list-failures] [CORPUS]".into());
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ if options.corpus.is_none() => options.corpus = Some(arg.into()),
            _ => return Err(format!("one corpus only (got {arg} too)")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let mut parsers = Parsers::new();
    if let Err(message) = syntax(&mut parsers) {
        eprintln!("{message}");
        return ExitCode::FAILURE;
    }
    let (corpus, shown) = match &options.corpus {
        Some(dir) => (dir.clone(), dir.display().to_string()),
        None => (Path::new(MANIFEST_DIR).join("../../target/py-corpus"), "target/py-corpus".into()),
    };
    match speed(&mut parsers, &corpus, &shown, &options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// A sample's first line: `# Python 3.N+: …` for valid code, `# Invalid …` for code to reject.
fn needs(source: &str) -> Option<(u32, u32)> {
    let line = source.lines().next()?;
    let version = line.strip_prefix("# Python ")?.split(['+', ':', ' ']).next()?;
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The version of `python3`, if there is one.
fn cpython() -> Option<(u32, u32)> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(*sys.version_info[:2])"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut parts = text.split_whitespace().map(|p| p.parse().ok());
    Some((parts.next()??, parts.next()??))
}

fn cpython_accepts(path: &Path) -> bool {
    Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1], 'rb').read(), sys.argv[1])"])
        .arg(path)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn verdict(accepted: bool, right: bool) -> String {
    format!("{} {}", if accepted { "accept" } else { "reject" }, if right { "✓" } else { "✗" })
}

fn syntax(parsers: &mut Parsers) -> Result<(), String> {
    let dir = Path::new(MANIFEST_DIR).join("samples");
    let samples: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    let mut loaded = Vec::new();
    for path in samples {
        let source = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let needs = needs(&source);
        if needs.is_none() && !name.starts_with("invalid_") {
            return Err(format!("{}: the first line must be `# Python 3.N+: …`", path.display()));
        }
        loaded.push((needs.unwrap_or((99, 0)), name, path, source));
    }
    // Valid samples from the oldest feature to the newest, then the invalid ones.
    loaded.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));

    let python = cpython();
    let python_label = python.map_or("CPython (none found)".into(), |(a, b)| format!("CPython {a}.{b}"));
    println!("## Python syntax: which samples each parser accepts\n");
    println!(
        "One file per feature in `bench/python-parsers/samples/`; `invalid_*` files must be rejected. \
         ✓ = the right answer, ✗ = the wrong one. {python_label} (`python3`, `ast.parse`) is the reference: \
         it must reject what is newer than itself.\n"
    );
    print!("| sample | needs | {python_label} |");
    for which in ALL {
        print!(" {} |", which.label());
    }
    println!("\n|---|---|---|{}", "---|".repeat(ALL.len()));
    let mut right = [0; ALL.len()];
    for (version, name, path, source) in &loaded {
        let valid = !name.starts_with("invalid_");
        let needs = if valid { format!("{}.{}", version.0, version.1) } else { "invalid".into() };
        let reference = match python {
            Some(local) => {
                let accepted = cpython_accepts(path);
                verdict(accepted, accepted == (valid && *version <= local))
            }
            None => "–".into(),
        };
        print!("| `{name}` | {needs} | {reference} |");
        for (i, which) in ALL.into_iter().enumerate() {
            let accepted = parsers.accepts(which, source);
            right[i] += usize::from(accepted == valid);
            print!(" {} |", verdict(accepted, accepted == valid));
        }
        println!();
    }
    print!("| **right answers** | | |");
    for n in right {
        print!(" **{n}/{}** |", loaded.len());
    }
    println!("\n");
    Ok(())
}

struct File {
    path: PathBuf,
    source: String,
}

/// Every `.py` file under `dir`, in a fixed order; symbolic links are not followed.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            collect(&path, files)?;
        } else if kind.is_file() && path.extension().is_some_and(|x| x == "py") {
            files.push(path);
        }
    }
    Ok(())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn speed(parsers: &mut Parsers, corpus: &Path, shown: &str, options: &Options) -> Result<(), String> {
    let mut paths = Vec::new();
    collect(corpus, &mut paths)
        .map_err(|e| format!("{}: {e} (run bench/python-parsers/corpus.sh)", corpus.display()))?;
    let mut files = Vec::new();
    let mut not_utf8 = 0;
    for path in paths {
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        match String::from_utf8(bytes) {
            Ok(source) => files.push(File { path, source }),
            Err(_) => not_utf8 += 1,
        }
    }
    if files.is_empty() {
        return Err(format!("{}: no .py files (run bench/python-parsers/corpus.sh)", corpus.display()));
    }
    let bytes: usize = files.iter().map(|f| f.source.len()).sum();
    let mb = bytes as f64 / 1_048_576.0;

    // Rounds interleave the parsers, so a slow phase of the machine is shared out evenly.
    let mut times = vec![Vec::new(); ALL.len()];
    let mut failed = vec![Vec::new(); ALL.len()];
    for round in 0..options.rounds {
        for (i, which) in ALL.into_iter().enumerate() {
            eprint!("\rround {}/{}: {:<28}", round + 1, options.rounds, which.label());
            let mut failures = Vec::new();
            let start = Instant::now();
            for (n, file) in files.iter().enumerate() {
                if !parsers.accepts(which, &file.source) {
                    failures.push(n);
                }
            }
            times[i].push(start.elapsed());
            failed[i] = failures;
        }
    }
    eprintln!();

    let medians: Vec<f64> = times.iter_mut().map(|t| median(t).as_secs_f64()).collect();
    let fastest = medians.iter().copied().fold(f64::INFINITY, f64::min);
    println!("## Python parsers: speed\n");
    println!(
        "`{shown}`: {} files, {mb:.1} MB of Python{}, read into memory first; one thread; median of {} rounds.\n",
        files.len(),
        if not_utf8 > 0 { format!(" ({not_utf8} files that are not UTF-8 left out)") } else { String::new() },
        options.rounds,
    );
    println!("| parser | files | MB | median (s) | min–max (s) | MB/s | failed to parse | × fastest |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (i, which) in ALL.into_iter().enumerate() {
        let (min, max) = (times[i][0].as_secs_f64(), times[i][times[i].len() - 1].as_secs_f64());
        println!(
            "| {} | {} | {mb:.1} | {:.3} | {min:.3}–{max:.3} | {:.1} | {} | {:.2} |",
            which.label(),
            files.len(),
            medians[i],
            mb / medians[i],
            failed[i].len(),
            medians[i] / fastest,
        );
    }
    println!();

    if options.list_failures {
        for (i, which) in ALL.into_iter().enumerate() {
            println!("### {}: {} files failed\n", which.label(), failed[i].len());
            for &n in &failed[i] {
                let file = &files[n];
                let path = file.path.strip_prefix(corpus).unwrap_or(&file.path);
                let error = parsers.first_error(which, &file.source).unwrap_or_default();
                println!("- `{}`: {error}", path.display());
            }
            println!();
        }
    }
    Ok(())
}
