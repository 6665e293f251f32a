//! YAML into the core's positioned [`Node`] tree, so YAML findings carry line and column
//! like JSON and TOML ones.
//!
//! Built on `yaml-rust2`'s event parser, whose markers give each event's position.
//! Anchors and aliases are expanded (with a budget against alias bombs); plain scalars are
//! typed by the YAML 1.2 core schema.

use std::collections::HashMap;
use std::ops::Range;

use scopegate_core::source::{Key, Node, Problem, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// How many nodes alias expansion may copy in one document.
const ALIAS_BUDGET: usize = 1_000_000;

/// How deep sequences and mappings may nest (aliases expanded), as in JSON
/// ([`super::json::MAX_DEPTH`]): deeper is a located error, never a deep tree.
pub const MAX_DEPTH: usize = super::json::MAX_DEPTH;

/// Parses YAML text (the first document of the stream) into a [`Node`] tree.
pub fn parse(text: &str) -> Result<Node, Problem> {
    let offsets = CharOffsets::new(text);
    let mut builder = Builder {
        offsets: &offsets,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        error: None,
        budget: ALIAS_BUDGET,
    };
    let mut parser = Parser::new_from_str(text);
    // The events are pulled one by one (`Parser::load` recurses once per nesting level: a
    // deeply nested document would overflow the stack), up to the end of the first
    // document or the builder's first error (a depth past `MAX_DEPTH` included).
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            let at = offsets.byte(e.marker().index());
            Problem::new(at..at, format!("invalid YAML: {}", e.info()))
        })?;
        let done = matches!(event, Event::DocumentEnd | Event::StreamEnd);
        builder.on_event(event, mark);
        if let Some(e) = builder.error {
            return Err(e);
        }
        if done {
            break;
        }
    }
    Ok(builder.root.unwrap_or(Node {
        span: 0..0,
        value: Value::Null,
    }))
}

/// Turns the parser's character indices into byte offsets.
struct CharOffsets {
    /// Byte offset of each character, when the text is not ASCII.
    table: Option<Vec<usize>>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let table = if text.is_ascii() {
            None
        } else {
            Some(text.char_indices().map(|(i, _)| i).collect())
        };
        Self {
            table,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.len),
            Some(t) => t.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
    },
}

struct Builder<'o> {
    offsets: &'o CharOffsets,
    stack: Vec<Frame>,
    /// Each anchored node with its size and depth.
    anchors: HashMap<usize, (Node, usize, usize)>,
    root: Option<Node>,
    error: Option<Problem>,
    budget: usize,
}

/// How deep a node's collections nest (a scalar: 0). Recursive, on trees of at most
/// [`MAX_DEPTH`] levels.
fn depth(node: &Node) -> usize {
    match &node.value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Table(entries) => 1 + entries.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

fn size(node: &Node) -> usize {
    match &node.value {
        Value::Array(items) => 1 + items.iter().map(size).sum::<usize>(),
        Value::Table(entries) => 1 + entries.iter().map(|(_, v)| size(v)).sum::<usize>(),
        _ => 1,
    }
}

fn plain_scalar(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = s.trim_start_matches(['+', '-']);
    if digits.starts_with(|c: char| c.is_ascii_digit())
        || (digits.starts_with('.') && digits.len() > 1)
    {
        if let Ok(i) = s.parse::<i64>() {
            return Value::Integer(i);
        }
        if let Some(hex) = s.strip_prefix("0x") {
            if let Ok(i) = i64::from_str_radix(hex, 16) {
                return Value::Integer(i);
            }
        }
        if let Some(oct) = s.strip_prefix("0o") {
            if let Ok(i) = i64::from_str_radix(oct, 8) {
                return Value::Integer(i);
            }
        }
        if s.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) {
            if let Ok(f) = s.parse::<f64>() {
                return Value::Float(f);
            }
        }
    }
    Value::String(s.to_string())
}

impl Builder<'_> {
    fn fail(&mut self, span: Range<usize>, message: String) {
        if self.error.is_none() {
            self.error = Some(Problem::new(span, message));
        }
    }

    /// Places a finished value into its parent (or as the root).
    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let n = size(&node);
            let d = depth(&node);
            self.anchors.insert(anchor, (node.clone(), n, d));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => {
                    let span = node.span.clone();
                    match node.value {
                        Value::String(name) => *key = Some(Key { name, span }),
                        Value::Integer(i) => {
                            *key = Some(Key {
                                name: i.to_string(),
                                span,
                            })
                        }
                        Value::Bool(b) => {
                            *key = Some(Key {
                                name: b.to_string(),
                                span,
                            })
                        }
                        Value::Null => {
                            *key = Some(Key {
                                name: String::new(),
                                span,
                            })
                        }
                        other => self.fail(
                            span,
                            format!(
                                "invalid YAML: a mapping key must be a scalar, not {}",
                                other.kind()
                            ),
                        ),
                    }
                }
            },
        }
    }

    /// Whether the next finished value is a mapping key (then scalars keep their text).
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }
}

fn too_deep() -> String {
    format!("invalid YAML: sequences and mappings nest deeper than {MAX_DEPTH} levels")
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = self.offsets.byte(mark.index());
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let end = at + text.len();
                let is_str_tag = tag
                    .as_ref()
                    .is_some_and(|t| t.suffix == "str" || t.suffix == "tag:yaml.org,2002:str");
                let value = if style != TScalarStyle::Plain || is_str_tag || self.expecting_key() {
                    Value::String(text)
                } else {
                    plain_scalar(&text)
                };
                self.finish(
                    Node {
                        span: at..end,
                        value,
                    },
                    anchor,
                );
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.fail(at..at, too_deep());
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq {
                start: at,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                start: at,
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    start,
                    anchor,
                    items,
                }) => self.finish(
                    Node {
                        span: start..at.max(start),
                        value: Value::Array(items),
                    },
                    anchor,
                ),
                Some(Frame::Map {
                    start,
                    anchor,
                    entries,
                    ..
                }) => {
                    // A block mapping's start event comes after its first key was scanned.
                    let start = entries
                        .first()
                        .map_or(start, |(k, _)| k.span.start.min(start));
                    self.finish(
                        Node {
                            span: start..at.max(start),
                            value: Value::Table(entries),
                        },
                        anchor,
                    )
                }
                None => self.fail(at..at, "invalid YAML: unbalanced collection end".into()),
            },
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((_, _, d)) if self.stack.len() + d > MAX_DEPTH => {
                    self.fail(at..at, too_deep());
                }
                Some((node, n, _)) if *n <= self.budget => {
                    self.budget -= *n;
                    let mut node = node.clone();
                    node.span = at..at;
                    self.finish(node, 0);
                }
                Some(_) => self.fail(
                    at..at,
                    "invalid YAML: aliases expand to too many nodes".into(),
                ),
                None => self.fail(at..at, "invalid YAML: unknown alias".into()),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_becomes_a_positioned_tree() {
        let text = "openapi: 3.0.0\npaths:\n  /a:\n    post:\n      security: [{o: [x]}]\n";
        let n = parse(text).unwrap();
        assert_eq!(n.get("openapi").unwrap().as_str(), Some("3.0.0"));
        let post = n
            .get("paths")
            .unwrap()
            .get("/a")
            .unwrap()
            .get("post")
            .unwrap();
        let sec = post.get("security").unwrap().as_array().unwrap();
        assert_eq!(sec.len(), 1);
        let src = scopegate_core::Source::new("a.yaml", text);
        assert_eq!(src.location(post.span.start).line, 5);
    }

    #[test]
    fn scalars_are_typed_and_aliases_expanded() {
        let n = parse("a: &x {k: 1}\nb: *x\nc: 'true'\nd: true\ne: 1.5\nf: ~\n200: ok\n").unwrap();
        assert_eq!(
            n.get("b").unwrap().get("k").unwrap().value,
            Value::Integer(1)
        );
        assert_eq!(n.get("c").unwrap().as_str(), Some("true"));
        assert_eq!(n.get("d").unwrap().value, Value::Bool(true));
        assert_eq!(n.get("e").unwrap().value, Value::Float(1.5));
        assert_eq!(n.get("f").unwrap().value, Value::Null);
        assert_eq!(n.get("200").unwrap().as_str(), Some("ok"));
    }

    #[test]
    fn nesting_is_bounded_with_a_located_error() {
        let ok = format!("{}x", "- ".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        for text in [
            format!("a:\n  {}x\n", "- ".repeat(50_000)),
            format!("a: {}{}\n", "[".repeat(50_000), "]".repeat(50_000)),
            format!("{}x", "- ".repeat(MAX_DEPTH + 1)),
        ] {
            let e = parse(&text).unwrap_err();
            // Flow collections hit the scanner's own limit first.
            assert!(
                e.message.contains("nest deeper than 256")
                    || e.message.contains("recursion limit exceeded"),
                "{}",
                e.message
            );
            assert!(e.span.start > 0 && e.span.start < 1_000, "{:?}", e.span);
        }
        // An alias does not get around the bound.
        let inner = format!("{}x", "[".repeat(200)) + &"]".repeat(200);
        let text = format!(
            "a: &d {inner}\nb: {}*d{}\n",
            "[".repeat(100),
            "]".repeat(100)
        );
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("nest deeper"), "{}", e.message);
    }

    #[test]
    fn errors_are_located() {
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
    }
}
