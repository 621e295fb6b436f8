//! Every committed corpus input and every crash the fuzzers found, through
//! the function its fuzz target calls (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`): a panic fails the test and names the file.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8]), kind: &str) -> usize {
    let files = inputs(&fuzz_dir().join(kind).join(target));
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target} panicked on {}", f.display());
    }
    files.len()
}

#[test]
fn every_target_has_a_corpus_and_survives_it() {
    for (target, run) in siamedge_hostile::TARGETS {
        let seeds = replay(target, run, "corpus");
        assert!(seeds > 0, "fuzz/corpus/{target} is empty or missing");
    }
}

#[test]
fn every_crash_found_stays_fixed() {
    for (target, run) in siamedge_hostile::TARGETS {
        replay(target, run, "regressions");
    }
}

#[test]
fn empty_and_truncated_inputs_are_refused_quietly() {
    for (_, run) in siamedge_hostile::TARGETS {
        run(b"");
        run(&[0xff; 7]);
        run(b"\x89PNG\r\n\x1a\n");
        run(b"[input]\nshape = [1, 3, 99999999, 99999999]\n");
    }
}
