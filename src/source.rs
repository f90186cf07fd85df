//! Positions in a source file: byte spans and their 1-based line/column (columns in characters).

/// A byte range in one file, end exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end: end.max(start) }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// Whether `other` lies within this span.
    pub fn contains(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// A 1-based line and column, the column counted in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Maps byte offsets to lines and columns.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The position of a byte offset (clamped to the text, moved back to a char boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|s| *s <= offset) - 1;
        let column = text[self.starts[line]..offset].chars().count() + 1;
        Position { line: line + 1, column }
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset)
    }

    /// The byte offset where a 1-based line starts, if the text has that line.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        line.checked_sub(1).and_then(|i| self.starts.get(i)).copied()
    }

    /// The number of lines.
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

/// The whitespace that starts the line holding `offset`.
pub fn indentation_at(text: &str, offset: usize) -> &str {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// For each of `items`, the innermost of `intervals` that holds it (its value), when the
/// intervals nest, as spans from one syntax tree do: one sweep over both in order of position
/// with a stack of the intervals open there, linear after sorting. Of two intervals with one
/// span, the one listed first is the inner.
pub fn innermost<T: Copy>(mut intervals: Vec<(Span, T)>, items: &[Span]) -> Vec<Option<T>> {
    // Outer before inner where two start together; of equal spans, the first listed on top.
    let order_of: Vec<usize> = (0..intervals.len()).collect();
    let mut keyed: Vec<(Span, usize)> = intervals.iter().map(|(s, _)| *s).zip(order_of).collect();
    keyed.sort_by_key(|(s, i)| (s.start, std::cmp::Reverse(s.end), std::cmp::Reverse(*i)));
    let sorted: Vec<(Span, T)> = keyed.iter().map(|(_, i)| intervals[*i]).collect();
    intervals.clear();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|i| items[*i].start);
    let mut found = vec![None; items.len()];
    let mut open: Vec<(Span, T)> = Vec::new();
    let mut next = 0;
    for i in order {
        let item = items[i];
        while let Some(&(span, value)) = sorted.get(next).filter(|(s, _)| s.start <= item.start) {
            while open.last().is_some_and(|(s, _)| s.end < span.start) {
                open.pop();
            }
            open.push((span, value));
            next += 1;
        }
        while open.last().is_some_and(|(s, _)| s.end < item.start) {
            open.pop();
        }
        found[i] = open.iter().rev().find(|(s, _)| s.contains(item)).map(|(_, v)| *v);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn innermost_finds_the_smallest_enclosing_interval() {
        let intervals = vec![(Span::new(0, 100), 'a'), (Span::new(10, 20), 'b'), (Span::new(30, 40), 'c')];
        let items =
            [Span::new(12, 14), Span::new(25, 26), Span::new(35, 36), Span::new(5, 120), Span::new(10, 20)];
        assert_eq!(innermost(intervals, &items), [Some('b'), Some('a'), Some('c'), None, Some('b')]);
        let same = vec![(Span::new(0, 9), 1), (Span::new(0, 9), 2)];
        assert_eq!(innermost(same, &[Span::new(1, 2)]), [Some(1)]);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "ab\né x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), Position { line: 1, column: 1 });
        assert_eq!(index.position(text, 3), Position { line: 2, column: 1 });
        assert_eq!(index.position(text, 6), Position { line: 2, column: 3 });
        assert_eq!(index.position(text, 4), Position { line: 2, column: 1 }, "inside a char: moved back");
        assert_eq!(index.line(6), 2);
        assert_eq!(index.line_start(2), Some(3));
    }
}
