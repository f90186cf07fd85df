//! The ratchet: a baseline of known findings that CI tolerates while they are paid down.
//!
//! A finding is known by its fingerprint — rule, file, enclosing item and the normalised text
//! it points at — never by its line, so inserting lines above it, renaming another function or
//! reformatting leaves it known. The baseline keeps a count per fingerprint: a second identical
//! site added to the same function is new.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Finding;
use crate::lint::FileReport;

/// The file `baseline` writes by default, at the project root.
pub const DEFAULT_FILE: &str = "agent-events-baseline.json";

/// One known kind of finding, and how many there are.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// The rule.
    pub rule: String,
    /// The file.
    pub path: String,
    /// The enclosing function or method.
    pub item: Option<String>,
    /// What identifies it across unrelated edits.
    pub fingerprint: String,
    /// How many such findings are tolerated.
    pub count: usize,
}

/// A baseline file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Format version.
    pub version: u32,
    /// The known findings, sorted.
    pub entries: Vec<Entry>,
}

/// A baseline file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}", path = .0.display(), source = .1)]
    Io(std::path::PathBuf, std::io::Error),
    /// The file is not a baseline.
    #[error("{path}: not a baseline: {source}", path = .0.display(), source = .1)]
    NotABaseline(std::path::PathBuf, serde_json::Error),
}

impl Baseline {
    /// Every finding of a run.
    pub fn of(reports: &[FileReport]) -> Baseline {
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        for f in reports.iter().flat_map(|r| &r.findings) {
            entries
                .entry(f.fingerprint())
                .or_insert_with(|| Entry {
                    rule: f.rule.clone(),
                    path: f.path.clone(),
                    item: f.item.clone(),
                    fingerprint: f.fingerprint(),
                    count: 0,
                })
                .count += 1;
        }
        let mut entries: Vec<Entry> = entries.into_values().collect();
        entries.sort();
        Baseline { version: 1, entries }
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|e| BaselineError::Io(path.to_owned(), e))?;
        serde_json::from_str(&text).map_err(|e| BaselineError::NotABaseline(path.to_owned(), e))
    }

    /// Writes it, sorted and pretty, so that it diffs well.
    pub fn save(&self, path: &Path) -> Result<(), BaselineError> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| BaselineError::NotABaseline(path.to_owned(), e))?;
        text.push('\n');
        std::fs::write(path, text).map_err(|e| BaselineError::Io(path.to_owned(), e))
    }

    /// Removes the known findings from the reports (the first `count` of each fingerprint, in
    /// report order) and returns the entries with fewer findings than known (paid down).
    pub fn filter(&self, reports: &mut [FileReport]) -> Vec<(Entry, usize)> {
        let mut left: BTreeMap<&str, usize> =
            self.entries.iter().map(|e| (e.fingerprint.as_str(), e.count)).collect();
        for report in reports.iter_mut() {
            report.findings.retain(|f: &Finding| match left.get_mut(f.fingerprint().as_str()) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            });
        }
        self.entries
            .iter()
            .filter_map(|e| {
                let unused = left.get(e.fingerprint.as_str()).copied().unwrap_or(0);
                (unused > 0).then(|| (e.clone(), unused))
            })
            .collect()
    }

    /// The baseline after paying down `gone`: counts only ever shrink, and nothing is added.
    pub fn shrunk(&self, gone: &[(Entry, usize)]) -> Baseline {
        let entries = self
            .entries
            .iter()
            .filter_map(|e| {
                let fewer = gone.iter().find(|(g, _)| g.fingerprint == e.fingerprint).map_or(0, |(_, n)| *n);
                let count = e.count.saturating_sub(fewer);
                (count > 0).then(|| Entry { count, ..e.clone() })
            })
            .collect();
        Baseline { version: self.version, entries }
    }
}
