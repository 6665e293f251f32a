//! `scopegate.toml`: the linter configured once, for every caller.
//!
//! The file is found by walking up from the working directory (or named with `--config`).
//! Its `[lint]` table sets the run's settings; `[[lint.overrides]]` tables set them again
//! for the files their `paths` globs match (relative to the file's directory, later tables
//! winning); command-line flags win over both. Every value remembers where it came from, so
//! `scopegate lint --explain-config FILE` can say what applies to a file and why.
//!
//! ```toml
//! [lint]
//! paths = ["openapi.json"]        # what `scopegate lint` lints without PATH (default ".")
//! scope-list = "any"              # any | all: how a security scheme's scope list reads
//! readonly-scopes = ["*:read"]    # glob patterns (default: the policy's read-only scopes)
//! publish-status = "all"          # all | public (native manifests)
//! select = ["SG"]                 # codes or code prefixes to run (default: all)
//! ignore = ["SG004"]              # codes or code prefixes not to run
//! baseline = "lint-baseline.json" # fail only on findings not recorded there
//! fail-severity = "error"         # error | warning | note
//!
//! [lint.severity]
//! SG002 = "warning"
//!
//! [[lint.overrides]]
//! paths = ["legacy/**"]
//! ignore = ["SG003"]
//! severity = { SG001 = "note" }
//! ```

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use scopegate_core::source::{Diagnostics, Key, Location, Node, Problems, Syntax};
use scopegate_core::{Policy, Source};

use crate::rules::RULES;
use crate::settings::{Options, PublishFilter, ReadonlyScopes, ScopeList, Severity};

mod explain;

pub use explain::{Explained, Line};

/// The name of the configuration file.
pub const FILE_NAME: &str = "scopegate.toml";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default (or the policy's read-only scopes).
    Default,
    /// A key of the configuration file.
    File {
        /// The file, as displayed.
        file: String,
        /// The key's line and column.
        location: Location,
        /// The table: `[lint]`, or `[[lint.overrides]] #2 (legacy/**)`.
        table: String,
    },
    /// A command-line flag (`--scope-list`).
    CommandLine(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File {
                file,
                location,
                table,
            } => write!(f, "{file}:{location} {table}"),
            Origin::CommandLine(flag) => write!(f, "command line {flag}"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Its origin.
    pub origin: Origin,
}

/// The settings one table (or the command line) gives; `None` leaves a setting alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    /// `scope-list`.
    pub scope_list: Option<Setting<ScopeList>>,
    /// `readonly-scopes` (glob patterns).
    pub readonly: Option<Setting<Vec<String>>>,
    /// `publish-status`.
    pub publish_status: Option<Setting<PublishFilter>>,
    /// `select`.
    pub select: Option<Setting<Vec<String>>>,
    /// `ignore`.
    pub ignore: Option<Setting<Vec<String>>>,
    /// `severity`, per rule code.
    pub severity: Vec<(String, Setting<Severity>)>,
}

/// One `[[lint.overrides]]` table.
#[derive(Debug, Clone)]
pub struct Override {
    /// Its globs, as written.
    pub paths: Vec<String>,
    matcher: GlobSet,
    /// What it sets.
    pub layer: Layer,
}

/// A parsed `scopegate.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file, as displayed.
    pub file: String,
    /// Its directory: relative paths and globs in it are relative to this.
    pub dir: PathBuf,
    /// What `[lint]` sets.
    pub base: Layer,
    /// `paths`: what to lint when no PATH is given.
    pub paths: Option<Setting<Vec<String>>>,
    /// `baseline`, resolved against [`Config::dir`].
    pub baseline: Option<Setting<PathBuf>>,
    /// `fail-severity`.
    pub fail_severity: Option<Setting<Severity>>,
    /// The `[[lint.overrides]]` tables, in order.
    pub overrides: Vec<Override>,
}

/// Finds `scopegate.toml` in `start` or the nearest directory above it.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

const LINT_KEYS: &[&str] = &[
    "paths",
    "scope-list",
    "readonly-scopes",
    "publish-status",
    "select",
    "ignore",
    "severity",
    "baseline",
    "fail-severity",
    "overrides",
];
const OVERRIDE_KEYS: &[&str] = &[
    "paths",
    "scope-list",
    "readonly-scopes",
    "publish-status",
    "select",
    "ignore",
    "severity",
];

impl Config {
    /// Reads and parses the configuration file at `path`; every problem is located.
    pub fn load(path: &Path) -> Result<Config, Diagnostics> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Diagnostics::file(&name, format!("cannot read file: {e}")))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::parse(&Source::new(name, text), &dir)
    }

    /// Parses a configuration's text; `dir` is the directory relative paths start from.
    pub fn parse(source: &Source, dir: &Path) -> Result<Config, Diagnostics> {
        let root = source
            .parse_as(Syntax::Toml)
            .map_err(|p| Diagnostics::new(source, vec![p]))?;
        let mut problems = Problems::default();
        let mut config = Config {
            file: source.name().to_string(),
            dir: dir.to_path_buf(),
            base: Layer::default(),
            paths: None,
            baseline: None,
            fail_severity: None,
            overrides: Vec::new(),
        };
        let mut reader = Reader {
            source,
            problems: &mut problems,
        };
        if let Some(table) = reader.problems.table(&root, "the configuration") {
            reader
                .problems
                .unknown_keys(table, &["lint"], "the configuration");
        }
        if let Some(lint) = root.get("lint") {
            if let Some(table) = reader.problems.table(lint, "`[lint]`") {
                reader.problems.unknown_keys(table, LINT_KEYS, "`[lint]`");
                config.base = reader.layer(table, "[lint]");
                for (key, value) in table {
                    let origin = reader.origin(key, "[lint]");
                    match key.name.as_str() {
                        "paths" => {
                            config.paths = Some(Setting {
                                value: reader.strings(value, "`paths`"),
                                origin,
                            });
                        }
                        "baseline" => {
                            if let Some(s) = reader.problems.string(value, "`baseline`") {
                                config.baseline = Some(Setting {
                                    value: dir.join(s),
                                    origin,
                                });
                            }
                        }
                        "fail-severity" => {
                            if let Some(v) = reader.severity(value, "`fail-severity`") {
                                config.fail_severity = Some(Setting { value: v, origin });
                            }
                        }
                        "overrides" => config.overrides = reader.overrides(value),
                        _ => {}
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(Diagnostics::new(source, problems.into_vec()))
        }
    }

    /// The overrides whose globs match `rel` (a path relative to [`Config::dir`], with `/`).
    pub fn matching(&self, rel: &str) -> impl Iterator<Item = &Override> + '_ {
        let rel = rel.strip_prefix("./").unwrap_or(rel).to_string();
        self.overrides
            .iter()
            .filter(move |o| o.matcher.is_match(&rel))
    }

    /// `path` relative to [`Config::dir`] when inside it, with `/` separators.
    pub fn relative(&self, path: &Path) -> String {
        let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let dir = if self.dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &self.dir
        };
        let (dir, path_abs) = (abs(dir), abs(path));
        let rel = path_abs.strip_prefix(&dir).unwrap_or(path);
        rel.display().to_string().replace('\\', "/")
    }
}

/// Resolves the settings for one file: defaults from `policy`, then the configuration's
/// `[lint]`, then its matching overrides in order, then `cli`.
pub fn resolve(
    config: Option<&Config>,
    file: Option<&Path>,
    policy: &Policy,
    cli: &Layer,
) -> Explained {
    let mut layers: Vec<&Layer> = Vec::new();
    if let Some(c) = config {
        layers.push(&c.base);
        if let Some(f) = file {
            let rel = c.relative(f);
            layers.extend(c.matching(&rel).map(|o| &o.layer));
        }
    }
    layers.push(cli);
    explain::apply(Options::new(policy), &layers)
}

/// Reads values out of the tree, recording problems.
struct Reader<'a> {
    source: &'a Source,
    problems: &'a mut Problems,
}

impl Reader<'_> {
    fn origin(&self, key: &Key, table: &str) -> Origin {
        Origin::File {
            file: self.source.name().to_string(),
            location: self.source.location(key.span.start),
            table: table.to_string(),
        }
    }

    fn strings(&mut self, node: &Node, what: &str) -> Vec<String> {
        self.problems
            .strings(node, what)
            .into_iter()
            .map(|(s, _)| s.to_string())
            .collect()
    }

    fn codes(&mut self, node: &Node, what: &str) -> Vec<String> {
        let items: Vec<(String, Range<usize>)> = self
            .problems
            .strings(node, what)
            .into_iter()
            .map(|(s, span)| (s.to_string(), span))
            .collect();
        for (code, span) in &items {
            if !RULES.iter().any(|r| r.code.starts_with(code.as_str())) {
                self.problems.push(
                    span.clone(),
                    format!("unknown rule code or prefix `{code}` in {what}"),
                );
            }
        }
        items.into_iter().map(|(s, _)| s).collect()
    }

    fn severity(&mut self, node: &Node, what: &str) -> Option<Severity> {
        let s = self.problems.string(node, what)?;
        match s.parse::<Severity>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems
                    .push(node.span.clone(), format!("{what}: {e}"));
                None
            }
        }
    }

    /// The settings keys of a `[lint]` or override table.
    fn layer(&mut self, table: &[(Key, Node)], name: &str) -> Layer {
        let mut layer = Layer::default();
        for (key, value) in table {
            let origin = self.origin(key, name);
            match key.name.as_str() {
                "scope-list" => {
                    layer.scope_list = match self.problems.string(value, "`scope-list`") {
                        Some("any") => Some(Setting {
                            value: ScopeList::Any,
                            origin,
                        }),
                        Some("all") => Some(Setting {
                            value: ScopeList::All,
                            origin,
                        }),
                        Some(other) => {
                            self.problems.push(
                                value.span.clone(),
                                format!("`scope-list` must be `any` or `all`, found `{other}`"),
                            );
                            None
                        }
                        None => None,
                    };
                }
                "publish-status" => {
                    layer.publish_status = match self.problems.string(value, "`publish-status`") {
                        Some("all") => Some(Setting {
                            value: PublishFilter::All,
                            origin,
                        }),
                        Some("public") => Some(Setting {
                            value: PublishFilter::Public,
                            origin,
                        }),
                        Some(other) => {
                            self.problems.push(
                                value.span.clone(),
                                format!(
                                    "`publish-status` must be `all` or `public`, found `{other}`"
                                ),
                            );
                            None
                        }
                        None => None,
                    };
                }
                "readonly-scopes" => {
                    layer.readonly = Some(Setting {
                        value: self.strings(value, "`readonly-scopes`"),
                        origin,
                    });
                }
                "select" => {
                    layer.select = Some(Setting {
                        value: self.codes(value, "`select`"),
                        origin,
                    });
                }
                "ignore" => {
                    layer.ignore = Some(Setting {
                        value: self.codes(value, "`ignore`"),
                        origin,
                    });
                }
                "severity" => {
                    let Some(entries) = self.problems.table(value, "`severity`") else {
                        continue;
                    };
                    for (code, v) in entries {
                        if !RULES.iter().any(|r| r.code == code.name) {
                            self.problems.push(
                                code.span.clone(),
                                format!("unknown rule code `{}` in `severity`", code.name),
                            );
                            continue;
                        }
                        let what = format!("the severity of `{}`", code.name);
                        if let Some(sev) = self.severity(v, &what) {
                            let origin = self.origin(code, name);
                            layer
                                .severity
                                .push((code.name.clone(), Setting { value: sev, origin }));
                        }
                    }
                }
                _ => {}
            }
        }
        layer
    }

    fn overrides(&mut self, node: &Node) -> Vec<Override> {
        let Some(items) = node.as_array() else {
            self.problems.push(
                node.span.clone(),
                format!(
                    "`overrides` must be an array of tables (`[[lint.overrides]]`), found {}",
                    node.value.kind()
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(table) = self.problems.table(item, "an override") else {
                continue;
            };
            self.problems
                .unknown_keys(table, OVERRIDE_KEYS, "`[[lint.overrides]]`");
            let Some(paths) = item.get("paths") else {
                self.problems.push(
                    item.span.clone(),
                    "an override needs `paths`: the globs of the files it applies to",
                );
                continue;
            };
            let mut builder = GlobSetBuilder::new();
            let mut globs = Vec::new();
            for (glob, span) in self.problems.strings(paths, "`paths`") {
                match GlobBuilder::new(glob).literal_separator(true).build() {
                    Ok(g) => {
                        builder.add(g);
                        globs.push(glob.to_string());
                    }
                    Err(e) => self
                        .problems
                        .push(span, format!("invalid glob `{glob}`: {}", e.kind())),
                }
            }
            let matcher = match builder.build() {
                Ok(m) => m,
                Err(e) => {
                    self.problems
                        .push(paths.span.clone(), format!("invalid globs: {e}"));
                    continue;
                }
            };
            let name = format!("[[lint.overrides]] #{} ({})", i + 1, globs.join(", "));
            let layer = self.layer(table, &name);
            out.push(Override {
                paths: globs,
                matcher,
                layer,
            });
        }
        out
    }
}

impl From<&Setting<Vec<String>>> for ReadonlyScopes {
    fn from(s: &Setting<Vec<String>>) -> Self {
        ReadonlyScopes::Patterns(s.value.clone())
    }
}
