//! Code actions and hover: a finding's fix, every safe fix of a file at once, a suppression
//! comment, and the rule's documentation.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Diagnostic, Hover, HoverContents, MarkupContent,
    MarkupKind, Range, TextEdit, Uri, WorkspaceEdit,
};

use super::convert::{Encoding, Lines};
use crate::diagnostic::Finding;
use crate::fix::{self, Applicability};
use crate::frontend::Lang;
use crate::lint::Linter;
use crate::source::Span;

/// The kind of the "fix every safe finding in the file" action.
pub const FIX_ALL: &str = "source.fixAll.agent-events";

/// Rules whose findings a suppression comment does not answer.
const NOT_SUPPRESSIBLE: [&str; 2] = ["parse-error", "unused-suppression"];

/// Whether two ranges overlap or touch (a cursor at either end of a finding is on it).
fn touches(a: Range, b: Range) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// Whether the client asked for actions of `kind` (`only` absent, or a prefix of it given).
fn wanted(only: Option<&[CodeActionKind]>, kind: &str) -> bool {
    only.is_none_or(|only| {
        only.iter().any(|k| kind == k.as_str() || kind.starts_with(&format!("{}.", k.as_str())))
    })
}

/// What a code action request is answered from: the document as linted.
pub struct Linted<'a> {
    /// The document.
    pub uri: &'a Uri,
    /// Its text, as linted.
    pub text: &'a str,
    /// Its findings.
    pub findings: &'a [Finding],
    /// The diagnostics published for them, in the same order.
    pub diagnostics: &'a [Diagnostic],
    /// The client's encoding.
    pub encoding: Encoding,
}

fn edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit { changes: Some(HashMap::from([(uri.clone(), edits)])), ..WorkspaceEdit::default() }
}

/// The actions for `range`: each touching finding's fix (safe ones preferred; unsafe ones say
/// so), a suppression of it with a reason to fill in, and fixing every safe finding of the file.
pub fn code_actions(
    doc: &Linted<'_>,
    range: Range,
    only: Option<&[CodeActionKind]>,
    lang: Lang,
    linter: &Linter<'_>,
    rel: &str,
    module: &[String],
) -> Vec<CodeActionOrCommand> {
    let lines = Lines::new(doc.text);
    let mut actions = Vec::new();
    for (finding, diagnostic) in doc.findings.iter().zip(doc.diagnostics) {
        if !touches(diagnostic.range, range) {
            continue;
        }
        if let Some(fix) = finding.fix.as_ref().filter(|_| wanted(only, CodeActionKind::QUICKFIX.as_str())) {
            let edits = fix
                .edits
                .iter()
                .map(|e| TextEdit { range: lines.range(e.span, doc.encoding), new_text: e.content.clone() })
                .collect();
            let safe = fix.applicability == Applicability::Safe;
            let title = if safe {
                format!("Fix `{}`", finding.rule)
            } else {
                format!("Fix `{}` (unsafe: review the result)", finding.rule)
            };
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title,
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic.clone()]),
                edit: Some(edit(doc.uri, edits)),
                is_preferred: Some(safe),
                ..CodeAction::default()
            }));
        }
        if !NOT_SUPPRESSIBLE.contains(&finding.rule.as_str())
            && wanted(only, CodeActionKind::QUICKFIX.as_str())
        {
            if let Some(insert) = suppression(doc.text, finding, lang) {
                let at = lines.range(Span::new(insert.0, insert.0), doc.encoding);
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Suppress `{}` on this line (with a reason)", finding.rule),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![diagnostic.clone()]),
                    edit: Some(edit(doc.uri, vec![TextEdit { range: at, new_text: insert.1 }])),
                    is_preferred: Some(false),
                    ..CodeAction::default()
                }));
            }
        }
    }
    let any_safe =
        doc.findings.iter().any(|f| f.fix.as_ref().is_some_and(|x| x.applicability == Applicability::Safe));
    if any_safe && wanted(only, FIX_ALL) {
        if let Some(fixed) = fix_all(doc.text, lang, linter, rel, module) {
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: "Fix every safe agent-events finding in this file".to_owned(),
                kind: Some(CodeActionKind::from(FIX_ALL)),
                edit: Some(edit(doc.uri, vec![minimal_edit(doc.text, &fixed, &lines, doc.encoding)])),
                ..CodeAction::default()
            }));
        }
    }
    actions
}

/// The text with every safe fix applied, to a fixed point, as `fix` would write it; `None` when
/// nothing changes or a pass would leave text that does not parse.
pub fn fix_all(text: &str, lang: Lang, linter: &Linter<'_>, rel: &str, module: &[String]) -> Option<String> {
    let mut current = text.to_owned();
    for _ in 0..crate::fixer::MAX_PASSES {
        let report = linter.lint_text(rel, module, &current);
        let fixes: Vec<fix::Fix> = report
            .findings
            .iter()
            .filter_map(|f| f.fix.as_ref())
            .filter(|f| f.applicability == Applicability::Safe)
            .map(|f| f.to_fix())
            .collect();
        let (fixed, applied, _) = fix::apply(&current, &fixes.iter().collect::<Vec<_>>());
        if applied == 0 || fixed == current {
            break;
        }
        if (lang.spec().reparses)(&fixed).is_err() {
            return None;
        }
        current = fixed;
    }
    (current != text).then_some(current)
}

/// One edit that turns `before` into `after`: the part between their common prefix and suffix.
pub fn minimal_edit(before: &str, after: &str, lines: &Lines<'_>, encoding: Encoding) -> TextEdit {
    let mut prefix = before.bytes().zip(after.bytes()).take_while(|(a, b)| a == b).count();
    while !before.is_char_boundary(prefix) || !after.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = (before.len() - prefix).min(after.len() - prefix);
    let mut suffix =
        before.bytes().rev().zip(after.bytes().rev()).take(max_suffix).take_while(|(a, b)| a == b).count();
    while !before.is_char_boundary(before.len() - suffix) || !after.is_char_boundary(after.len() - suffix) {
        suffix -= 1;
    }
    TextEdit {
        range: lines.range(Span::new(prefix, before.len() - suffix), encoding),
        new_text: after[prefix..after.len() - suffix].to_owned(),
    }
}

/// Where to insert a suppression of `finding` and what: a comment on a line of its own above
/// the finding's line (it covers the next line of code), or, when that would not parse (the line
/// starts inside a string), at the end of the line.
fn suppression(text: &str, finding: &Finding, lang: Lang) -> Option<(usize, String)> {
    let comment = format!(
        "{} {} allow({}) -- TODO: why this site stays",
        lang.spec().line_comment,
        crate::suppress::MARKER,
        finding.rule
    );
    let start = text[..finding.span.start.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[start..line_end];
    let indent: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
    let newline = fix::line_ending(text);
    let above = (start, format!("{indent}{comment}{newline}"));
    let end = if line.ends_with('\r') { line_end - 1 } else { line_end };
    let trailing = (end, format!("  {comment}"));
    [above, trailing].into_iter().find(|(at, insert)| {
        let mut edited = text.to_owned();
        edited.insert_str(*at, insert);
        (lang.spec().reparses)(&edited).is_ok()
    })
}

/// The rule's documentation, on a finding under the cursor.
pub fn hover(findings: &[Finding], diagnostics: &[Diagnostic], at: lsp_types::Position) -> Option<Hover> {
    let cursor = Range { start: at, end: at };
    let (finding, diagnostic) = findings.iter().zip(diagnostics).find(|(_, d)| touches(d.range, cursor))?;
    let defs = crate::rules::builtin_defs();
    let text = match defs.iter().find(|d| d.id == finding.rule) {
        Some(def) => crate::rules::explain::explain(def),
        None => format!("# {}\n\n{}", finding.rule, finding.help),
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: text }),
        range: Some(diagnostic.range),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimal_edit_is_what_differs() {
        let before = "let a = 1;\nlet b = 2;\n";
        let after = "let a = 1;\nlet b = 3; // x\n";
        let lines = Lines::new(before);
        let e = minimal_edit(before, after, &lines, Encoding::Utf16);
        assert_eq!((e.range.start.line, e.range.start.character, e.range.end.character), (1, 8, 10));
        assert_eq!(e.new_text, "3; // x", "`2;` becomes `3; // x`: only the line end is shared after it");
        let same = minimal_edit(before, before, &lines, Encoding::Utf16);
        assert_eq!(
            (same.range.start, same.range.end, same.new_text.as_str()),
            (same.range.end, same.range.start, "")
        );
        // Edits never split a character.
        let e = minimal_edit("aé", "aè", &Lines::new("aé"), Encoding::Utf8);
        assert_eq!((e.range.start.character, e.new_text.as_str()), (1, "è"));
    }

    #[test]
    fn only_filters_by_kind_prefix() {
        assert!(wanted(None, FIX_ALL));
        assert!(wanted(Some(&[CodeActionKind::SOURCE_FIX_ALL]), FIX_ALL));
        assert!(wanted(Some(&[CodeActionKind::SOURCE]), FIX_ALL));
        assert!(!wanted(Some(&[CodeActionKind::QUICKFIX]), FIX_ALL));
        assert!(!wanted(Some(&[CodeActionKind::SOURCE_FIX_ALL]), "quickfix"));
    }
}
