//! The files of a decision log: each `FILE` with its rotated parts, oldest first.
//!
//! `serve --decision-log FILE` rotates `FILE` → `FILE.1` → … → `FILE.N`
//! (`docs/decision-log.md` §4), so a whole log reads `FILE.N` … `FILE.1`, then `FILE`.
//! Arguments may name `FILE`, any of its parts (a shell glob `FILE*` names them all), or a
//! directory (every regular file in it); each file is read once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// `path`'s base and part number: `log.3` → (`log`, 3), `log` → (`log`, 0).
fn split_part(path: &Path) -> (PathBuf, u32) {
    let text = path.as_os_str().to_string_lossy();
    if let Some((base, n)) = text.rsplit_once('.') {
        if !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = n.parse::<u32>() {
                if n > 0 {
                    return (PathBuf::from(base), n);
                }
            }
        }
    }
    (path.to_path_buf(), 0)
}

/// The parts of the log whose current file is `base`, found on the disk.
fn parts_of(base: &Path, into: &mut BTreeMap<PathBuf, Vec<u32>>) {
    let parts = into.entry(base.to_path_buf()).or_default();
    if base.is_file() {
        parts.push(0);
    }
    let mut n = 1;
    loop {
        let mut name = base.as_os_str().to_owned();
        name.push(format!(".{n}"));
        if !Path::new(&name).is_file() {
            break;
        }
        parts.push(n);
        n += 1;
    }
}

/// Every file to read, in reading order: per log (by name), its oldest part first.
pub fn expand(args: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut logs: BTreeMap<PathBuf, Vec<u32>> = BTreeMap::new();
    for arg in args {
        if arg.is_dir() {
            let entries = std::fs::read_dir(arg)
                .with_context(|| format!("cannot read the directory `{}`", arg.display()))?;
            for entry in entries {
                let path = entry
                    .with_context(|| format!("cannot read the directory `{}`", arg.display()))?
                    .path();
                if path.is_file() {
                    let (base, n) = split_part(&path);
                    logs.entry(base).or_default().push(n);
                }
            }
            continue;
        }
        let (base, n) = split_part(arg);
        if !arg.is_file() {
            anyhow::bail!("cannot read `{}`: no such file", arg.display());
        }
        logs.entry(base.clone()).or_default().push(n);
        parts_of(&base, &mut logs);
    }
    let mut out = Vec::new();
    for (base, mut parts) in logs {
        parts.sort_unstable_by(|a, b| b.cmp(a));
        parts.dedup();
        for n in parts {
            if n == 0 {
                out.push(base.clone());
            } else {
                let mut name = base.as_os_str().to_owned();
                name.push(format!(".{n}"));
                out.push(PathBuf::from(name));
            }
        }
    }
    if out.is_empty() {
        anyhow::bail!("no decision log file found in the arguments");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_parts_are_read_oldest_first_once() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("decisions.log");
        for name in [
            "decisions.log",
            "decisions.log.1",
            "decisions.log.2",
            "other",
        ] {
            std::fs::write(dir.path().join(name), "")?;
        }
        let names = |paths: Vec<PathBuf>| -> Vec<String> {
            paths
                .iter()
                .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
                .collect()
        };
        let from_file = expand(&[log.clone(), dir.path().join("decisions.log.1")])?;
        assert_eq!(
            names(from_file),
            ["decisions.log.2", "decisions.log.1", "decisions.log"]
        );
        let from_dir = expand(&[dir.path().to_path_buf()])?;
        assert_eq!(
            names(from_dir),
            [
                "decisions.log.2",
                "decisions.log.1",
                "decisions.log",
                "other"
            ]
        );
        assert!(expand(&[dir.path().join("missing")]).is_err());
        Ok(())
    }
}
