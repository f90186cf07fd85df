//! Fixes: edits to a file's text, applied without overlap, keeping the file's line endings.

use serde::Serialize;

use crate::source::Span;

/// Whether a fix keeps the program's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Applied by `fix`.
    Safe,
    /// Applied by `fix --unsafe-fixes` only: the result needs a person's look.
    Unsafe,
}

/// Replace the text of a span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// What to replace (empty for an insertion).
    pub span: Span,
    /// The new text, with `\n` line endings (converted to the file's).
    pub content: String,
}

/// A fix: edits that only make sense together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// Safe or unsafe.
    pub applicability: Applicability,
    /// Its edits.
    pub edits: Vec<Edit>,
}

impl Fix {
    /// A fix of one edit.
    pub fn replace(applicability: Applicability, span: Span, content: impl Into<String>) -> Fix {
        Fix { applicability, edits: vec![Edit { span, content: content.into() }] }
    }

    fn overlaps(&self, other: &Fix) -> bool {
        self.edits.iter().any(|a| {
            other.edits.iter().any(|b| {
                // Two insertions at one point, or any shared byte, conflict.
                a.span.start < b.span.end && b.span.start < a.span.end || a.span.start == b.span.start
            })
        })
    }
}

/// The line ending a text uses: `\r\n` when its first line ends so.
pub fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Applies the fixes that do not overlap an earlier one (in order of their first edit), and
/// returns the new text with the number of fixes applied and skipped.
pub fn apply(text: &str, fixes: &[&Fix]) -> (String, usize, usize) {
    let mut ordered: Vec<&Fix> = fixes.iter().copied().filter(|f| !f.edits.is_empty()).collect();
    ordered.sort_by_key(|f| f.edits.iter().map(|e| (e.span.start, e.span.end)).min());
    let mut accepted: Vec<&Fix> = Vec::new();
    let mut skipped = 0;
    for fix in ordered {
        let valid = fix.edits.iter().all(|e| {
            e.span.end <= text.len()
                && text.is_char_boundary(e.span.start)
                && text.is_char_boundary(e.span.end)
        });
        if valid && !accepted.iter().any(|a| a.overlaps(fix)) && !self_overlapping(fix) {
            accepted.push(fix);
        } else {
            skipped += 1;
        }
    }
    let eol = line_ending(text);
    let mut edits: Vec<&Edit> = accepted.iter().flat_map(|f| &f.edits).collect();
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for edit in edits {
        out.push_str(&text[pos..edit.span.start]);
        if eol == "\n" {
            out.push_str(&edit.content);
        } else {
            out.push_str(&edit.content.replace("\r\n", "\n").replace('\n', eol));
        }
        pos = edit.span.end;
    }
    out.push_str(&text[pos..]);
    (out, accepted.len(), skipped)
}

fn self_overlapping(fix: &Fix) -> bool {
    let mut spans: Vec<Span> = fix.edits.iter().map(|e| e.span).collect();
    spans.sort();
    spans.windows(2).any(|w| w[0].end > w[1].start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(start: usize, end: usize, content: &str) -> Fix {
        Fix::replace(Applicability::Safe, Span::new(start, end), content)
    }

    #[test]
    fn overlapping_fixes_never_both_apply() {
        let text = "abcdef";
        let (a, b, c) = (fix(1, 3, "X"), fix(2, 4, "Y"), fix(4, 5, "Z"));
        let (out, applied, skipped) = apply(text, &[&b, &a, &c]);
        assert_eq!((out.as_str(), applied, skipped), ("aXdZf", 2, 1));
    }

    #[test]
    fn inserted_lines_take_the_file_s_line_ending() {
        let text = "a\r\nb\r\n";
        let (out, _, _) = apply(text, &[&fix(3, 3, "x\ny\n")]);
        assert_eq!(out, "a\r\nx\r\ny\r\nb\r\n");
    }

    #[test]
    fn edits_outside_the_text_or_inside_a_character_are_refused() {
        let (out, applied, skipped) = apply("é", &[&fix(1, 2, "x"), &fix(5, 6, "y")]);
        assert_eq!((out.as_str(), applied, skipped), ("é", 0, 2));
    }
}
