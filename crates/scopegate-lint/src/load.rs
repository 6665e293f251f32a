//! Reading inputs: syntax and kind detected by content, and local `$ref`s followed across
//! files.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use scopegate_core::source::{Diagnostic, Location, Node, Problem, Value};
use scopegate_core::Source;

use crate::json::Keep;
use crate::text::{Locate, Text};

/// Errors in the inputs: each located (file, line, column). The CLI exits 2 on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub Vec<Diagnostic>);

impl InputError {
    /// One error at an offset of `source`.
    pub fn at(source: &impl Locate, offset: usize, message: impl Into<String>) -> Self {
        InputError(vec![Diagnostic {
            file: source.name().to_string(),
            location: source.location(offset),
            message: message.into(),
        }])
    }

    /// One error about a whole file (which could not be read, say).
    pub fn file(name: &str, message: impl Into<String>) -> Self {
        InputError(vec![Diagnostic {
            file: name.to_string(),
            location: Location { line: 1, column: 1 },
            message: message.into(),
        }])
    }

    /// Located problems of `source`, sorted by position (as `scopegate_core::Diagnostics`).
    pub fn problems(source: &impl Locate, problems: Vec<Problem>) -> Self {
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
        InputError(items)
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// The syntax of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JSON.
    Json,
    /// TOML.
    Toml,
    /// YAML.
    Yaml,
}

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A native manifest (`permissions`, `endpoints`).
    Native,
    /// OpenAPI 3.x (`openapi`).
    OpenApi3,
    /// Swagger 2.0 (`swagger`).
    Swagger2,
    /// A Google API Discovery document (`discoveryVersion`; [`crate::discovery`]).
    Discovery,
}

/// Detects the syntax from the file name, else from the content.
pub fn syntax(name: &str, text: &str) -> Syntax {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        return Syntax::Json;
    }
    if lower.ends_with(".toml") {
        return Syntax::Toml;
    }
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        return Syntax::Yaml;
    }
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Syntax::Json;
    }
    let yamlish = text.lines().any(|l| {
        l.starts_with("openapi:")
            || l.starts_with("swagger:")
            || l.starts_with("---")
            || l.starts_with("paths:")
    });
    if yamlish {
        Syntax::Yaml
    } else {
        Syntax::Toml
    }
}

/// Parses `source` in `syntax` into a positioned tree.
pub fn parse(source: &Source, syntax: Syntax) -> Result<Node, InputError> {
    let result = match syntax {
        Syntax::Yaml => crate::yaml::parse(source.text()),
        Syntax::Json => crate::json::parse(source.text()),
        Syntax::Toml if source.syntax() == scopegate_core::source::Syntax::Toml => source.parse(),
        Syntax::Toml => Source::new("x.toml", source.text()).parse(),
    };
    result.map_err(|p| InputError::problems(source, vec![p]))
}

/// Detects what a parsed document is.
pub fn kind(source: &impl Locate, root: &Node) -> Result<Kind, InputError> {
    if root.as_table().is_none() {
        return Err(InputError::at(
            source,
            root.span.start,
            format!(
                "expected a table (a manifest or an OpenAPI document), found {}",
                root.value.kind()
            ),
        ));
    }
    if let Some(v) = root.get("openapi") {
        return match v.as_str() {
            Some(s) if s.starts_with('3') => Ok(Kind::OpenApi3),
            _ => Err(InputError::at(
                source,
                v.span.start,
                "`openapi` must be a version string `3.x.y`",
            )),
        };
    }
    if let Some(v) = root.get("swagger") {
        return match v.as_str() {
            Some(s) if s.starts_with('2') => Ok(Kind::Swagger2),
            _ => Err(InputError::at(
                source,
                v.span.start,
                "`swagger` must be the version string `2.0`",
            )),
        };
    }
    if crate::discovery::is_discovery(root) {
        return Ok(Kind::Discovery);
    }
    if scopegate_core::manifest::is_manifest(root) {
        return Ok(Kind::Native);
    }
    Err(InputError::at(
        source,
        root.span.start,
        "neither a scopegate manifest (no `permissions` or `endpoints`) nor an API description (no `openapi`, `swagger` or `discoveryVersion`)",
    ))
}

/// One loaded document.
#[derive(Debug)]
pub struct Doc {
    /// The text and its name (as shown in findings).
    pub source: Text,
    /// The parsed tree.
    pub root: Node,
    /// Its path on disk, when read from one.
    pub path: Option<PathBuf>,
    /// Whether only what the OpenAPI rules read was built ([`crate::json::Keep::OpenApi`]):
    /// then the other values are empty, and the document is read again whole when a
    /// `$ref` from another document points into it.
    pub pruned: bool,
}

/// A position in a loaded document: the document, the child indices from its root, and
/// the JSON pointer they spell.
#[derive(Debug, Clone)]
pub struct Loc {
    /// The document.
    pub doc: Rc<Doc>,
    /// Child indices from the root (table entry or array item).
    pub path: Vec<usize>,
    /// The JSON pointer of `path`.
    pub pointer: String,
}

/// Escapes a key as a JSON pointer segment.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Loc {
    /// The root of `doc`.
    pub fn root(doc: Rc<Doc>) -> Self {
        Loc {
            doc,
            path: Vec::new(),
            pointer: String::new(),
        }
    }

    /// The node at this position.
    pub fn node(&self) -> &Node {
        let mut node = &self.doc.root;
        for &i in &self.path {
            let next = match &node.value {
                Value::Table(entries) => entries.get(i).map(|(_, v)| v),
                Value::Array(items) => items.get(i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// The child `key` of this table.
    pub fn child(&self, key: &str) -> Option<Loc> {
        let i = self
            .node()
            .as_table()?
            .iter()
            .position(|(k, _)| k.name == key)?;
        Some(self.push(i, &escape(key)))
    }

    /// The child at index `i`, with pointer segment `segment`.
    pub fn push(&self, i: usize, segment: &str) -> Loc {
        let mut path = self.path.clone();
        path.push(i);
        Loc {
            doc: Rc::clone(&self.doc),
            path,
            pointer: format!("{}/{segment}", self.pointer),
        }
    }

    /// Every entry of this table, as (key, position).
    pub fn entries(&self) -> Vec<(String, Loc)> {
        match self.node().as_table() {
            Some(t) => t
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.name.clone(), self.push(i, &escape(&k.name))))
                .collect(),
            None => Vec::new(),
        }
    }

    /// The file name of this position's document.
    pub fn file(&self) -> &str {
        self.doc.source.name()
    }

    /// The line and column of this position: of its key when it is a table entry (the
    /// key is where a reader looks), else of the value.
    pub fn location(&self) -> Location {
        self.doc.source.location(self.start())
    }

    /// The byte offset [`Loc::location`] reports.
    fn start(&self) -> usize {
        if let Some((&last, parent_path)) = self.path.split_last() {
            let parent = Loc {
                doc: Rc::clone(&self.doc),
                path: parent_path.to_vec(),
                pointer: String::new(),
            };
            if let Some((k, _)) = parent.node().as_table().and_then(|t| t.get(last)) {
                return k.span.start;
            }
        }
        self.node().span.start
    }

    /// An error located here.
    pub fn error(&self, message: impl Into<String>) -> InputError {
        InputError::at(&self.doc.source, self.start(), message)
    }

    /// The `$ref` string of this node, if it is a reference object.
    pub fn reference(&self) -> Option<&str> {
        self.node().get("$ref").and_then(Node::as_str)
    }
}

/// Loads documents once each, and follows `$ref`s between them.
#[derive(Debug, Default)]
pub struct Loader {
    docs: Vec<Rc<Doc>>,
    by_path: HashMap<PathBuf, usize>,
    /// How many of `docs` [`Loader::check_all_refs`] has checked already.
    refs_checked: usize,
    /// Warnings collected while loading.
    pub warnings: Vec<String>,
}

impl Loader {
    /// A loader with no documents.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every document loaded so far.
    pub fn docs(&self) -> &[Rc<Doc>] {
        &self.docs
    }

    /// Reads and parses the file at `path` (once; later calls return the same document).
    /// `name` is how findings name the file.
    pub fn load_file(&mut self, path: &Path, name: &str) -> Result<Rc<Doc>, InputError> {
        self.load(path, name, Keep::All)
    }

    /// Like [`Loader::load_file`], for a document linted in its own right: of an OpenAPI
    /// document in JSON without `$ref`s, only what the rules read is built.
    pub fn load_root(&mut self, path: &Path, name: &str) -> Result<Rc<Doc>, InputError> {
        self.load(path, name, Keep::OpenApi)
    }

    fn load(&mut self, path: &Path, name: &str, keep: Keep) -> Result<Rc<Doc>, InputError> {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(&i) = self.by_path.get(&key) {
            if let Some(doc) = self.docs.get_mut(i) {
                if doc.pruned && keep == Keep::All {
                    // A `$ref` points into it: read it again whole.
                    let text = Text::new(doc.source.name(), doc.source.text());
                    *doc = Rc::new(Self::parse_doc(text, Some(key), Keep::All)?);
                }
                return Ok(Rc::clone(doc));
            }
        }
        let bytes = std::fs::read(path)
            .map_err(|e| InputError::file(name, format!("cannot read file: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|e| InputError::file(name, format!("not UTF-8 text: {e}")))?;
        let doc = Rc::new(Self::parse_doc(
            Text::new(name, text),
            Some(key.clone()),
            keep,
        )?);
        self.docs.push(Rc::clone(&doc));
        self.by_path.insert(key, self.docs.len() - 1);
        Ok(doc)
    }

    /// Parses an in-memory document (refs to other files resolve from the current
    /// directory).
    pub fn add(&mut self, source: Source, path: Option<PathBuf>) -> Result<Rc<Doc>, InputError> {
        self.add_keeping(Text::from_source(source), path, Keep::All)
    }

    /// Like [`Loader::add`], for a document linted in its own right (see
    /// [`Loader::load_root`]).
    pub fn add_root(&mut self, text: Text, path: Option<PathBuf>) -> Result<Rc<Doc>, InputError> {
        self.add_keeping(text, path, Keep::OpenApi)
    }

    fn add_keeping(
        &mut self,
        text: Text,
        path: Option<PathBuf>,
        keep: Keep,
    ) -> Result<Rc<Doc>, InputError> {
        let doc = Rc::new(Self::parse_doc(text, path, keep)?);
        self.docs.push(Rc::clone(&doc));
        Ok(doc)
    }

    fn parse_doc(text: Text, path: Option<PathBuf>, keep: Keep) -> Result<Doc, InputError> {
        let syntax = syntax(text.name(), text.text());
        let (text, root, pruned) = match syntax {
            Syntax::Json => {
                let parsed = crate::json::parse_keeping(text.text(), keep)
                    .map_err(|p| InputError::problems(&text, vec![p]))?;
                (text, parsed.root, parsed.pruned)
            }
            Syntax::Yaml => {
                let root = crate::yaml::parse(text.text())
                    .map_err(|p| InputError::problems(&text, vec![p]))?;
                (text, root, false)
            }
            Syntax::Toml => {
                let source = text.into_source();
                let root = parse(&source, syntax)?;
                (Text::from_source(source), root, false)
            }
        };
        // Anything but an OpenAPI document is read with the core's `Source`.
        let openapi = root.get("openapi").is_some() || root.get("swagger").is_some();
        let source = if openapi {
            text
        } else {
            Text::from_source(text.into_source())
        };
        Ok(Doc {
            source,
            root,
            path,
            pruned,
        })
    }

    /// Follows `$ref`s from `loc` until a node that is not a reference. A missing file or
    /// target, or a cycle, is an error located at the offending `$ref`.
    pub fn deref(&mut self, loc: Loc) -> Result<Loc, InputError> {
        let mut seen: HashSet<(usize, String)> = HashSet::new();
        let mut current = loc;
        while let Some(reference) = current.reference().map(str::to_string) {
            let id = (Rc::as_ptr(&current.doc) as usize, current.pointer.clone());
            if !seen.insert(id) || seen.len() > 256 {
                return Err(current
                    .child("$ref")
                    .unwrap_or_else(|| current.clone())
                    .error(format!("`$ref` cycle through `{reference}`")));
            }
            current = self.target(&current, &reference)?;
        }
        Ok(current)
    }

    /// The position a `$ref` string found at `at` points to.
    pub fn target(&mut self, at: &Loc, reference: &str) -> Result<Loc, InputError> {
        let here = at.child("$ref").unwrap_or_else(|| at.clone());
        let (file, fragment) = match reference.split_once('#') {
            Some((f, frag)) => (f, frag),
            None => (reference, ""),
        };
        if file.contains("://") {
            return Err(here.error(format!(
                "`$ref` `{reference}` is not local; only local references are followed"
            )));
        }
        let doc = if file.is_empty() {
            Rc::clone(&at.doc)
        } else {
            let decoded = percent_decode(file);
            let base = at
                .doc
                .path
                .as_ref()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or_default();
            let path = base.join(&decoded);
            let name = match Path::new(at.file()).parent() {
                Some(dir) if !dir.as_os_str().is_empty() => normalize(&dir.join(&decoded)),
                _ => normalize(Path::new(&decoded)),
            };
            self.load_file(&path, &name).map_err(|e| {
                let why = e.0.first().map(|d| d.to_string()).unwrap_or_default();
                here.error(format!("`$ref` `{reference}` cannot be loaded: {why}"))
            })?
        };
        let mut loc = Loc::root(doc);
        let fragment = percent_decode(fragment);
        if fragment.is_empty() {
            return Ok(loc);
        }
        let Some(rest) = fragment.strip_prefix('/') else {
            return Err(here.error(format!(
                "`$ref` `{reference}`: the fragment must be a JSON pointer starting with `/`"
            )));
        };
        for raw in rest.split('/') {
            let segment = raw.replace("~1", "/").replace("~0", "~");
            let next = match &loc.node().value {
                Value::Table(_) => loc.child(&segment),
                Value::Array(items) => segment
                    .parse::<usize>()
                    .ok()
                    .filter(|&i| i < items.len())
                    .map(|i| loc.push(i, raw)),
                _ => None,
            };
            match next {
                Some(n) => loc = n,
                None => {
                    return Err(here.error(format!(
                        "`$ref` `{reference}` points to nothing (no `{segment}` at `{}`)",
                        if loc.pointer.is_empty() {
                            "/"
                        } else {
                            &loc.pointer
                        }
                    )))
                }
            }
        }
        Ok(loc)
    }

    /// Checks every `$ref` in every document loaded since the last call (loading the files
    /// they name) and records a warning for each one that does not resolve: linting several
    /// files checks each document once, so each dangling `$ref` is reported once. (A
    /// document read again whole in place was pruned, so it has no `$ref` to check.)
    pub fn check_all_refs(&mut self) {
        while self.refs_checked < self.docs.len() {
            let Some(doc) = self.docs.get(self.refs_checked).cloned() else {
                break;
            };
            self.refs_checked += 1;
            // A Discovery document's `$ref`s name schemas, not JSON pointers.
            if crate::discovery::is_discovery(&doc.root) {
                continue;
            }
            // Most documents (every fully dereferenced one) have no `$ref` at all.
            let text = doc.source.text();
            if !text.contains("$ref") && !text.contains("u0024ref") {
                continue;
            }
            let mut refs = Vec::new();
            collect_refs(&doc, &mut refs);
            for (loc, reference) in refs {
                if let Err(e) = self.target(&loc, &reference) {
                    self.warnings.push(format!("warning: {e}"));
                }
            }
        }
    }
}

fn collect_refs(doc: &Rc<Doc>, out: &mut Vec<(Loc, String)>) {
    let mut path = Vec::new();
    let mut segments = Vec::new();
    walk_refs(doc, &doc.root, &mut path, &mut segments, out);
}

fn walk_refs(
    doc: &Rc<Doc>,
    node: &Node,
    path: &mut Vec<usize>,
    segments: &mut Vec<String>,
    out: &mut Vec<(Loc, String)>,
) {
    let mut visit = |i: usize, seg: &dyn Fn() -> String, v: &Node, path: &mut Vec<usize>| {
        if matches!(v.value, Value::Table(_) | Value::Array(_)) {
            path.push(i);
            segments.push(seg());
            walk_refs(doc, v, path, segments, out);
            path.pop();
            segments.pop();
        }
    };
    match &node.value {
        Value::Table(entries) => {
            if let Some(s) = node.get("$ref").and_then(Node::as_str) {
                let pointer: String = segments.iter().map(|s| format!("/{s}")).collect();
                out.push((
                    Loc {
                        doc: Rc::clone(doc),
                        path: path.clone(),
                        pointer,
                    },
                    s.to_string(),
                ));
                return;
            }
            for (i, (k, v)) in entries.iter().enumerate() {
                visit(i, &|| escape(&k.name), v, path);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                visit(i, &|| i.to_string(), v, path);
            }
        }
        _ => {}
    }
}

/// A path with `.` and `name/..` removed lexically, as a display string.
fn normalize(path: &Path) -> String {
    use std::path::Component;
    let mut parts: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.iter().collect::<PathBuf>().display().to_string()
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
