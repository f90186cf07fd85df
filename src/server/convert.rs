//! Between the linter's byte offsets and the protocol's positions (in the encoding the client
//! negotiated), between `file:` URIs and paths, and from findings to diagnostics.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position,
    PositionEncodingKind, Range, Uri,
};

use crate::diagnostic::{Finding, Severity};
use crate::source::Span;

/// How the client counts a position's `character`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 code units (bytes).
    Utf8,
    /// UTF-16 code units: the protocol's default.
    Utf16,
    /// Characters.
    Utf32,
}

impl Encoding {
    /// The encoding to use, of those the client offers (`general.positionEncodings`): UTF-8 when
    /// offered (the linter's own unit), then UTF-32, else UTF-16, which every client supports.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let offered = offered.unwrap_or_default();
        if offered.contains(&PositionEncodingKind::UTF8) {
            Encoding::Utf8
        } else if offered.contains(&PositionEncodingKind::UTF32) {
            Encoding::Utf32
        } else {
            Encoding::Utf16
        }
    }

    /// As the protocol names it.
    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn units(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
            Encoding::Utf32 => 1,
        }
    }
}

/// A text's line starts, to turn byte offsets into positions and back.
pub struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    /// Indexes `text` (lines end at `\n`; a `\r` before it belongs to the line's end).
    pub fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Lines { text, starts }
    }

    /// The position of byte `offset` (clamped to the text, and back to a character boundary).
    pub fn position(&self, offset: usize, encoding: Encoding) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let character = self.text[start..offset].chars().map(|c| encoding.units(c)).sum::<usize>();
        Position { line: to_u32(line), character: to_u32(character) }
    }

    /// The byte offset of `position`: a line past the end is the end of the text, a character
    /// past the end of its line is the line's end, and one inside a character is its start.
    pub fn offset(&self, position: Position, encoding: Encoding) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else { return self.text.len() };
        let end = self.starts.get(position.line as usize + 1).map_or(self.text.len(), |&next| next - 1);
        let end = if end > start && self.text.as_bytes()[end - 1] == b'\r' { end - 1 } else { end };
        let target = position.character as usize;
        let mut units = 0;
        for (i, c) in self.text[start..end].char_indices() {
            units += encoding.units(c);
            if units > target {
                return start + i;
            }
        }
        end
    }

    /// The range of a span.
    pub fn range(&self, span: Span, encoding: Encoding) -> Range {
        Range { start: self.position(span.start, encoding), end: self.position(span.end, encoding) }
    }

    /// The span of a range.
    pub fn span(&self, range: Range, encoding: Encoding) -> Span {
        let start = self.offset(range.start, encoding);
        Span::new(start, self.offset(range.end, encoding).max(start))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The path of a `file:` URI (percent-decoded); `None` for any other scheme.
pub fn path_of(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file:///home/…` (no host) or `file://localhost/home/…`; no query or fragment.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let bytes = rest.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    Some(PathBuf::from(String::from_utf8(decoded).ok()?))
}

/// The `file:` URI of an absolute path.
pub fn uri_of(path: &Path) -> Option<Uri> {
    let mut uri = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&uri).ok()
}

/// A finding as a diagnostic of the document `uri` whose text is `lines`.
pub fn diagnostic(finding: &Finding, uri: &Uri, lines: &Lines<'_>, encoding: Encoding) -> Diagnostic {
    let severity = match finding.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
    };
    let related: Vec<DiagnosticRelatedInformation> = finding
        .labels
        .iter()
        .map(|label| DiagnosticRelatedInformation {
            location: Location { uri: uri.clone(), range: lines.range(label.span, encoding) },
            message: label.message.clone(),
        })
        .collect();
    let message = if finding.help.is_empty() {
        finding.message.clone()
    } else {
        format!("{}\nhelp: {}", finding.message, finding.help)
    };
    Diagnostic {
        range: lines.range(finding.span, encoding),
        severity: Some(severity),
        code: Some(NumberOrString::String(finding.rule.clone())),
        code_description: None,
        source: Some("agent-events".to_owned()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_in_the_negotiated_unit() {
        // "é" is 2 bytes, 1 UTF-16 unit; "😀" is 4 bytes, 2 UTF-16 units; "漢" 3 bytes, 1 unit.
        let text = "aé😀漢x\nsecond\r\nthird";
        let lines = Lines::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(lines.position(x, Encoding::Utf8), Position::new(0, 10));
        assert_eq!(lines.position(x, Encoding::Utf16), Position::new(0, 5));
        assert_eq!(lines.position(x, Encoding::Utf32), Position::new(0, 4));
        for encoding in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            for offset in text.char_indices().map(|(i, _)| i).filter(|&i| !text[..i].ends_with('\r')) {
                assert_eq!(
                    lines.offset(lines.position(offset, encoding), encoding),
                    offset,
                    "{encoding:?} at {offset}"
                );
            }
        }
        let third = text.find("third").unwrap();
        assert_eq!(lines.position(third, Encoding::Utf16), Position::new(2, 0));
        // Past the end of a line: its end, before the `\r`.
        assert_eq!(lines.offset(Position::new(1, 99), Encoding::Utf16), text.find("\r\n").unwrap());
        assert_eq!(lines.offset(Position::new(9, 0), Encoding::Utf16), text.len());
        // Inside a surrogate pair: the character's start.
        assert_eq!(lines.offset(Position::new(0, 3), Encoding::Utf16), text.find('😀').unwrap());
        // A byte offset inside a character goes back to its start.
        assert_eq!(lines.position(text.find('😀').unwrap() + 1, Encoding::Utf16), Position::new(0, 2));
    }

    #[test]
    fn file_uris_round_trip_with_percent_encoding() {
        let path = Path::new("/tmp/my project/naïve #1.py");
        let uri = uri_of(path).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/my%20project/na%C3%AFve%20%231.py");
        assert_eq!(path_of(&uri).unwrap(), path);
        assert_eq!(
            path_of(&Uri::from_str("file://localhost/a/b.rs").unwrap()).unwrap(),
            Path::new("/a/b.rs")
        );
        assert_eq!(path_of(&Uri::from_str("untitled:Untitled-1").unwrap()), None);
    }

    #[test]
    fn utf8_is_chosen_when_offered_else_utf16() {
        assert_eq!(Encoding::negotiate(None), Encoding::Utf16);
        assert_eq!(Encoding::negotiate(Some(&[PositionEncodingKind::UTF16])), Encoding::Utf16);
        assert_eq!(
            Encoding::negotiate(Some(&[PositionEncodingKind::UTF16, PositionEncodingKind::UTF8])),
            Encoding::Utf8
        );
    }
}
