//! Which files a path argument names: a file, every candidate file under a directory, or
//! every file a glob matches.
//!
//! Candidates are `.json`, `.yaml`, `.yml` and `.toml` files, except `scopegate.toml`;
//! hidden directories, `target` and `node_modules` are not entered. In globs, `*` stays
//! within one path segment and `**` crosses segments.

use std::path::{Component, Path, PathBuf};

use globset::GlobBuilder;

use super::InputError;

/// A file found for a path argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The file.
    pub path: PathBuf,
    /// Found by walking or matching rather than named (the driver then skips it when it is
    /// neither a manifest nor an API description).
    pub discovered: bool,
}

const EXTENSIONS: &[&str] = &["json", "yaml", "yml", "toml"];
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];

fn candidate(path: &Path) -> bool {
    let ext_ok = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    ext_ok && path.file_name().is_some_and(|n| n != "scopegate.toml")
}

fn entered(entry: &walkdir::DirEntry) -> bool {
    if entry.depth() == 0 || !entry.file_type().is_dir() {
        return true;
    }
    let name = entry.file_name().to_string_lossy();
    !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_ref())
}

/// Every candidate file under `dir`, sorted.
fn walk(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(entered)
    {
        let entry = entry.map_err(|e| {
            InputError::file(&dir.display().to_string(), format!("cannot walk: {e}"))
        })?;
        if entry.file_type().is_file() && candidate(entry.path()) {
            out.push(clean(entry.path()));
        }
    }
    Ok(out)
}

/// `path` without leading `./` components.
fn clean(path: &Path) -> PathBuf {
    path.components()
        .skip_while(|c| matches!(c, Component::CurDir))
        .collect()
}

/// Whether `s` holds glob syntax (`*`, `?`, `[`, `{`).
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// The files `arg` names, relative to `base` when it is relative.
pub fn expand(arg: &str, base: &Path) -> Result<Vec<Found>, InputError> {
    if is_glob(arg) {
        let glob = GlobBuilder::new(arg)
            .literal_separator(true)
            .build()
            .map_err(|e| InputError::file(arg, format!("invalid glob: {}", e.kind())))?
            .compile_matcher();
        // Walk from the longest directory prefix without glob syntax.
        let prefix: PathBuf = Path::new(arg)
            .components()
            .take_while(|c| !is_glob(&c.as_os_str().to_string_lossy()))
            .collect();
        let root = base.join(&prefix);
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            root
        };
        let files = if root.is_dir() {
            walk(&root)?
        } else {
            Vec::new()
        };
        let found: Vec<Found> = files
            .into_iter()
            .filter_map(|p| {
                let rel = p.strip_prefix(clean(base)).unwrap_or(&p).to_path_buf();
                glob.is_match(&rel).then_some(Found {
                    path: p,
                    discovered: true,
                })
            })
            .collect();
        if found.is_empty() {
            return Err(InputError::file(arg, "the glob matches no file"));
        }
        return Ok(found);
    }
    let path = base.join(arg);
    if path.is_dir() {
        return Ok(walk(&path)?
            .into_iter()
            .map(|path| Found {
                path,
                discovered: true,
            })
            .collect());
    }
    Ok(vec![Found {
        path: clean(&path),
        discovered: false,
    }])
}
