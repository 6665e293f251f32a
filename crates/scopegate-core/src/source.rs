//! Source documents with positions.
//!
//! Policies and manifests arrive as TOML or JSON text. Both are parsed into one
//! [`Node`] tree whose every value and key carries its byte span, so that every
//! problem found later (an unknown scope, a cycle in `extends`, …) can be reported
//! as `file:line:column`, whichever syntax the document used.

use std::cell::OnceCell;
use std::fmt;
use std::ops::Range;

/// A text document and what is needed to turn byte offsets into line and column.
///
/// The line index is built on the first location asked for (with `memchr`): a large
/// document often needs a few dozen locations, or none, and indexing every line up front
/// cost more than linting it. This is the one located-text type of the workspace: the
/// linter reads its inputs with it too.
#[derive(Debug, Clone)]
pub struct Source {
    name: String,
    text: String,
    line_starts: OnceCell<Vec<usize>>,
}

/// A one-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Location {
    /// One-based line number.
    pub line: usize,
    /// One-based column number, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Source {
    /// Wraps `text`, read from the file (or stream) called `name`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
            line_starts: OnceCell::new(),
        }
    }

    /// The byte offset of every line start, built on first use.
    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let bytes = self.text.as_bytes();
            // Sized exactly: growing it by doubling would add a transient copy to the peak.
            let mut starts = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
            starts.push(0);
            starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
            starts
        })
    }

    /// The name the document was read from (usually a path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The line and column of a byte offset (clamped to the text).
    pub fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line_starts = self.line_starts();
        let line_index = match line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let line_start = line_starts.get(line_index).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start..offset)
            .map_or(offset - line_start, |s| s.chars().count())
            + 1;
        Location {
            line: line_index + 1,
            column,
        }
    }

    /// Which syntax the document is written in, from its name, else from its first character.
    pub fn syntax(&self) -> Syntax {
        let lower = self.name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Syntax::Json
        } else if lower.ends_with(".toml") {
            Syntax::Toml
        } else if self.text.trim_start().starts_with('{') {
            Syntax::Json
        } else {
            Syntax::Toml
        }
    }

    /// Parses the document into a [`Node`] tree, in the syntax of [`Source::syntax`].
    pub fn parse(&self) -> Result<Node, Problem> {
        self.parse_as(self.syntax())
    }

    /// Parses the document into a [`Node`] tree, in `syntax` whatever its name says.
    pub fn parse_as(&self, syntax: Syntax) -> Result<Node, Problem> {
        match syntax {
            Syntax::Json => self.parse_json(),
            Syntax::Toml => self.parse_toml(),
        }
    }

    fn parse_json(&self) -> Result<Node, Problem> {
        let value: json_spanned_value::spanned::Value = json_spanned_value::from_str(&self.text)
            .map_err(|e| {
                // serde_json reports one-based line and column; turn them back into an offset.
                let offset = self.offset_of(e.line(), e.column());
                let message = strip_serde_position(&e.to_string());
                Problem::new(offset..offset, format!("invalid JSON: {message}"))
            })?;
        Ok(Node::from_json(value))
    }

    fn parse_toml(&self) -> Result<Node, Problem> {
        let table = toml::de::DeTable::parse(&self.text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            Problem::new(span, format!("invalid TOML: {}", e.message().trim()))
        })?;
        let span = table.span();
        Ok(Node {
            span,
            value: Value::Table(
                table
                    .into_inner()
                    .into_iter()
                    .map(|(k, v)| (Key::from_toml(k), Node::from_toml(v)))
                    .collect(),
            ),
        })
    }

    fn offset_of(&self, line: usize, column: usize) -> usize {
        let start = self
            .line_starts()
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let rest = self.text.get(start..).unwrap_or("");
        let byte = rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i);
        start + byte
    }
}

fn strip_serde_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_string(),
        None => message.to_string(),
    }
}

/// The syntax of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JSON.
    Json,
    /// TOML.
    Toml,
}

/// A problem found in a document, located by byte span. [`Source::location`] turns it
/// into a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Byte span of the offending text.
    pub span: Range<usize>,
    /// What is wrong, lowercase, user input in backticks.
    pub message: String,
}

impl Problem {
    /// A problem at `span`.
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
        }
    }
}

/// A key of a table, with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Byte span of the key.
    pub span: Range<usize>,
}

impl Key {
    fn from_toml(k: toml::Spanned<toml::de::DeString<'_>>) -> Self {
        let span = k.span();
        Self {
            name: k.into_inner().into_owned(),
            span,
        }
    }
}

/// A parsed value with its byte span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Byte span of the value.
    pub span: Range<usize>,
    /// The value.
    pub value: Value,
}

/// The value of a [`Node`]: the data model shared by TOML and JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// JSON `null` (TOML has none).
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A float (or an integer too large for `i64`).
    Float(f64),
    /// A string.
    String(String),
    /// A TOML date or time, kept as its text.
    Datetime(String),
    /// An array.
    Array(Vec<Node>),
    /// A table (object), in document order.
    Table(Vec<(Key, Node)>),
}

impl Value {
    /// A short name of the value's type for error messages (`a string`, `a table`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Datetime(_) => "a datetime",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }
}

impl Node {
    fn from_toml(v: toml::Spanned<toml::de::DeValue<'_>>) -> Self {
        use toml::de::DeValue;
        let span = v.span();
        let value = match v.into_inner() {
            DeValue::String(s) => Value::String(s.into_owned()),
            DeValue::Integer(i) => {
                let digits: String = i.as_str().chars().filter(|c| *c != '_').collect();
                let digits = digits
                    .trim_start_matches("0x")
                    .trim_start_matches("0o")
                    .trim_start_matches("0b");
                match i64::from_str_radix(digits, i.radix()) {
                    Ok(n) => Value::Integer(n),
                    Err(_) => Value::Float(digits.parse().unwrap_or(f64::NAN)),
                }
            }
            DeValue::Float(f) => Value::Float(
                f.as_str()
                    .chars()
                    .filter(|c| *c != '_')
                    .collect::<String>()
                    .parse()
                    .unwrap_or(f64::NAN),
            ),
            DeValue::Boolean(b) => Value::Bool(b),
            DeValue::Datetime(d) => Value::Datetime(d.to_string()),
            DeValue::Array(a) => Value::Array(a.into_iter().map(Node::from_toml).collect()),
            DeValue::Table(t) => Value::Table(
                t.into_iter()
                    .map(|(k, v)| (Key::from_toml(k), Node::from_toml(v)))
                    .collect(),
            ),
        };
        Node { span, value }
    }

    fn from_json(v: json_spanned_value::spanned::Value) -> Self {
        use json_spanned_value::Value as J;
        let span = v.range();
        let value = match v.into_inner() {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Integer(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::String(s),
            J::Array(a) => Value::Array(a.into_iter().map(Node::from_json).collect()),
            J::Object(o) => Value::Table(
                o.into_iter()
                    .map(|(k, v)| {
                        let span = k.range();
                        (
                            Key {
                                name: k.into_inner(),
                                span,
                            },
                            Node::from_json(v),
                        )
                    })
                    .collect(),
            ),
        };
        Node { span, value }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a table.
    pub fn as_table(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entry `key` of a table.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_table()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }
}

/// Collects the problems of one document while a loader walks its [`Node`] tree.
///
/// Loaders report every problem they can find instead of stopping at the first.
#[derive(Debug, Default)]
pub struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    /// Records a problem.
    pub fn push(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.list.push(Problem::new(span, message));
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The recorded problems.
    pub fn into_vec(self) -> Vec<Problem> {
        self.list
    }

    /// Expects `node` to be a table; records a problem and returns `None` otherwise.
    pub fn table<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Key, Node)]> {
        let table = node.as_table();
        if table.is_none() {
            self.push(
                node.span.clone(),
                format!("{what} must be a table, found {}", node.value.kind()),
            );
        }
        table
    }

    /// Expects `node` to be a string.
    pub fn string<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
        let s = node.as_str();
        if s.is_none() {
            self.push(
                node.span.clone(),
                format!("{what} must be a string, found {}", node.value.kind()),
            );
        }
        s
    }

    /// Expects `node` to be a boolean.
    pub fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.push(
                    node.span.clone(),
                    format!("{what} must be a boolean, found {}", node.value.kind()),
                );
                None
            }
        }
    }

    /// Expects `node` to be an array of strings; returns the strings with their spans.
    pub fn strings<'n>(&mut self, node: &'n Node, what: &str) -> Vec<(&'n str, Range<usize>)> {
        let Some(items) = node.as_array() else {
            self.push(
                node.span.clone(),
                format!(
                    "{what} must be an array of strings, found {}",
                    node.value.kind()
                ),
            );
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| {
                self.string(item, &format!("each item of {what}"))
                    .map(|s| (s, item.span.clone()))
            })
            .collect()
    }

    /// Records a problem for every key of `table` not in `known`.
    pub fn unknown_keys(&mut self, table: &[(Key, Node)], known: &[&str], what: &str) {
        for (key, _) in table {
            if !known.contains(&key.name.as_str()) {
                self.push(
                    key.span.clone(),
                    format!(
                        "unknown field `{}` in {what}; expected one of: {}",
                        key.name,
                        known.join(", ")
                    ),
                );
            }
        }
    }
}

/// Problems of one document, each located: the error of every loader in this crate, and of
/// the linter's inputs (`scopegate_lint::input::InputError` is this type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    /// Where each problem is: the file name, line and column.
    pub items: Vec<Diagnostic>,
}

/// One located problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File name the problem is in.
    pub file: String,
    /// Line and column.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.location, self.message)
    }
}

impl Diagnostics {
    /// One problem at byte `offset` of `source`.
    pub fn at(source: &Source, offset: usize, message: impl Into<String>) -> Self {
        Self {
            items: vec![Diagnostic {
                file: source.name().to_string(),
                location: source.location(offset),
                message: message.into(),
            }],
        }
    }

    /// One problem about a whole file (which could not be read, say), located at 1:1.
    pub fn file(name: &str, message: impl Into<String>) -> Self {
        Self {
            items: vec![Diagnostic {
                file: name.to_string(),
                location: Location { line: 1, column: 1 },
                message: message.into(),
            }],
        }
    }

    /// Locates `problems` in `source`, sorted by position.
    pub fn new(source: &Source, problems: Vec<Problem>) -> Self {
        let mut items: Vec<Diagnostic> = problems
            .into_iter()
            .map(|p| Diagnostic {
                file: source.name().to_string(),
                location: source.location(p.span.start),
                message: p.message,
            })
            .collect();
        items.sort_by_key(|d| d.location);
        items.dedup();
        Self { items }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_and_count_characters() {
        let s = Source::new("x.toml", "a = 1\nbé = 2\n");
        assert_eq!(s.location(0), Location { line: 1, column: 1 });
        assert_eq!(s.location(6), Location { line: 2, column: 1 });
        // byte 9 is the space after the two-byte `é`: column 3; byte 10, the `=`: column 4
        assert_eq!(s.location(9), Location { line: 2, column: 3 });
        assert_eq!(s.location(10), Location { line: 2, column: 4 });
    }

    proptest::proptest! {
        #[test]
        fn locations_count_lines_and_characters(
            text in "(a|é|\n|\r\n|\u{1F600}| ){0,40}",
            offset in 0usize..200,
        ) {
            let s = Source::new("f.json", text.as_str());
            let clamped = offset.min(text.len());
            let before = text.get(..clamped);
            let loc = s.location(offset);
            if let Some(before) = before {
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                proptest::prop_assert_eq!(loc, Location { line, column });
            }
            proptest::prop_assert!(loc.line >= 1 && loc.column >= 1);
        }
    }

    #[test]
    fn toml_and_json_give_the_same_tree_shape() {
        let t = Source::new("a.toml", "x = [\"a\", \"b\"]\n[y]\nz = true\n")
            .parse()
            .unwrap();
        let j = Source::new("a.json", r#"{"x": ["a", "b"], "y": {"z": true}}"#)
            .parse()
            .unwrap();
        for n in [&t, &j] {
            let x: Vec<_> = n
                .get("x")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(x, ["a", "b"]);
            assert_eq!(
                n.get("y").unwrap().get("z").unwrap().value,
                Value::Bool(true)
            );
        }
    }

    #[test]
    fn json_spans_point_at_values() {
        let src = Source::new("a.json", "{\n  \"k\": \"v\"\n}");
        let n = src.parse().unwrap();
        let v = n.get("k").unwrap();
        assert_eq!(src.location(v.span.start), Location { line: 2, column: 8 });
    }

    #[test]
    fn syntax_errors_are_located() {
        let src = Source::new("a.json", "{\n  \"k\": \n}");
        let p = src.parse().unwrap_err();
        assert!(p.message.starts_with("invalid JSON"), "{}", p.message);
        assert_eq!(src.location(p.span.start).line, 3);
        let src = Source::new("a.toml", "a = \n");
        let p = src.parse().unwrap_err();
        assert!(p.message.starts_with("invalid TOML"), "{}", p.message);
        assert_eq!(src.location(p.span.start).line, 1);
    }
}
