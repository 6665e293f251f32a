//! Replays the frozen fuzz corpus (`fuzz/corpus/<target>/`, committed) through the same
//! functions the cargo-fuzz targets call, on stable Rust: every input ever kept stays a
//! regression test.

use std::path::PathBuf;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn every_corpus_input_passes_its_target() {
    for (target, run) in scopegate_fuzz::TARGETS {
        let dir = corpus(target);
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        assert!(
            entries.len() >= 10,
            "{target}: a corpus of {} inputs",
            entries.len()
        );
        for path in entries {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", path.display());
        }
    }
}
