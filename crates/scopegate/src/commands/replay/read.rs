//! Reading a decision log into a [`Replay`], on `--jobs` threads.
//!
//! The files are cut into chunks of whole lines (about [`CHUNK_BYTES`] each; a chunk never
//! spans two files). Each chunk is decided on a worker thread into its own
//! [`Replay::fork`]; the chunks are merged back in input order (file order, then line
//! order), their lines numbered by what precedes them in their file. So the report, the
//! unreadable lines shown (`FILE:LINE`) and the line `--strict` stops on are those of
//! reading every line in turn, whatever the number of threads. The next chunks are read
//! while the previous ones are decided; memory holds a few chunks per thread, not the log.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;
use scopegate_core::replay::{read_line, Line, Replay};
use scopegate_core::Policy;

/// How many unreadable lines are shown (the rest are counted).
pub const SHOWN_ERRORS: usize = 20;

/// About how many bytes of whole lines a chunk holds (a longer line is a chunk alone).
pub const CHUNK_BYTES: usize = 1 << 20;

/// How many chunks per thread are read ahead while the previous ones are decided.
const CHUNKS_PER_JOB: usize = 4;

/// A line that was not replayed, located.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unreadable {
    /// `FILE:LINE`.
    pub at: String,
    /// Why.
    pub message: String,
}

/// What reading the log found besides decisions.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reading {
    /// The files read, in order.
    pub files: Vec<String>,
    /// Lines read (blank lines aside).
    pub lines: u64,
    /// `who_can` lines (nothing to replay).
    pub not_decisions: u64,
    /// Lines that could not be read.
    pub unreadable: u64,
    /// The first [`SHOWN_ERRORS`] of them.
    pub errors: Vec<Unreadable>,
}

/// How a log is read.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Threads deciding chunks (at least 1).
    pub jobs: usize,
    /// The first unreadable line is an error (`--strict`).
    pub strict: bool,
    /// About how many bytes a chunk holds ([`CHUNK_BYTES`]; smaller in tests).
    pub chunk_bytes: usize,
}

/// Reads every line of `files` (in order) into `replay`, whose current policy is `policy`
/// (the one the log's requests are read against).
pub fn read(
    files: &[PathBuf],
    policy: &Policy,
    options: Options,
    replay: &mut Replay<'_>,
) -> anyhow::Result<Reading> {
    let jobs = options.jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("cannot start the replay's threads")?;
    let mut reading = Reading {
        files: files.iter().map(|p| p.display().to_string()).collect(),
        ..Reading::default()
    };
    let mut chunks = Chunks::new(files, options.chunk_bytes.max(1));
    let mut numbering = Numbering::default();
    let per_batch = jobs * CHUNKS_PER_JOB;
    pool.install(|| {
        let mut batch = chunks.batch(per_batch)?;
        while !batch.is_empty() {
            let base = &*replay;
            let (next, parts) = rayon::join(
                || chunks.batch(per_batch),
                || {
                    batch
                        .par_iter()
                        .map(|chunk| decide(chunk, base, policy, options.strict))
                        .collect::<Vec<_>>()
                },
            );
            for part in parts {
                numbering.merge(part, files, options.strict, replay, &mut reading)?;
            }
            chunks.recycle(batch);
            batch = next?;
        }
        Ok(reading)
    })
}

/// A run of whole lines of one file.
struct Chunk {
    /// The file's index in the reading order.
    file: usize,
    /// The lines, each ending in `\n` but perhaps a file's last.
    bytes: Vec<u8>,
}

/// What deciding one chunk found.
struct Part<'a> {
    file: usize,
    replay: Replay<'a>,
    /// The chunk's lines, blank ones included (they number the next chunk's).
    numbered: u64,
    /// Lines read (blank lines aside).
    lines: u64,
    not_decisions: u64,
    unreadable: u64,
    /// The first [`SHOWN_ERRORS`] unreadable lines: the line's number in the chunk
    /// (1-based), and why. With `--strict`, the first only (the chunk stops there).
    errors: Vec<(u64, String)>,
}

/// Decides the lines of `chunk` into a fork of `base`.
fn decide<'a>(chunk: &Chunk, base: &Replay<'a>, policy: &Policy, strict: bool) -> Part<'a> {
    let mut part = Part {
        file: chunk.file,
        replay: base.fork(),
        numbered: 0,
        lines: 0,
        not_decisions: 0,
        unreadable: 0,
        errors: Vec::new(),
    };
    let body = chunk.bytes.strip_suffix(b"\n").unwrap_or(&chunk.bytes);
    if chunk.bytes.is_empty() {
        return part;
    }
    let mut rest = body;
    loop {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(at) => {
                let (line, tail) = rest.split_at(at);
                (line, tail.get(1..))
            }
            None => (rest, None),
        };
        part.numbered += 1;
        if !line.iter().all(u8::is_ascii_whitespace) {
            part.lines += 1;
            match read_line(line, policy) {
                Ok(Line::Decision(logged)) => part.replay.add(logged),
                Ok(Line::Other) => part.not_decisions += 1,
                Err(e) => {
                    part.unreadable += 1;
                    if part.errors.len() < SHOWN_ERRORS {
                        part.errors.push((part.numbered, e.to_string()));
                    }
                    if strict {
                        return part;
                    }
                }
            }
        }
        match next {
            Some(tail) => rest = tail,
            None => return part,
        }
    }
}

/// Where the next chunk's lines start in their file: the merge's state.
#[derive(Default)]
struct Numbering {
    /// The file of the last chunk merged.
    file: usize,
    /// Lines of that file before the next chunk.
    before: u64,
}

impl Numbering {
    /// Merges `part` (the chunk after the last one merged) into `replay` and `reading`.
    fn merge<'a>(
        &mut self,
        part: Part<'a>,
        files: &[PathBuf],
        strict: bool,
        replay: &mut Replay<'a>,
        reading: &mut Reading,
    ) -> anyhow::Result<()> {
        if part.file != self.file {
            *self = Numbering {
                file: part.file,
                before: 0,
            };
        }
        let path = files.get(part.file).map_or(Path::new(""), PathBuf::as_path);
        let at = |n: u64| format!("{}:{}", path.display(), self.before + n);
        if strict {
            if let Some((n, message)) = part.errors.first() {
                anyhow::bail!("{}: {message}", at(*n));
            }
        }
        let room = SHOWN_ERRORS.saturating_sub(reading.errors.len());
        reading.errors.extend(
            part.errors
                .iter()
                .take(room)
                .map(|(n, message)| Unreadable {
                    at: at(*n),
                    message: message.clone(),
                }),
        );
        reading.lines += part.lines;
        reading.not_decisions += part.not_decisions;
        reading.unreadable += part.unreadable;
        self.before += part.numbered;
        replay.merge(part.replay);
        Ok(())
    }
}

/// The chunks of the log's files, in order.
struct Chunks<'f> {
    files: &'f [PathBuf],
    /// The file being read (its index), open.
    open: Option<(usize, File)>,
    /// The next file to open.
    next: usize,
    /// The start of a line the last chunk did not end.
    carry: Vec<u8>,
    chunk_bytes: usize,
    /// Buffers of decided chunks, to read into again.
    spare: Vec<Vec<u8>>,
}

impl<'f> Chunks<'f> {
    fn new(files: &'f [PathBuf], chunk_bytes: usize) -> Chunks<'f> {
        Chunks {
            files,
            open: None,
            next: 0,
            carry: Vec::new(),
            chunk_bytes,
            spare: Vec::new(),
        }
    }

    /// The next `n` chunks (fewer at the end of the log, none past it).
    fn batch(&mut self, n: usize) -> anyhow::Result<Vec<Chunk>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.chunk()? {
                Some(chunk) => out.push(chunk),
                None => break,
            }
        }
        Ok(out)
    }

    /// Keeps the buffers of decided chunks for the next reads.
    fn recycle(&mut self, batch: Vec<Chunk>) {
        self.spare.extend(batch.into_iter().map(|c| c.bytes));
    }

    fn buffer(&mut self) -> Vec<u8> {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf
    }

    /// The next chunk of whole lines, `None` past the last file.
    fn chunk(&mut self) -> anyhow::Result<Option<Chunk>> {
        loop {
            let (index, file) = match &mut self.open {
                Some((index, file)) => (*index, file),
                None => {
                    let Some(path) = self.files.get(self.next) else {
                        return Ok(None);
                    };
                    let file = File::open(path)
                        .with_context(|| format!("cannot read `{}`", path.display()))?;
                    let index = self.next;
                    self.next += 1;
                    let (_, file) = self.open.insert((index, file));
                    (index, &mut *file)
                }
            };
            let path = self
                .files
                .get(index)
                .map_or(Path::new(""), PathBuf::as_path);
            let mut bytes = std::mem::take(&mut self.carry);
            let mut eof = false;
            let end = loop {
                if bytes.len() >= self.chunk_bytes {
                    if let Some(at) = memchr::memrchr(b'\n', &bytes) {
                        break at + 1;
                    }
                }
                // Up to the chunk's size, or a chunk's size more for a line longer than that.
                let want = match self.chunk_bytes.saturating_sub(bytes.len()) {
                    0 => self.chunk_bytes,
                    short => short,
                };
                let n = file
                    .by_ref()
                    .take(want as u64)
                    .read_to_end(&mut bytes)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                if n == 0 {
                    eof = true;
                    break bytes.len();
                }
            };
            if eof {
                self.open = None;
                if bytes.is_empty() {
                    self.carry = bytes;
                    continue;
                }
            } else {
                let mut carry = self.buffer();
                carry.extend_from_slice(bytes.get(end..).unwrap_or_default());
                bytes.truncate(end);
                self.carry = carry;
            }
            return Ok(Some(Chunk { file: index, bytes }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopegate_core::replay::Report;
    use scopegate_core::{Engine, Manifest, Source, World};
    use serde_json::json;

    const MANIFEST: &str = r#"
[permissions.OrganizationPermission]
object = "organization"
scope_map = { GET = ["org:read", "org:write", "org:admin"], PUT = ["org:write", "org:admin"] }

[[endpoints]]
name = "OrganizationDetailsEndpoint"
permissions = ["OrganizationPermission"]
"#;

    /// A log line; `user` 11 is a member (`org:read`), 12 is not.
    fn line(i: usize, user: u64, method: &str, reason: &str) -> String {
        json!({
            "schema_version": 1, "decision_id": format!("id{i}"),
            "timestamp": format!("2026-12-06T10:00:{:02}.000Z", (i * 7) % 60),
            "api": "check", "policy_version": "0000000000000000",
            "request": {"principal": {"kind": "session", "user": user},
                        "endpoint": "OrganizationDetailsEndpoint", "method": method,
                        "organization": "acme"},
            "decision": {"allowed": reason == "allowed", "reason": reason}
        })
        .to_string()
    }

    /// Two files of decisions (some flip), blank, unreadable and `who_can` lines, the
    /// second without a final newline.
    fn log(dir: &Path) -> Vec<PathBuf> {
        let mut texts = [String::new(), String::new()];
        for i in 0..120 {
            let text = &mut texts[i % 7 / 4];
            let l = match i % 11 {
                3 => "{\"schema_version\": 1, \"decision_id\": 7}".to_string(),
                5 => String::new(),
                7 => line(i, 11, "GET", "allowed").replace("\"check\"", "\"who_can\""),
                8 => "not json".to_string(),
                n => line(
                    i,
                    if n == 9 { 12 } else { 11 },
                    if n % 2 == 0 { "GET" } else { "PUT" },
                    if n % 2 == 0 {
                        "allowed"
                    } else {
                        "missing_scope"
                    },
                ),
            };
            text.push_str(&l);
            text.push('\n');
        }
        texts[1].pop();
        let paths = vec![dir.join("decisions.log.1"), dir.join("decisions.log")];
        for (path, text) in paths.iter().zip(&texts) {
            std::fs::write(path, text).unwrap();
        }
        paths
    }

    #[test]
    fn any_chunking_and_threads_read_as_one_thread_reading_each_line_in_turn() {
        let dir = tempfile::tempdir().unwrap();
        let files = log(dir.path());
        let policy = Policy::sentry();
        let current = Manifest::load(&Source::new("m.toml", MANIFEST), &policy).unwrap();
        let candidate = Manifest::load(
            &Source::new(
                "c.toml",
                MANIFEST.replace("GET = [\"org:read\", ", "GET = ["),
            ),
            &policy,
        )
        .unwrap();
        let world = World::build(
            &serde_json::from_value(json!({
                "organizations": [{"id": 1, "slug": "acme"}],
                "users": [{"id": 11}],
                "members": [{"id": 101, "organization": 1, "user": 11, "role": "member"}]
            }))
            .unwrap(),
            &policy,
        )
        .unwrap();
        let run = |jobs: usize, chunk_bytes: usize, strict: bool| {
            let mut replay = Replay::new(
                Engine::new(&policy, &current, &world),
                Engine::new(&policy, &candidate, &world),
                "0000000000000000",
            );
            let options = Options {
                jobs,
                strict,
                chunk_bytes,
            };
            read(&files, &policy, options, &mut replay)
                .map(|reading| (reading, replay.finish()))
                .map_err(|e| e.to_string())
        };
        let (reading, report): (Reading, Report) = run(1, CHUNK_BYTES, false).unwrap();
        // What one thread reading each line in turn finds.
        assert_eq!(reading.lines, 109);
        assert_eq!((reading.unreadable, reading.not_decisions), (22, 11));
        assert_eq!(reading.errors.len(), SHOWN_ERRORS);
        let first = &reading.errors[0];
        assert!(first.at.ends_with("decisions.log.1:4"), "{first:?}");
        assert!(
            first.message.contains("not a decision log line"),
            "{first:?}"
        );
        assert!(
            reading.errors[1].at.ends_with("decisions.log.1:6"),
            "{:?}",
            reading.errors[1]
        );
        assert!(report.totals.lost > 0 && report.totals.replayed == 76);
        assert!(report.groups.iter().any(|g| g.examples.len() == 3));
        let strict = run(1, CHUNK_BYTES, true).unwrap_err();
        assert!(strict.contains("decisions.log.1:4: column"), "{strict}");
        // Chunks of one line up to the whole file, on one to three threads.
        for chunk_bytes in [1, 7, 180, 500, 2000] {
            for jobs in [1, 3] {
                let (r, p) = run(jobs, chunk_bytes, false).unwrap();
                assert_eq!(r, reading, "{jobs} jobs, {chunk_bytes}-byte chunks");
                assert_eq!(p, report, "{jobs} jobs, {chunk_bytes}-byte chunks");
                assert_eq!(run(jobs, chunk_bytes, true).unwrap_err(), strict);
            }
        }
    }
}
