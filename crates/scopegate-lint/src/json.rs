//! Strict JSON into the core's positioned [`Node`] tree, with `jsonc-parser` (comments and
//! trailing commas refused), which reads a large document several times faster than a
//! reader-based parser: OpenAPI documents run to megabytes.

use scopegate_core::source::{Key, Node, Problem, Value};

use jsonc_parser::ast::{ObjectPropName, Value as J};
use jsonc_parser::{parse_to_ast, CollectOptions, ParseOptions};

/// How deeply arrays and objects may nest (the parser and the tree walks recurse).
pub const MAX_DEPTH: usize = 256;

/// The offset where nesting first exceeds [`MAX_DEPTH`], if it does (strings skipped with
/// `memchr`: most of a document's bytes are inside strings).
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                // Skip the string: to the next unescaped quote.
                let mut j = i + 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', bytes.get(j..)?) {
                        Some(k) if bytes.get(j + k) == Some(&b'\\') => j += k + 2,
                        Some(k) => {
                            j += k;
                            break;
                        }
                        None => return None,
                    }
                }
                i = j;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parses JSON text into a [`Node`] tree whose spans are byte offsets into `text`.
pub fn parse(text: &str) -> Result<Node, Problem> {
    if let Some(at) = too_deep(text) {
        return Err(Problem::new(
            at..at,
            format!("invalid JSON: arrays and objects nest deeper than {MAX_DEPTH} levels"),
        ));
    }
    let options = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
    };
    let result = parse_to_ast(text, &CollectOptions::default(), &options).map_err(|e| {
        let r = e.range();
        Problem::new(r.start..r.end, format!("invalid JSON: {}", e.kind()))
    })?;
    match result.value {
        Some(v) => Ok(convert(v)),
        None => Err(Problem::new(
            0..0,
            "invalid JSON: the document is empty".to_string(),
        )),
    }
}

fn convert(v: J<'_>) -> Node {
    match v {
        J::StringLit(s) => Node {
            span: s.range.start..s.range.end,
            value: Value::String(s.value.into_owned()),
        },
        J::NumberLit(n) => Node {
            span: n.range.start..n.range.end,
            value: match n.value.parse::<i64>() {
                Ok(i) => Value::Integer(i),
                Err(_) => Value::Float(n.value.parse::<f64>().unwrap_or(f64::NAN)),
            },
        },
        J::BooleanLit(b) => Node {
            span: b.range.start..b.range.end,
            value: Value::Bool(b.value),
        },
        J::NullKeyword(n) => Node {
            span: n.range.start..n.range.end,
            value: Value::Null,
        },
        J::Array(a) => Node {
            span: a.range.start..a.range.end,
            value: Value::Array(a.elements.into_iter().map(convert).collect()),
        },
        J::Object(o) => Node {
            span: o.range.start..o.range.end,
            value: Value::Table(
                o.properties
                    .into_iter()
                    .map(|p| {
                        let key = match p.name {
                            ObjectPropName::String(s) => Key {
                                name: s.value.into_owned(),
                                span: s.range.start..s.range.end,
                            },
                            ObjectPropName::Word(w) => Key {
                                name: w.value.to_string(),
                                span: w.range.start..w.range.end,
                            },
                        };
                        (key, convert(p.value))
                    })
                    .collect(),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_byte_offsets_and_json_is_strict() {
        let text = "{\"é\": [1, 2.5, true, null, \"x\"]}";
        let n = parse(text).unwrap();
        let (k, v) = &n.as_table().unwrap()[0];
        assert_eq!(k.name, "é");
        assert_eq!(&text[k.span.clone()], "\"é\"");
        let items = v.as_array().unwrap();
        assert_eq!(items[0].value, Value::Integer(1));
        assert_eq!(items[1].value, Value::Float(2.5));
        assert_eq!(&text[items[4].span.clone()], "\"x\"");
        assert!(parse("{\"a\": 1,}").is_err());
        assert!(parse("// c\n{}").is_err());
        assert!(parse("").is_err());
        assert!(parse("{a: 1}").is_err());
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).unwrap_err().message.contains("deeper than"));
        let fine = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse(&fine).is_ok());
        assert!(parse("[\"[[[[\\\"\"]").is_ok());
    }
}
