//! Suppression comments: `agent-events: allow(rule-a, rule-b) -- reason`.
//!
//! A trailing comment covers its own line; a comment on a line of its own covers the next line
//! that holds code. `agent-events: allow-file(rule)` in the file's first comment block covers
//! the whole file.

use crate::comments::Comment;
use crate::fix::{Applicability, Fix};
use crate::source::{LineIndex, Span};

/// The marker that starts a suppression inside a comment.
pub const MARKER: &str = "agent-events:";

/// What a suppression covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One 1-based line.
    Line(usize),
    /// The whole file.
    File,
}

/// One parsed suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The comment.
    pub span: Span,
    /// The rule ids it names, with their spans.
    pub rules: Vec<(String, Span)>,
    /// What it covers.
    pub scope: Scope,
}

/// A comment that mentions the marker but is not a valid suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The comment.
    pub span: Span,
    /// What is wrong.
    pub message: String,
}

/// Finds the suppressions among a file's comments.
pub fn parse(text: &str, comments: &[Comment], index: &LineIndex) -> (Vec<Suppression>, Vec<Malformed>) {
    let mut found = Vec::new();
    let mut malformed = Vec::new();
    let first_block_end = first_block_end(text, comments);
    for comment in comments {
        let body = &text[comment.span.start..comment.span.end];
        if is_doc(body) {
            continue;
        }
        let Some(at) = body.find(MARKER) else { continue };
        let after = at + MARKER.len();
        let rest = body[after..].trim_start();
        let rest_offset = comment.span.start + after + (body[after..].len() - rest.len());
        let (file_scope, list_start) = if let Some(r) = rest.strip_prefix("allow-file(") {
            (true, rest.len() - r.len())
        } else if let Some(r) = rest.strip_prefix("allow(") {
            (false, rest.len() - r.len())
        } else {
            malformed.push(Malformed {
                span: comment.span,
                message: "expected `allow(rule, …)` or `allow-file(rule, …)` after `agent-events:`".into(),
            });
            continue;
        };
        let Some(close) = rest[list_start..].find(')') else {
            malformed
                .push(Malformed { span: comment.span, message: "the rule list has no closing `)`".into() });
            continue;
        };
        let list = &rest[list_start..list_start + close];
        let mut rules = Vec::new();
        let mut offset = rest_offset + list_start;
        for part in list.split(',') {
            let trimmed = part.trim();
            let lead = part.len() - part.trim_start().len();
            if !trimmed.is_empty() {
                rules.push((trimmed.to_owned(), Span::new(offset + lead, offset + lead + trimmed.len())));
            }
            offset += part.len() + 1;
        }
        if rules.is_empty() {
            malformed.push(Malformed { span: comment.span, message: "the suppression names no rule".into() });
            continue;
        }
        let scope = if file_scope {
            if comment.span.start > first_block_end {
                malformed.push(Malformed {
                    span: comment.span,
                    message: "`allow-file` only works in the file's first comment block".into(),
                });
                continue;
            }
            Scope::File
        } else if comment.own_line {
            Scope::Line(next_code_line(text, comments, index, comment))
        } else {
            Scope::Line(index.line(comment.span.start))
        };
        found.push(Suppression { span: comment.span, rules, scope });
    }
    (found, malformed)
}

/// The fix that drops rule `unused` from a suppression: the name and its comma when another of
/// its rules is used (`used`), else the whole comment (and its line, when it stands alone).
pub fn removal(text: &str, s: &Suppression, unused: usize, used: &[usize]) -> Fix {
    if !used.is_empty() {
        return drop_name(s, unused);
    }
    let line_start = text[..s.span.start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..s.span.start];
    let span = if before.trim().is_empty() {
        let line_end = text[s.span.end..].find('\n').map_or(text.len(), |i| s.span.end + i + 1);
        Span::new(line_start, line_end)
    } else {
        let trimmed = before.trim_end().len();
        Span::new(line_start + trimmed, s.span.end)
    };
    Fix::replace(Applicability::Safe, span, "")
}

fn drop_name(s: &Suppression, unused: usize) -> Fix {
    let span = if unused + 1 < s.rules.len() {
        Span::new(s.rules[unused].1.start, s.rules[unused + 1].1.start)
    } else {
        Span::new(s.rules[unused - 1].1.end, s.rules[unused].1.end)
    };
    Fix::replace(Applicability::Safe, span, "")
}

/// Doc comments (`///`, `//!`, `/**`, `/*!`) are documentation, never suppressions.
fn is_doc(comment: &str) -> bool {
    (comment.starts_with("///") && !comment.starts_with("////"))
        || comment.starts_with("//!")
        || (comment.starts_with("/**") && !comment.starts_with("/***") && comment != "/**/")
        || comment.starts_with("/*!")
}

/// Where the leading run of comments (before any code) ends.
fn first_block_end(text: &str, comments: &[Comment]) -> usize {
    let mut end = 0;
    for comment in comments {
        if !text[end..comment.span.start].trim().is_empty() {
            break;
        }
        end = comment.span.end;
    }
    end
}

/// The first line after `comment` that holds something other than whitespace and comments.
fn next_code_line(text: &str, comments: &[Comment], index: &LineIndex, comment: &Comment) -> usize {
    let mut line = index.line(comment.span.end.saturating_sub(1)) + 1;
    while line <= index.line_count() {
        let start = index.line_start(line).unwrap_or(text.len());
        let end = index.line_start(line + 1).unwrap_or(text.len());
        let mut code = false;
        let mut pos = start;
        for c in comments.iter().filter(|c| c.span.end > start && c.span.start < end) {
            if !text[pos..c.span.start.max(pos)].trim().is_empty() {
                code = true;
            }
            pos = pos.max(c.span.end);
        }
        if pos < end && !text[pos..end].trim().is_empty() {
            code = true;
        }
        if code {
            return line;
        }
        line += 1;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comments::rust_comments;

    fn suppressions(src: &str) -> (Vec<Suppression>, Vec<Malformed>) {
        parse(src, &rust_comments(src), &LineIndex::new(src))
    }

    #[test]
    fn trailing_covers_its_line_and_own_line_covers_the_next_code_line() {
        let src = "fn f() {\n    a(); // agent-events: allow(rule-a) -- why\n    // agent-events: allow(rule-b, rule-c)\n    // more words\n\n    b();\n}\n";
        let (found, malformed) = suppressions(src);
        assert!(malformed.is_empty());
        assert_eq!(found[0].scope, Scope::Line(2));
        assert_eq!(found[0].rules.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["rule-a"]);
        assert_eq!(&src[found[0].rules[0].1.start..found[0].rules[0].1.end], "rule-a");
        assert_eq!(found[1].scope, Scope::Line(6));
        assert_eq!(found[1].rules.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["rule-b", "rule-c"]);
        assert_eq!(&src[found[1].rules[1].1.start..found[1].rules[1].1.end], "rule-c");
    }

    #[test]
    fn allow_file_only_in_the_first_comment_block() {
        let src = "//! Crate docs.\n// agent-events: allow-file(rule-a)\nfn f() {}\n// agent-events: allow-file(rule-b)\n";
        let (found, malformed) = suppressions(src);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].scope, Scope::File);
        assert_eq!(malformed[0].message, "`allow-file` only works in the file's first comment block");
    }

    #[test]
    fn doc_comments_are_not_suppressions() {
        let (found, malformed) =
            suppressions("//! `agent-events: allow(x)`\n/// agent-events: allow(y)\nfn f() {}\n");
        assert!(found.is_empty() && malformed.is_empty());
        let (found, _) = suppressions("//// agent-events: allow(z)\nfn f() {}\n");
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn malformed_suppressions_are_reported() {
        let (_, malformed) =
            suppressions("// agent-events: alow(x)\n// agent-events: allow(\n// agent-events: allow()\n");
        assert_eq!(malformed.len(), 3);
    }
}
