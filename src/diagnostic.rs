//! Findings: what a run reports.

use serde::Serialize;

use crate::fix::{Applicability, Edit, Fix};
use crate::source::{Position, Span};

/// How a finding is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// From a rule at level `warn`.
    Warning,
    /// From a rule at level `deny`: the run exits 1.
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A secondary span with a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// Start position.
    pub start: Position,
    /// End position (exclusive).
    pub end: Position,
    /// The note.
    pub message: String,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule id.
    pub rule: String,
    /// Warning or error.
    pub severity: Severity,
    /// The file, relative to the project root, `/`-separated.
    pub path: String,
    /// The primary span.
    pub span: Span,
    /// Start position.
    pub start: Position,
    /// End position (exclusive).
    pub end: Position,
    /// What is wrong.
    pub message: String,
    /// What to do instead.
    pub help: String,
    /// Further spans.
    pub labels: Vec<Label>,
    /// The note at the primary span, when it is not the rule's `label` (a declared pair's).
    pub note: Option<String>,
    /// How to fix it, when the rule knows.
    pub fix: Option<FindingFix>,
    /// The innermost function or method around it (`impl DataAgent::run`), if any.
    pub item: Option<String>,
    /// The code it points at with all whitespace removed: with `item`, what identifies it
    /// across unrelated edits.
    pub snippet: String,
}

impl Finding {
    /// A key that survives unrelated edits (lines inserted above, other functions renamed,
    /// reformatting): rule, file, enclosing item and a hash of the normalised snippet.
    pub fn fingerprint(&self) -> String {
        // FNV-1a, 64 bits: stable across runs and platforms.
        let mut hash: u64 = 0xcbf29ce484222325;
        let item = self.item.as_deref().unwrap_or("");
        for byte in [self.rule.as_str(), "\0", &self.path, "\0", item, "\0", &self.snippet].concat().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x100000001b3);
        }
        format!("{hash:016x}")
    }
}

/// One edit of a fix, with its positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedEdit {
    /// What it replaces.
    pub span: Span,
    /// Start position.
    pub start: Position,
    /// End position (exclusive).
    pub end: Position,
    /// The new text.
    pub content: String,
}

/// A finding's fix, with positions for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingFix {
    /// Safe or unsafe.
    pub applicability: Applicability,
    /// The edits.
    pub edits: Vec<PlacedEdit>,
}

impl FindingFix {
    /// The fix, to apply.
    pub fn to_fix(&self) -> Fix {
        Fix {
            applicability: self.applicability,
            edits: self.edits.iter().map(|e| Edit { span: e.span, content: e.content.clone() }).collect(),
        }
    }
}

impl Finding {
    /// The order findings are reported in: path, line, column, rule.
    pub fn sort_key(&self) -> (&str, usize, usize, &str) {
        (&self.path, self.start.line, self.start.column, &self.rule)
    }
}
