//! A disk that fills up while siamedge writes a manifest or installs a
//! bundle leaves every previous file whole and says which file failed. The
//! disk is a 256 KiB tmpfs mounted in a user and mount namespace
//! (`unshare -rm`), where this test binary runs itself again; the test is
//! skipped, with the reason, on a machine that allows no such namespace.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use siamedge::model::{sha256_hex, Manifest};
use siamedge_boards::bundle::{Bundle, BundleFile, BundleManifest};
use siamedge_boards::deploy::install_into_rootfs;

/// The variable that hands the full disk's mount point to the inner test.
const FULL_DISK: &str = "SIAMEDGE_FULL_DISK";

#[test]
fn a_full_disk_keeps_every_previous_file_and_names_the_one_that_failed() {
    let probe = Command::new("unshare").args(["-rm", "true"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: this machine allows no user and mount namespace (unshare -rm) for a small tmpfs");
        return;
    }
    let disk = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs '{}' || exit 97; exec '{}' --exact --ignored --nocapture --test-threads=1 writes_on_the_full_disk",
        disk.path().display(),
        exe.display()
    );
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .env(FULL_DISK, disk.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        out.status.code(),
        Some(97),
        "mounting the tmpfs failed: {text}"
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("1 passed"),
        "the inner test did not run: {text}"
    );
}

/// Fills the file system holding `dir` until a write fails with ENOSPC.
fn fill(dir: &Path) {
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = [0u8; PAGE];
    loop {
        if let Err(e) = f.write_all(&block).and_then(|()| f.sync_all()) {
            assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
            return;
        }
    }
}

/// The size of a tmpfs page, the unit it allocates in.
const PAGE: usize = 4096;

/// Frees `bytes` of the space [`fill`] took.
fn free(dir: &Path, bytes: usize) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("filler"))
        .unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len - bytes as u64).unwrap();
}

/// Names of the files in `dir` left by an interrupted write.
fn leftovers(dir: &Path) -> Vec<String> {
    walk(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".tmp"))
        })
        .map(|p| p.display().to_string())
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A bundle of three files of `size` bytes, each filled with `fill`.
fn bundle(size: usize, fill: u8) -> Bundle {
    let mut contents = BTreeMap::new();
    let mut files = Vec::new();
    for path in [
        "/usr/bin/siamedge",
        "/var/lib/siamedge/models/MobileFaceNet.onnx",
        "/etc/siamedge/siamedge.toml",
    ] {
        let data = vec![fill; size];
        files.push(BundleFile {
            path: path.into(),
            sha256: sha256_hex(&data),
            mode: 0o644,
        });
        contents.insert(path.to_string(), data);
    }
    Bundle {
        manifest: BundleManifest {
            board: "full-disk".into(),
            target: "aarch64-unknown-linux-gnu".into(),
            target_cpu: "cortex-a72".into(),
            version: siamedge_boards::bundle::siamedge_version().into(),
            variant: "fp32".into(),
            files,
        },
        contents,
    }
}

#[test]
#[ignore = "run inside a mount namespace by a_full_disk_keeps_every_previous_file_and_names_the_one_that_failed"]
fn writes_on_the_full_disk() {
    let disk = PathBuf::from(std::env::var_os(FULL_DISK).expect(
        "SIAMEDGE_FULL_DISK names the small tmpfs: run this through a_full_disk_keeps_every_previous_file_and_names_the_one_that_failed",
    ));

    let zoo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/zoo/MobileFaceNet.toml");
    let manifest_path = disk.join("MobileFaceNet.toml");
    let mut manifest = Manifest::load(&zoo).unwrap();
    manifest.save(&manifest_path).unwrap();
    let before = std::fs::read(&manifest_path).unwrap();

    let rootfs = disk.join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    let first = bundle(16 << 10, b'1');
    install_into_rootfs(&first, &rootfs).unwrap();

    fill(&disk);

    manifest
        .thresholds_calibrated_on
        .push_str(" (recalibrated)");
    let err = manifest.save(&manifest_path).unwrap_err().to_string();
    assert!(err.contains("MobileFaceNet.toml"), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(std::fs::read(&manifest_path).unwrap(), before);

    let pages = manifest.to_toml().len().div_ceil(PAGE);
    free(&disk, pages * PAGE);
    manifest.save(&manifest_path).unwrap();
    assert_eq!(
        std::fs::read(&manifest_path).unwrap(),
        manifest.to_toml().as_bytes()
    );
    assert_eq!(
        std::fs::read(siamedge::store::backup_path(&manifest_path)).unwrap(),
        before,
        "with room for the new file only, the backup is still whole"
    );
    fill(&disk);

    let second = bundle(16 << 10, b'2');
    let err = install_into_rootfs(&second, &rootfs)
        .unwrap_err()
        .to_string();
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains(&rootfs.display().to_string()), "{err}");
    for f in &first.manifest.files {
        let installed = std::fs::read(rootfs.join(f.path.trim_start_matches('/'))).unwrap();
        assert!(
            installed == first.contents[&f.path] || installed == second.contents[&f.path],
            "{} is neither the old nor the new version",
            f.path
        );
    }
    let failed = first
        .manifest
        .files
        .iter()
        .find(|f| err.contains(f.path.trim_start_matches('/')))
        .expect("the error names the file it could not write");
    assert_eq!(
        std::fs::read(rootfs.join(failed.path.trim_start_matches('/'))).unwrap(),
        first.contents[&failed.path]
    );
    assert_eq!(leftovers(&disk), Vec::<String>::new());
    println!("full disk: {err}");
}
