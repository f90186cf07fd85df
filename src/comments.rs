//! Finds the comments of a file, in either language, as one [`Comment`] type: in Rust `//` and
//! (nested) `/* */`, never the text of string, raw string, byte string or char literals; in Python
//! the `#` comments of Ruff's token stream. Also estimates how deep Rust code nests, from the same
//! lexical view.

use ruff_python_ast::token::{Token, TokenKind};
use ruff_text_size::Ranged;

use crate::source::Span;

/// One comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The comment, delimiters included.
    pub span: Span,
    /// Whether only whitespace precedes it on its line.
    pub own_line: bool,
}

/// Every comment in `text`, in order. Never fails: unterminated constructs run to the end.
pub fn rust_comments(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    // A byte-order mark is not code: a comment after it stands on its own line.
    let mut i = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut line_has_code = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                line_has_code = false;
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let mut end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                if end > i && bytes[end - 1] == b'\r' {
                    end -= 1; // a CRLF line ending is not part of the comment
                }
                comments.push(Comment { span: Span::new(i, end), own_line: !line_has_code });
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let start = i;
                i = skip_comment(bytes, i).unwrap_or(i + 2);
                comments
                    .push(Comment { span: Span::new(start, i.min(bytes.len())), own_line: !line_has_code });
            }
            b'"' => {
                line_has_code = true;
                i = skip_string(bytes, i + 1);
            }
            b'r' | b'b' | b'c' if !prev_is_ident(bytes, i) => {
                line_has_code = true;
                i = skip_prefixed_literal(bytes, i);
            }
            b'\'' => {
                line_has_code = true;
                i = skip_char_or_lifetime(bytes, i);
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                line_has_code = true;
                i += 1;
            }
        }
    }
    comments
}

/// Every comment of a Python file, in order, from the tokens Ruff's parser produced for `text`.
pub fn python_comments(text: &str, tokens: &[Token]) -> Vec<Comment> {
    tokens
        .iter()
        .filter(|t| t.kind() == TokenKind::Comment)
        .map(|t| {
            let span = Span::new(t.start().to_usize(), t.end().to_usize());
            let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
            // A byte-order mark is not code: a comment after it stands on its own line.
            let before = text[line_start..span.start].trim_start_matches('\u{feff}');
            Comment { span, own_line: before.trim().is_empty() }
        })
        .collect()
}

/// An upper estimate of how deep the syntax tree of a Rust file nests, and where it is deepest:
/// brackets nest, and within one bracket level each operator since the last `,`, `;` or closed
/// block (`!!x`, `a + b + c`, `a.b().c()`, `x @ y`) and each `return`, `break` and `yield` (whose
/// values `syn` parses recursively) may add a level. Comments and literals are skipped. Used to
/// refuse, before parsing, code too deep for a recursive parser.
pub fn rust_nesting(text: &str) -> (usize, usize) {
    let bytes = text.as_bytes();
    // Per open bracket: the depth at which it starts and the operators of its current segment.
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    let (mut max, mut at) = (0, 0);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'/' if matches!(bytes.get(i + 1), Some(b'/' | b'*')) => {
                i = skip_comment(bytes, i).unwrap_or(i + 2);
                continue;
            }
            b'"' => {
                i = skip_string(bytes, i + 1);
                continue;
            }
            b'r' | b'b' | b'c' if !prev_is_ident(bytes, i) => {
                let start = i;
                i = skip_prefixed_literal(bytes, i);
                if matches!(&bytes[start..i], b"return" | b"break") {
                    let last = stack.len() - 1;
                    stack[last].1 += 1;
                    note(&stack, start, &mut max, &mut at);
                }
                continue;
            }
            b'y' if !prev_is_ident(bytes, i) => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if &bytes[start..i] == b"yield" {
                    let last = stack.len() - 1;
                    stack[last].1 += 1;
                    note(&stack, start, &mut max, &mut at);
                }
                continue;
            }
            b'\'' => {
                i = skip_char_or_lifetime(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => {
                let (base, ops) = stack[stack.len() - 1];
                stack.push((base + ops + 1, 0));
            }
            b')' | b']' | b'}' => {
                if stack.len() > 1 {
                    stack.pop();
                }
                if b == b'}' {
                    let last = stack.len() - 1;
                    stack[last].1 = 0;
                }
            }
            b',' | b';' => {
                let last = stack.len() - 1;
                stack[last].1 = 0;
            }
            b'!' | b'-' | b'*' | b'&' | b'+' | b'/' | b'%' | b'^' | b'|' | b'<' | b'>' | b'=' | b'.'
            | b'?' | b'@' => {
                let last = stack.len() - 1;
                stack[last].1 += 1;
            }
            _ => {}
        }
        note(&stack, i, &mut max, &mut at);
        i += 1;
    }
    (max, at)
}

/// Skips a comment starting at `i` (`//` or a nested `/* */`), if one starts there.
fn skip_comment(bytes: &[u8], mut i: usize) -> Option<usize> {
    match (bytes.get(i), bytes.get(i + 1)) {
        (Some(b'/'), Some(b'/')) => {
            Some(bytes[i..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |n| i + n))
        }
        (Some(b'/'), Some(b'*')) => {
            let mut depth = 0usize;
            while i < bytes.len() {
                if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            Some(i)
        }
        _ => None,
    }
}

/// Words that start an item (after attributes and visibility).
const ITEM_STARTS: &[&[u8]] = &[
    b"pub",
    b"fn",
    b"struct",
    b"enum",
    b"impl",
    b"mod",
    b"use",
    b"const",
    b"static",
    b"trait",
    b"type",
    b"extern",
    b"unsafe",
    b"async",
    b"union",
    b"macro_rules",
];

/// Whether an item surely starts at `i` (after white space and comments): an attribute or a
/// word that only starts items.
fn item_starts_at(bytes: &[u8], mut i: usize) -> bool {
    loop {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        match skip_comment(bytes, i) {
            Some(next) => i = next,
            None => break,
        }
    }
    if i >= bytes.len() || bytes[i] == b'#' {
        return true;
    }
    let end = i + bytes[i..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
    let word = &bytes[i..end];
    ITEM_STARTS.contains(&word) || (!word.is_empty() && bytes.get(end) == Some(&b'!'))
}

/// Where a Rust file may be cut into runs of whole top-level items of about `every` bytes: after
/// a `;` or a `}` at the top level that the next item surely follows. Strings, characters and
/// comments are skipped. The cuts are a guess: a run that does not parse on its own is the
/// caller's to handle (by parsing the file whole).
pub fn rust_item_cuts(text: &str, every: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut cuts = Vec::new();
    let (mut depth, mut last) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        if let Some(next) = skip_comment(bytes, i) {
            i = next;
            continue;
        }
        match bytes[i] {
            b'"' => {
                i = skip_string(bytes, i + 1);
                continue;
            }
            b'r' | b'b' | b'c' if !prev_is_ident(bytes, i) => {
                i = skip_prefixed_literal(bytes, i);
                continue;
            }
            b'\'' => {
                i = skip_char_or_lifetime(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        let end_of_item = depth == 0 && matches!(bytes[i], b';' | b'}');
        if end_of_item && i + 1 - last >= every && item_starts_at(bytes, i + 1) {
            cuts.push(i + 1);
            last = i + 1;
        }
        i += 1;
    }
    cuts
}

/// Keeps the deepest level reached so far, and where.
fn note(stack: &[(usize, usize)], i: usize, max: &mut usize, at: &mut usize) {
    let (base, ops) = stack[stack.len() - 1];
    if base + ops > *max {
        *max = base + ops;
        *at = i;
    }
}

fn prev_is_ident(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')
}

/// Skips a `"…"` body starting after the opening quote; returns the index after the closing one.
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// `r"…"`, `r#"…"#`, `b"…"`, `br#"…"#`, `c"…"`, `b'x'`; anything else is an identifier start.
fn skip_prefixed_literal(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    if bytes[i] == b'b' || bytes[i] == b'c' {
        i += 1;
        if bytes.get(i) == Some(&b'\'') && bytes[start] == b'b' {
            return skip_char_or_lifetime(bytes, i);
        }
    }
    let raw = bytes.get(i) == Some(&b'r');
    if raw {
        i += 1;
    }
    let hashes_start = i;
    while raw && bytes.get(i) == Some(&b'#') {
        i += 1;
    }
    let hashes = i - hashes_start;
    if bytes.get(i) != Some(&b'"') {
        // An identifier such as `return` or `bar`: skip the identifier.
        let mut j = start;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        return j.max(start + 1);
    }
    if !raw {
        return skip_string(bytes, i + 1);
    }
    i += 1;
    while i < bytes.len() {
        if bytes[i] == b'"' && bytes[i + 1..].iter().take(hashes).filter(|b| **b == b'#').count() == hashes {
            return i + 1 + hashes;
        }
        i += 1;
    }
    bytes.len()
}

/// A char literal (`'a'`, `'\n'`, `'\u{1F600}'`, `'é'`) or a lifetime / label (`'a`).
fn skip_char_or_lifetime(bytes: &[u8], quote: usize) -> usize {
    let i = quote + 1;
    match bytes.get(i) {
        Some(b'\\') => {
            let mut j = i + 2;
            while j < bytes.len() && bytes[j] != b'\'' && bytes[j] != b'\n' {
                j += 1;
            }
            (j + 1).min(bytes.len())
        }
        Some(_) => {
            // One character (maybe multi-byte) then a quote: a char literal.
            let len = utf8_len(bytes[i]);
            if bytes.get(i + len) == Some(&b'\'') {
                i + len + 1
            } else {
                i // a lifetime: continue scanning after the quote
            }
        }
        None => bytes.len(),
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<(&str, bool)> {
        rust_comments(src).iter().map(|c| (&src[c.span.start..c.span.end], c.own_line)).collect()
    }

    #[test]
    fn finds_line_and_block_comments_with_their_placement() {
        let src = "// top\nlet a = 1; // trailing\n/* block /* nested */ end */ let b;\n";
        assert_eq!(
            texts(src),
            [("// top", true), ("// trailing", false), ("/* block /* nested */ end */", true)]
        );
    }

    #[test]
    fn ignores_comment_markers_inside_literals() {
        let src = r####"let s = "// no"; let r = r#"/* no */"#; let c = '/'; let b = b"//"; fn f<'a>(x: &'a str) {} // yes"####;
        assert_eq!(texts(src), [("// yes", false)]);
        let esc = r#"let s = "a \" // still string"; // real"#;
        assert_eq!(texts(esc), [("// real", false)]);
    }

    #[test]
    fn python_comments_come_from_the_token_stream() {
        let src = "\u{feff}# head\nx = '# not'  # trailing\n    # indented\n";
        let parsed = ruff_python_parser::parse_unchecked_source(src, ruff_python_ast::PySourceType::Python);
        let found: Vec<(&str, bool)> = python_comments(src, parsed.tokens())
            .iter()
            .map(|c| (&src[c.span.start..c.span.end], c.own_line))
            .collect();
        assert_eq!(found, [("# head", true), ("# trailing", false), ("# indented", true)]);
    }

    #[test]
    fn nesting_counts_brackets_operators_and_value_keywords() {
        assert_eq!(rust_nesting("fn f() { a + b + c; }").0, 3);
        assert_eq!(rust_nesting("fn f() { let s = \"((((\"; } // ((((").0, 2);
        assert_eq!(rust_nesting("fn f() { return return 1; }").0, 3);
        assert_eq!(rust_nesting("fn f() { yield yield 1; }").0, 3);
        assert_eq!(rust_nesting("fn f() { let a @ b @ c = 1; }").0, 4);
        // Identifiers that merely start like a keyword do not count.
        assert_eq!(rust_nesting("fn f() { returns; breaker; yielded; }").0, 1);
    }

    #[test]
    fn survives_unterminated_input() {
        assert!(rust_comments("let s = \"never closed // x").is_empty());
        assert_eq!(rust_comments("/* open").len(), 1);
        let _ = rust_comments("r##\"\u{e9}'");
        let _ = rust_comments("'\\");
        let with_bom = rust_comments("\u{feff}// agent-events: allow(x)\nfn f() {}\n");
        assert!(with_bom[0].own_line, "{with_bom:?}");
    }
}
