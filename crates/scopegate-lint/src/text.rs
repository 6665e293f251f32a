//! A document's text and name, turning byte offsets into line and column like the core's
//! [`Source`], but with the line index built on first use, with `memchr`: a large OpenAPI
//! document needs a few dozen locations, or none, and indexing its every line up front
//! cost more than the rules.

use std::borrow::Cow;
use std::cell::OnceCell;

use scopegate_core::source::Location;
use scopegate_core::Source;

/// Something that locates byte offsets of a named text: [`Source`] or [`Text`].
pub trait Locate {
    /// The name the text was read from.
    fn name(&self) -> &str;
    /// The one-based line and column (in characters) of a byte offset, clamped to the text.
    fn location(&self, offset: usize) -> Location;
}

impl Locate for Source {
    fn name(&self) -> &str {
        Source::name(self)
    }

    fn location(&self, offset: usize) -> Location {
        Source::location(self, offset)
    }
}

/// A named text.
#[derive(Debug)]
pub struct Text(Inner);

#[derive(Debug)]
enum Inner {
    /// A core [`Source`] (what a native manifest is read with).
    Source(Source),
    /// The text, and its line starts once asked for.
    Lazy {
        name: String,
        text: String,
        line_starts: OnceCell<Vec<usize>>,
    },
}

impl Text {
    /// Wraps `text`, read from `name`; lines are indexed on the first [`Text::location`].
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Text(Inner::Lazy {
            name: name.into(),
            text: text.into(),
            line_starts: OnceCell::new(),
        })
    }

    /// Wraps a core [`Source`].
    pub fn from_source(source: Source) -> Self {
        Text(Inner::Source(source))
    }

    /// Turns this into a core [`Source`] (without copying the text).
    pub fn into_source(self) -> Source {
        match self.0 {
            Inner::Source(s) => s,
            Inner::Lazy { name, text, .. } => Source::new(name, text),
        }
    }

    /// The core [`Source`] of this text (a copy of the text unless it is one).
    pub fn source(&self) -> Cow<'_, Source> {
        match &self.0 {
            Inner::Source(s) => Cow::Borrowed(s),
            Inner::Lazy { name, text, .. } => Cow::Owned(Source::new(name.as_str(), text.as_str())),
        }
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        match &self.0 {
            Inner::Source(s) => s.text(),
            Inner::Lazy { text, .. } => text,
        }
    }
}

impl Locate for Text {
    fn name(&self) -> &str {
        match &self.0 {
            Inner::Source(s) => s.name(),
            Inner::Lazy { name, .. } => name,
        }
    }

    fn location(&self, offset: usize) -> Location {
        let (text, line_starts) = match &self.0 {
            Inner::Source(s) => return s.location(offset),
            Inner::Lazy {
                text, line_starts, ..
            } => (text, line_starts),
        };
        let starts = line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
            starts
        });
        // As `Source::location`.
        let offset = offset.min(text.len());
        let line_index = match starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let line_start = starts.get(line_index).copied().unwrap_or(0);
        let column = text
            .get(line_start..offset)
            .map_or(offset - line_start, |s| s.chars().count())
            + 1;
        Location {
            line: line_index + 1,
            column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn locations_are_the_core_sources(
            text in "(a|é|\n|\r\n|\u{1F600}| ){0,40}",
            offsets in prop::collection::vec(0usize..200, 1..8),
        ) {
            let source = Source::new("f.json", text.as_str());
            let lazy = Text::new("f.json", text.as_str());
            for offset in offsets {
                prop_assert_eq!(lazy.location(offset), source.location(offset));
            }
            prop_assert_eq!(Locate::name(&lazy), "f.json");
            prop_assert_eq!(lazy.text(), text.as_str());
            let core = lazy.source();
            prop_assert_eq!(core.text(), text.as_str());
            prop_assert_eq!(lazy.into_source().location(3), source.location(3));
        }
    }
}
