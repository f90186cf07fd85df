//! `fix` killed at random points (SIGKILL): every file, Rust or Python, is afterwards either its
//! original or its complete fixed version, and the next `fix` finishes the job and leaves no temporary file.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FILES: usize = 200;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cargo-agent-events"))
}

/// Every other file is Python: its emitter call is rewritten by a configured rewrite.
const CONFIG: &str = r#"
[[rules.user-emitter-call.python.rewrites]]
match = "await $n.notify_agent_thinking($t)"
replace = "await emit(\"agent_thinking\", thought=$t)"
applicability = "safe"
uses = ["from app.events.adapter import emit"]
"#;

fn name(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("src/f{i}.rs")
    } else {
        format!("src/f{i}.py")
    }
}

/// A workspace of Rust and Python files that each hold a stale suppression (a safe fix removes
/// it; a Python file also has a call a rewrite fixes), padded with a long comment (cheap to
/// lint, slow to write) so that the writes take a while.
fn project(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\n").unwrap();
    std::fs::write(dir.join("agent-events.toml"), CONFIG).unwrap();
    let line = "padding that makes the file long enough to take time to write\n";
    let padding = format!("/*\n{}*/\n", line.repeat(1_000));
    let py_padding = format!("# {}", line).repeat(1_000);
    for i in 0..FILES {
        let text = if i.is_multiple_of(2) {
            format!(
                "// file {i}\nfn quiet_{i}() {{\n    let total = {i}; // agent-events: allow(user-emitter-call) -- stale\n    let _ = total;\n}}\n{padding}"
            )
        } else {
            format!(
                "# file {i}\nasync def quiet_{i}(n):\n    total = {i}  # agent-events: allow(user-emitter-call) -- stale\n    await n.notify_agent_thinking(total)\n{py_padding}"
            )
        };
        std::fs::write(dir.join(name(i)), text).unwrap();
    }
}

fn contents(dir: &Path) -> Vec<String> {
    (0..FILES).map(|i| std::fs::read_to_string(dir.join(name(i))).unwrap()).collect()
}

fn fix(dir: &Path) -> std::process::Child {
    bin().args(["fix", "."]).current_dir(dir).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tmp"))
        .collect()
}

/// A small deterministic generator, seeded from the clock (the seed is printed on failure).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn a_killed_fix_leaves_every_file_whole() {
    let base = tempfile::tempdir().unwrap();
    let original_dir = base.path().join("original");
    project(&original_dir);
    let originals = contents(&original_dir);

    // A complete run: the fixed version of every file, and when writing starts and ends.
    let reference = base.path().join("reference");
    project(&reference);
    let modified = || std::fs::metadata(reference.join("src")).and_then(|m| m.modified()).ok();
    let before = modified();
    let started = Instant::now();
    let mut child = fix(&reference);
    let mut first_write = None;
    // A rename into `src/` changes the folder's modification time: the first file written.
    while child.try_wait().unwrap().is_none() {
        if first_write.is_none() && modified() != before {
            first_write = Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let total = started.elapsed();
    let first_write = first_write.unwrap_or(total / 2);
    let fixed = contents(&reference);
    assert!(fixed.iter().zip(&originals).all(|(f, o)| f != o && !f.contains("agent-events: allow")));
    assert!(fixed.iter().skip(1).step_by(2).all(|f| f.contains("from app.events.adapter import emit\n")
        && f.contains("    await emit(\"agent_thinking\", thought=total)\n")));

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut rng = Lcg(seed);
    let mut partial = 0;
    for round in 0..10 {
        let dir = base.path().join(format!("round{round}"));
        project(&dir);
        // Kill anywhere from a little before the first write to the end of the run.
        let from = first_write.as_micros() as u64 * 9 / 10;
        let to = total.as_micros() as u64 + 1;
        let delay = Duration::from_micros(from + rng.next() % (to - from).max(1));
        let mut child = fix(&dir);
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = contents(&dir);
        let mut done = 0;
        for (i, text) in now.iter().enumerate() {
            if *text == fixed[i] {
                done += 1;
            } else {
                assert_eq!(
                    *text,
                    originals[i],
                    "seed {seed}, round {round}: {} is neither original nor fixed",
                    name(i)
                );
            }
        }
        if done > 0 && done < FILES {
            partial += 1;
        }
        // The next run finishes the job and clears what the killed one left.
        let status = fix(&dir).wait().unwrap();
        assert!(status.success(), "seed {seed}, round {round}");
        assert_eq!(contents(&dir), fixed, "seed {seed}, round {round}");
        assert_eq!(temp_files(&dir), Vec::<PathBuf>::new(), "seed {seed}, round {round}");
    }
    eprintln!(
        "10 kills (seed {seed}; run {total:?}, writes from {first_write:?}): {partial} landed while files were being written"
    );
}
