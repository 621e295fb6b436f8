//! Every committed corpus input and every crash the fuzzers found, through
//! the function its fuzz target calls (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`): a panic fails the test and names the file.
//! The process may map at most [`ADDRESS_SPACE`] bytes, so that an input
//! that once ran a target out of memory aborts the test instead of passing
//! slowly.

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

/// The address space the replay may use (the fuzzers allow 512 MB of resident memory).
const ADDRESS_SPACE: u64 = 4 << 30;

fn limit_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let limit = libc::rlimit {
            rlim_cur: ADDRESS_SPACE,
            rlim_max: ADDRESS_SPACE,
        };
        // SAFETY: setrlimit reads the struct we pass and changes only this process's limit.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
        assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
    });
}

fn replay(target: &str, run: fn(&[u8]), kind: &str) -> usize {
    limit_memory();
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
