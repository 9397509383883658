//! Byte offsets to 1-based line and column numbers.

use std::ops::Range;

/// A 1-based line and column; columns count Unicode scalar values (bytes for invalid UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number.
    pub column: usize,
}

/// Where a match starts and ends; `end` is the position just after the last character, as in
/// SARIF regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// The first character.
    pub start: Position,
    /// Just after the last character.
    pub end: Position,
}

/// Converts offsets to positions, cheaply when they are asked for in increasing order.
pub(crate) struct Locator<'h> {
    haystack: &'h [u8],
    offset: usize,
    line: usize,
    line_start: usize,
    /// Added to every line number (lines before this haystack, for streamed inputs).
    line_base: usize,
}

/// Counts `\n` bytes. Sums bytes in blocks of 255 into a `u8`, which compiles to wide vector
/// compares; a `usize` counter (or one memchr call per newline) runs several times slower.
pub(crate) fn count_newlines(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|block| usize::from(block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

impl<'h> Locator<'h> {
    pub(crate) fn new(haystack: &'h [u8]) -> Self {
        Self::with_line_base(haystack, 0)
    }

    pub(crate) fn with_line_base(haystack: &'h [u8], line_base: usize) -> Self {
        Self {
            haystack,
            offset: 0,
            line: 1,
            line_start: 0,
            line_base,
        }
    }

    pub(crate) fn position(&mut self, offset: usize) -> Position {
        let offset = offset.min(self.haystack.len());
        if offset < self.line_start {
            self.offset = 0;
            self.line = 1;
            self.line_start = 0;
        }
        if offset > self.offset {
            let skipped = &self.haystack[self.offset..offset];
            let newlines = count_newlines(skipped);
            if newlines > 0 {
                self.line += newlines;
                if let Some(last) = memchr::memrchr(b'\n', skipped) {
                    self.line_start = self.offset + last + 1;
                }
            }
            self.offset = offset;
        }
        let column = 1 + self.haystack[self.line_start..offset]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count();
        Position {
            line: self.line + self.line_base,
            column,
        }
    }

    pub(crate) fn span(&mut self, range: Range<usize>) -> Span {
        let start = self.position(range.start);
        let end = self.position(range.end);
        Span { start, end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let text = "ab\ncdé f\n\nx";
        let mut loc = Locator::new(text.as_bytes());
        assert_eq!(loc.position(0), Position { line: 1, column: 1 });
        assert_eq!(loc.position(4), Position { line: 2, column: 2 });
        // 'f' follows a two-byte character: column counts characters.
        let f = text.find('f').unwrap();
        assert_eq!(loc.position(f), Position { line: 2, column: 5 });
        let x = text.find('x').unwrap();
        assert_eq!(loc.position(x), Position { line: 4, column: 1 });
        // Going backwards restarts correctly.
        assert_eq!(loc.position(1), Position { line: 1, column: 2 });
    }

    #[test]
    fn line_base_offsets_streamed_chunks() {
        let mut loc = Locator::with_line_base(b"a\nb", 10);
        assert_eq!(
            loc.position(2),
            Position {
                line: 12,
                column: 1
            }
        );
    }
}
