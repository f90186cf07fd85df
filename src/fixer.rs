//! `fix`: applies fixes to a fixed point in memory, refuses results that do not parse, then
//! writes every changed file atomically — or, with `--verify`, behind an on-disk journal that
//! restores every touched file if the verify command fails or the process is killed.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use crate::discover::Target;
use crate::fix::{self, Applicability};
use crate::lint::{FileReport, Linter};
use crate::write::write_atomic;

/// How many passes (lint, fix, re-lint) before giving up on reaching a fixed point.
pub const MAX_PASSES: usize = 10;

/// One file the fixes change.
#[derive(Debug, Clone)]
pub struct Change {
    /// The path on disk.
    pub path: PathBuf,
    /// Relative to the root.
    pub rel: String,
    /// The text before.
    pub original: String,
    /// The text after every pass.
    pub fixed: String,
}

/// What the fixes would do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Changed files, in target order.
    pub changes: Vec<Change>,
    /// Fixes applied, over all passes.
    pub applied: usize,
    /// Files left unchanged because the fixed text would not parse, with why.
    pub refused: Vec<(String, String)>,
    /// Whether a pass applied nothing (a fixed point); false after [`MAX_PASSES`].
    pub converged: bool,
    /// Files still changing in the last pass when it did not converge.
    pub unsettled: Vec<String>,
    /// Unsafe fixes the findings offered that were left out (without `--unsafe-fixes`).
    pub unsafe_left: usize,
}

fn wanted(applicability: Applicability, unsafe_fixes: bool) -> bool {
    applicability == Applicability::Safe || unsafe_fixes
}

/// Runs the fixes to a fixed point in memory; writes nothing.
pub fn plan(linter: &Linter<'_>, targets: &[Target], unsafe_fixes: bool) -> Plan {
    let mut plan = Plan::default();
    let mut current: BTreeMap<usize, String> = BTreeMap::new();
    let mut originals: BTreeMap<usize, String> = BTreeMap::new();
    let mut refused: BTreeSet<usize> = BTreeSet::new();
    let mut reports: Vec<(usize, FileReport)> = linter.run(targets).into_iter().enumerate().collect();
    plan.unsafe_left = reports
        .iter()
        .flat_map(|(_, r)| &r.findings)
        .filter_map(|f| f.fix.as_ref())
        .filter(|f| !wanted(f.applicability, unsafe_fixes))
        .count();
    for _ in 0..MAX_PASSES {
        let mut changed = Vec::new();
        for (i, report) in &reports {
            let fixes: Vec<fix::Fix> = report
                .findings
                .iter()
                .filter_map(|f| f.fix.as_ref())
                .filter(|f| wanted(f.applicability, unsafe_fixes))
                .map(|f| f.to_fix())
                .collect();
            if fixes.is_empty() || refused.contains(i) {
                continue;
            }
            let text = match current.get(i) {
                Some(text) => text.clone(),
                None => match std::fs::read_to_string(&targets[*i].path) {
                    Ok(text) => text,
                    Err(_) => continue,
                },
            };
            let (fixed, applied, _) = fix::apply(&text, &fixes.iter().collect::<Vec<_>>());
            if applied == 0 || fixed == text {
                continue;
            }
            if let Err(e) = parses(&targets[*i].rel, &fixed) {
                refused.insert(*i);
                plan.refused.push((targets[*i].rel.clone(), format!("the fixed file would not parse ({e})")));
                continue;
            }
            originals.entry(*i).or_insert(text);
            current.insert(*i, fixed);
            plan.applied += applied;
            changed.push(*i);
        }
        if changed.is_empty() {
            plan.converged = true;
            break;
        }
        plan.unsettled = changed.iter().map(|i| targets[*i].rel.clone()).collect();
        reports = changed
            .into_iter()
            .map(|i| {
                let t = &targets[i];
                (i, linter.lint_bytes(&t.rel, &t.module, current[&i].as_bytes()))
            })
            .collect();
    }
    if plan.converged {
        plan.unsettled.clear();
    }
    for (i, fixed) in current {
        // A file refused in a later pass keeps the last text that parsed.
        if let Some(original) = originals.remove(&i) {
            let t = &targets[i];
            plan.changes.push(Change { path: t.path.clone(), rel: t.rel.clone(), original, fixed });
        }
    }
    plan
}

/// A unified diff of every change.
pub fn diff(plan: &Plan) -> String {
    let mut out = String::new();
    for change in &plan.changes {
        let diff = similar::TextDiff::from_lines(&change.original, &change.fixed);
        let a = format!("a/{}", change.rel);
        let b = format!("b/{}", change.rel);
        out.push_str(&diff.unified_diff().context_radius(3).header(&a, &b).to_string());
    }
    out
}

/// Where an interrupted `fix --verify` keeps the originals of the files it touched.
pub fn journal_dir(root: &Path) -> PathBuf {
    root.join(".agent-events-fix-journal")
}

/// Restores the files an interrupted run left in the journal; returns how many.
pub fn recover(root: &Path) -> io::Result<usize> {
    let dir = journal_dir(root);
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest")) else { return Ok(0) };
    let mut restored = 0;
    for (i, line) in manifest.lines().enumerate() {
        let original = std::fs::read(dir.join(format!("{i}.orig")))?;
        write_atomic(Path::new(line), &original)?;
        restored += 1;
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(restored)
}

fn write_journal(root: &Path, changes: &[Change]) -> io::Result<()> {
    let dir = journal_dir(root);
    std::fs::create_dir_all(&dir)?;
    let mut manifest = String::new();
    for (i, change) in changes.iter().enumerate() {
        let path = std::fs::canonicalize(&change.path)?;
        std::fs::write(dir.join(format!("{i}.orig")), &change.original)?;
        manifest.push_str(&path.to_string_lossy());
        manifest.push('\n');
    }
    // The manifest goes last: a journal without one was never used to write anything.
    let temp = dir.join("manifest.tmp");
    std::fs::write(&temp, manifest)?;
    std::fs::File::open(&temp)?.sync_all()?;
    std::fs::rename(temp, dir.join("manifest"))
}

/// What writing the plan did.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// Every change is on disk.
    Done,
    /// The verify command failed; every touched file was restored. Its output.
    RolledBack(String),
}

/// Writes every change atomically. With a verify command, the originals are journaled first
/// and restored when the command fails.
pub fn write(root: &Path, plan: &Plan, verify: Option<&str>) -> io::Result<Written> {
    for change in &plan.changes {
        remove_stale_temps(&change.path);
    }
    if let Some(command) = verify {
        write_journal(root, &plan.changes)?;
        for change in &plan.changes {
            write_atomic(&change.path, change.fixed.as_bytes())?;
        }
        let out = std::process::Command::new("sh").arg("-c").arg(command).current_dir(root).output()?;
        if !out.status.success() {
            recover(root)?;
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            return Ok(Written::RolledBack(text));
        }
        std::fs::remove_dir_all(journal_dir(root))?;
        return Ok(Written::Done);
    }
    for change in &plan.changes {
        write_atomic(&change.path, change.fixed.as_bytes())?;
    }
    Ok(Written::Done)
}

/// Removes the temporary files that a killed run left beside `path` (`.name.agent-events-PID.tmp`).
fn remove_stale_temps(path: &Path) {
    let Ok(target) = std::fs::canonicalize(path) else { return };
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else { return };
    let prefix = format!(".{}.agent-events-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with(&prefix) && file.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether a fixed file still parses in its language; the parser's message when not.
fn parses(rel: &str, text: &str) -> Result<(), String> {
    (crate::frontend::Lang::of_name(rel).spec().reparses)(text)
}
