//! Strict JSON (RFC 8259, what `serde_json` accepts) into the core's positioned [`Node`]
//! tree, with a purpose-built scanner: OpenAPI documents run to megabytes, and a general
//! parser spends most of its time on what the rules never need (per-character positions,
//! a token stream, an intermediate tree).
//!
//! The scanner keeps byte offsets only; line and column are computed later, for the few
//! nodes that become findings or errors. Strings without escapes are copied straight from
//! the input (they are valid UTF-8 already); whitespace and string bodies are skipped a
//! word or a `memchr` at a time.
//!
//! Guarantees (tested against `serde_json` on arbitrary input in `tests/it/json.rs`):
//! the same documents are accepted and rejected, the same values come out, every error has
//! the byte offset where the input goes wrong, nesting deeper than [`MAX_DEPTH`] is an
//! error, and nothing panics.

use scopegate_core::source::{Key, Node, Problem, Value};

/// How deeply arrays and objects may nest (the parser and the tree walks recurse).
pub const MAX_DEPTH: usize = 256;

/// Parses JSON text into a [`Node`] tree whose spans are byte offsets into `text`.
pub fn parse(text: &str) -> Result<Node, Problem> {
    parse_keeping(text, Keep::All).map(|p| p.root)
}

/// Which parts of a document [`parse_keeping`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Everything.
    All,
    /// What the OpenAPI rules read ([`crate::openapi::Api::read`]): every root entry except
    /// that under `components` only `securitySchemes` is built, and under `paths` only the
    /// operations' `security`, `operationId`, `x-readonly-mutation-exception` and
    /// `x-atlassian-oauth2-scopes`. The rest
    /// is validated exactly as with [`Keep::All`], and every key is kept (so child indices
    /// and JSON pointers are the same as in the whole tree), but the values are left empty:
    /// objects, arrays and strings without content.
    ///
    /// A document with a `$ref` anywhere, or that turns out not to be an OpenAPI document
    /// (no `openapi` or `swagger` at the root), is built whole: a reference may point into
    /// any part and every reference is checked, and a native manifest is read whole.
    OpenApi,
}

/// A parsed document.
#[derive(Debug)]
pub struct Parsed {
    /// The tree.
    pub root: Node,
    /// Whether parts were left out ([`Keep::OpenApi`]).
    pub pruned: bool,
}

/// Parses JSON text, building only the parts `keep` says (every part is validated).
pub fn parse_keeping(text: &str, keep: Keep) -> Result<Parsed, Problem> {
    if keep == Keep::OpenApi {
        let mut p = Parser::new(text);
        let root = p.document(Shape::Root)?;
        let openapi = root.get("openapi").is_some() || root.get("swagger").is_some();
        if !p.pruned || (openapi && !p.has_ref) {
            return Ok(Parsed {
                pruned: p.pruned,
                root,
            });
        }
    }
    let root = Parser::new(text).document(Shape::Full)?;
    Ok(Parsed {
        root,
        pruned: false,
    })
}

/// What is built of the value at a position (see [`Keep::OpenApi`]). A position whose value
/// is not an object is built whole, unless it is [`Shape::Skip`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Everything.
    Full,
    /// Validated only.
    Skip,
    /// The document root.
    Root,
    /// `/components`.
    Components,
    /// `/paths`.
    Paths,
    /// `/paths/{path}`.
    PathItem,
    /// `/paths/{path}/{method}`.
    Operation,
}

impl Shape {
    /// The shape of the entry `key` of an object of this shape.
    fn child(self, key: &[u8]) -> Shape {
        match self {
            Shape::Full | Shape::Skip => self,
            Shape::Root => match key {
                b"paths" => Shape::Paths,
                b"components" => Shape::Components,
                _ => Shape::Full,
            },
            Shape::Components => match key {
                b"securitySchemes" => Shape::Full,
                _ => Shape::Skip,
            },
            Shape::Paths => Shape::PathItem,
            Shape::PathItem => match key {
                b"get" | b"put" | b"post" | b"delete" | b"options" | b"head" | b"patch" => {
                    Shape::Operation
                }
                _ => Shape::Skip,
            },
            Shape::Operation => match key {
                b"security"
                | b"operationId"
                | b"x-readonly-mutation-exception"
                | b"x-atlassian-oauth2-scopes" => Shape::Full,
                _ => Shape::Skip,
            },
        }
    }

    /// The shape of the items of an array of this shape.
    fn item(self) -> Shape {
        match self {
            Shape::Skip => Shape::Skip,
            _ => Shape::Full,
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    /// Entries of the objects being read, innermost last (one buffer for all levels, so
    /// each finished object gets one allocation of exactly its size).
    entries: Vec<(Key, Node)>,
    /// Items of the arrays being read, likewise.
    items: Vec<Node>,
    /// The unescaped text of the string being read, when it has escapes.
    scratch: String,
    /// Whether a part was skipped.
    pruned: bool,
    /// Whether some object has a `$ref` key.
    has_ref: bool,
}

/// Whether a byte is JSON whitespace.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
            entries: Vec::new(),
            items: Vec::new(),
            scratch: String::new(),
            pruned: false,
            has_ref: false,
        }
    }

    /// The whole text: one value, with whitespace around it.
    fn document(&mut self, shape: Shape) -> Result<Node, Problem> {
        self.skip_ws();
        if self.pos >= self.bytes.len() {
            return Err(Problem::new(
                0..0,
                "invalid JSON: the document is empty".to_string(),
            ));
        }
        let root = self.value(shape)?;
        self.skip_ws();
        if self.pos < self.bytes.len() {
            return Err(self.error_here("Text cannot contain more than one JSON value"));
        }
        Ok(root)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        // Indentation comes in runs: skip eight spaces at a time first.
        while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
            if chunk == b"        " {
                self.pos += 8;
            } else {
                break;
            }
        }
        while let Some(&b) = self.bytes.get(self.pos) {
            if !is_ws(b) {
                return;
            }
            self.pos += 1;
            if b == b'\n' {
                while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
                    if chunk == b"        " {
                        self.pos += 8;
                    } else {
                        break;
                    }
                }
            }
        }
    }

    fn error_at(&self, at: usize, message: &str) -> Problem {
        let at = at.min(self.bytes.len());
        Problem::new(at..at, format!("invalid JSON: {message}"))
    }

    /// An error at the current byte, naming the token found there.
    fn error_here(&self, expected: &str) -> Problem {
        let message = match self.peek() {
            None => return self.error_at(self.pos, expected),
            Some(b'}') => "Unexpected close brace",
            Some(b']') => "Unexpected close bracket",
            Some(b',') => "Unexpected comma",
            Some(b':') => "Unexpected colon",
            Some(b'/') => "Comments are not allowed",
            Some(b) if b.is_ascii_alphabetic() => "Unexpected word",
            Some(_) => "Unexpected token",
        };
        self.error_at(self.pos, message)
    }

    fn value(&mut self, shape: Shape) -> Result<Node, Problem> {
        match self.peek() {
            Some(b'{') => self.object(shape),
            Some(b'[') => self.array(shape),
            Some(b'"') => {
                let start = self.pos;
                let s = if shape == Shape::Skip {
                    self.skip_string()?;
                    String::new()
                } else {
                    self.string()?
                };
                Ok(Node {
                    span: start..self.pos,
                    value: Value::String(s),
                })
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            _ => Err(self.error_here("Expected a value")),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Node, Problem> {
        let start = self.pos;
        let end = start + word.len();
        let found = self.bytes.get(start..end) == Some(word.as_bytes());
        // A literal must not run on into more letters (`truex`).
        if !found || self.bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            return Err(self.error_at(start, "Unexpected word"));
        }
        self.pos = end;
        Ok(Node {
            span: start..end,
            value,
        })
    }

    fn enter(&mut self) -> Result<(), Problem> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                self.pos,
                &format!("arrays and objects nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn object(&mut self, shape: Shape) -> Result<Node, Problem> {
        let start = self.pos;
        self.enter()?;
        self.pos += 1;
        let base = self.entries.len();
        let mut count = 0usize;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                let key_start = self.pos;
                match self.peek() {
                    Some(b'"') => {}
                    None => return Err(self.error_at(start, "Unterminated object")),
                    Some(b'}') if count > 0 => {
                        return Err(self.error_at(key_start, "Trailing commas are not allowed"))
                    }
                    Some(_) => {
                        return Err(self.error_at(key_start, "Expected string for object property"))
                    }
                }
                let (key, child) = if shape == Shape::Skip {
                    if self.skip_string()? {
                        self.has_ref = true;
                    }
                    (None, Shape::Skip)
                } else {
                    let name = self.string()?;
                    if name == "$ref" {
                        self.has_ref = true;
                    }
                    let child = shape.child(name.as_bytes());
                    let key = Key {
                        name,
                        span: key_start..self.pos,
                    };
                    (Some(key), child)
                };
                self.skip_ws();
                if self.peek() != Some(b':') {
                    return Err(self.error_at(
                        self.pos,
                        "Expected colon after the string or word in object property",
                    ));
                }
                self.pos += 1;
                self.skip_ws();
                if self.peek().is_none() {
                    return Err(
                        self.error_at(self.pos, "Expected value after colon in object property")
                    );
                }
                let value = self.value(child)?;
                if child == Shape::Skip && shape != Shape::Skip {
                    self.pruned = true;
                }
                if let Some(key) = key {
                    self.entries.push((key, value));
                }
                count += 1;
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_ws();
                    }
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    None => return Err(self.error_at(start, "Unterminated object")),
                    Some(_) => return Err(self.error_here("Unexpected token in object")),
                }
            }
        }
        self.depth -= 1;
        let entries: Vec<(Key, Node)> = if shape == Shape::Skip {
            Vec::new()
        } else {
            self.entries.drain(base..).collect()
        };
        Ok(Node {
            span: start..self.pos,
            value: Value::Table(entries),
        })
    }

    fn array(&mut self, shape: Shape) -> Result<Node, Problem> {
        let start = self.pos;
        self.enter()?;
        self.pos += 1;
        let base = self.items.len();
        let mut count = 0usize;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                match self.peek() {
                    None => return Err(self.error_at(start, "Unterminated array")),
                    Some(b']') if count > 0 => {
                        return Err(self.error_at(self.pos, "Trailing commas are not allowed"))
                    }
                    _ => {}
                }
                let item = self.value(shape.item())?;
                count += 1;
                if shape != Shape::Skip {
                    self.items.push(item);
                }
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_ws();
                    }
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    None => return Err(self.error_at(start, "Unterminated array")),
                    Some(_) => return Err(self.error_here("Unexpected token")),
                }
            }
        }
        self.depth -= 1;
        let items: Vec<Node> = self.items.drain(base..).collect();
        Ok(Node {
            span: start..self.pos,
            value: Value::Array(items),
        })
    }

    /// Reads the string starting at the current `"`; leaves `pos` after its closing quote.
    fn string(&mut self) -> Result<String, Problem> {
        match self.string_body()? {
            Ok(body) => Ok(body.to_string()),
            Err(()) => Ok(self.scratch.as_str().to_string()),
        }
    }

    /// Validates the string starting at the current `"`, without keeping it; leaves `pos`
    /// after its closing quote. Whether it reads `$ref`.
    fn skip_string(&mut self) -> Result<bool, Problem> {
        match self.string_body()? {
            Ok(body) => Ok(body == "$ref"),
            Err(()) => Ok(self.scratch == "$ref"),
        }
    }

    /// Reads the string starting at the current `"`: its body when it has no escape (a
    /// slice of the input), else `Err(())` with the unescaped text in `scratch`.
    fn string_body(&mut self) -> Result<Result<&'a str, ()>, Problem> {
        let start = self.pos;
        let body = start + 1;
        let text: &'a str = self.text;
        // Fast path: no escape before the closing quote.
        let rest = self.bytes.get(body..).unwrap_or_default();
        let Some(k) = memchr::memchr2(b'"', b'\\', rest) else {
            return Err(self.error_at(start, "Unterminated string literal"));
        };
        let chunk = rest.get(..k).unwrap_or_default();
        if let Some(c) = chunk.iter().position(|&b| b < 0x20) {
            return Err(self.error_at(body + c, "Control character in string literal"));
        }
        let i = body + k;
        if rest.get(k) == Some(&b'"') {
            self.pos = i + 1;
            return Ok(Ok(text.get(body..i).unwrap_or_default()));
        }
        // Slow path: unescape into `scratch`.
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        out.push_str(text.get(body..i).unwrap_or_default());
        let result = self.unescape(start, i, &mut out);
        self.scratch = out;
        result.map(|()| Err(()))
    }

    /// Unescapes from `i` (at a backslash) to the closing quote, appending to `out`.
    fn unescape(&mut self, start: usize, mut i: usize, out: &mut String) -> Result<(), Problem> {
        loop {
            match self.bytes.get(i) {
                None => return Err(self.error_at(start, "Unterminated string literal")),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    let c = match self.bytes.get(i + 1) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let (c, len) = self.unicode_escape(i)?;
                            out.push(c);
                            i += len;
                            continue;
                        }
                        None => return Err(self.error_at(start, "Unterminated string literal")),
                        Some(_) => return Err(self.error_at(i, "Invalid escape")),
                    };
                    out.push(c);
                    i += 2;
                }
                Some(&b) if b < 0x20 => {
                    return Err(self.error_at(i, "Control character in string literal"))
                }
                Some(_) => {
                    // Copy up to the next quote or backslash.
                    let rest = self.bytes.get(i..).unwrap_or_default();
                    let k = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
                    let chunk = rest.get(..k).unwrap_or_default();
                    if let Some(c) = chunk.iter().position(|&b| b < 0x20) {
                        return Err(self.error_at(i + c, "Control character in string literal"));
                    }
                    out.push_str(self.text.get(i..i + k).unwrap_or_default());
                    i += k;
                }
            }
        }
    }

    /// The four hex digits of `\uXXXX` at `i`, as a number.
    fn hex4(&self, i: usize) -> Result<u32, Problem> {
        let digits = self
            .bytes
            .get(i + 2..i + 6)
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit))
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        digits.ok_or_else(|| self.error_at(i, "Expected four hex digits"))
    }

    /// The character of the `\u` escape at `i` (a surrogate pair takes two escapes), and
    /// how many bytes the escape(s) span.
    fn unicode_escape(&self, i: usize) -> Result<(char, usize), Problem> {
        let first = self.hex4(i)?;
        if (0xDC00..0xE000).contains(&first) {
            return Err(self.error_at(i, "Lone trailing surrogate in unicode escape"));
        }
        if !(0xD800..0xDC00).contains(&first) {
            return char::from_u32(first)
                .map(|c| (c, 6))
                .ok_or_else(|| self.error_at(i, "Invalid unicode escape"));
        }
        let next = i + 6;
        if self.bytes.get(next..next + 2) != Some(b"\\u".as_slice()) {
            return Err(self.error_at(i, "Lone leading surrogate in unicode escape"));
        }
        let second = self.hex4(next)?;
        if !(0xDC00..0xE000).contains(&second) {
            return Err(self.error_at(i, "Lone leading surrogate in unicode escape"));
        }
        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        char::from_u32(code)
            .map(|c| (c, 12))
            .ok_or_else(|| self.error_at(i, "Invalid unicode escape"))
    }

    fn digits(&mut self) -> usize {
        let from = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - from
    }

    fn number(&mut self) -> Result<Node, Problem> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.error_at(self.pos, "Expected digit following negative sign"));
            }
        }
        if self.peek() == Some(b'0') {
            self.pos += 1;
        } else {
            self.digits();
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error_at(self.pos, "Expected digit"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error_at(self.pos, "Expected digit"));
            }
        }
        // `01`, `1x`: a number must end at a delimiter.
        if self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.')
        {
            return Err(self.error_at(self.pos, "Unexpected token"));
        }
        let raw = self.text.get(start..self.pos).unwrap_or_default();
        let value = match integer.then(|| raw.parse::<i64>().ok()).flatten() {
            Some(i) => Value::Integer(i),
            None => match raw.parse::<f64>() {
                Ok(f) if f.is_finite() => Value::Float(f),
                _ => return Err(self.error_at(start, "Number out of range")),
            },
        };
        Ok(Node {
            span: start..self.pos,
            value,
        })
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
