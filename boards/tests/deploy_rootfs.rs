//! A bundle for rpi4 and rpi5, installed into a temporary root filesystem,
//! puts every file where the systemd unit looks for it; damaged bundles and
//! models that do not match their manifests are refused; every board profile
//! bundles the models `models/zoo/fetch.sh` installs, with its own variant.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use siamedge::config::DeviceConfig;
use siamedge::model::{sha256_hex, Manifest};
use siamedge_boards::board::{default_boards_dir, Arch, Board};
use siamedge_boards::bundle::{Bundle, SUPPORT_MODELS};
use siamedge_boards::deploy::install_into_rootfs;
use siamedge_boards::{layout, BoardError};

/// A models folder of small stand-in model files with the repository's real
/// manifests, each pointing at its stand-in's sha256.
fn fixture_models(dir: &Path) -> PathBuf {
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    let zoo = default_boards_dir().join("../models/zoo");
    for name in SUPPORT_MODELS.iter().copied().chain(["MobileFaceNet.onnx"]) {
        let onnx = format!("stand-in for {name}").into_bytes();
        let mut manifest = Manifest::load(&Manifest::path_for(&zoo.join(name))).unwrap();
        manifest.sha256 = sha256_hex(&onnx);
        std::fs::create_dir_all(models.join(name).parent().unwrap()).unwrap();
        std::fs::write(models.join(name), &onnx).unwrap();
        std::fs::write(Manifest::path_for(&models.join(name)), manifest.to_toml()).unwrap();
    }
    models
}

fn fixture_binary(dir: &Path) -> PathBuf {
    let binary = dir.join("siamedge");
    std::fs::write(&binary, b"\x7fELF stand-in runtime binary").unwrap();
    binary
}

/// The bundle of `board` for `arch`, from a fresh stand-in binary and models in `dir`.
fn fixture_bundle(dir: &Path, board: &Board, arch: Arch) -> Result<Bundle, BoardError> {
    Bundle::assemble(
        board,
        arch,
        &fixture_binary(dir),
        None,
        &fixture_models(dir),
    )
}

/// The value after `flag` on the unit's ExecStart line.
fn exec_start_arg(unit: &str, flag: &str) -> String {
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let words: Vec<&str> = exec.split_whitespace().collect();
    let i = words.iter().position(|w| *w == flag).unwrap();
    words[i + 1].to_string()
}

fn in_rootfs(rootfs: &Path, path: &str) -> PathBuf {
    rootfs.join(path.trim_start_matches('/'))
}

#[test]
fn rpi4_and_rpi5_bundles_install_where_the_unit_expects_them() {
    for name in ["rpi4", "rpi5"] {
        let work = tempfile::tempdir().unwrap();
        let board = Board::load(&default_boards_dir(), name).unwrap();
        let bundle = fixture_bundle(work.path(), &board, Arch::Aarch64).unwrap();
        let file = bundle.write(&work.path().join("bundles")).unwrap();
        assert!(file.ends_with(format!("siamedge-{name}-aarch64.tar.gz")));

        let rootfs = work.path().join("rootfs");
        std::fs::create_dir(&rootfs).unwrap();
        let report = install_into_rootfs(&Bundle::open(&file).unwrap(), &rootfs).unwrap();
        assert_eq!(report.written.len(), bundle.manifest.files.len());

        let unit = std::fs::read_to_string(in_rootfs(&rootfs, layout::UNIT)).unwrap();
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        let binary = in_rootfs(&rootfs, exec.split_whitespace().next().unwrap());
        let mode = std::fs::metadata(&binary).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "{}", binary.display());

        let config_path = in_rootfs(&rootfs, &exec_start_arg(&unit, "--config"));
        let config = DeviceConfig::load(&config_path).unwrap();
        assert_eq!(config, board.device);
        let models = in_rootfs(&rootfs, &exec_start_arg(&unit, "--models"));
        assert_eq!(
            models,
            in_rootfs(&rootfs, &config.models.display().to_string())
        );
        for model in SUPPORT_MODELS
            .iter()
            .copied()
            .chain([config.variant.embedder_file()])
        {
            let onnx = std::fs::read(models.join(model)).unwrap();
            let manifest = Manifest::load_for(&models.join(model)).unwrap();
            assert_eq!(sha256_hex(&onnx), manifest.sha256, "{model}");
        }

        let rule = std::fs::read_to_string(in_rootfs(&rootfs, layout::UDEV_RULE)).unwrap();
        for node in [&config.camera.device, &config.gpio.chip] {
            let node = node.file_name().unwrap().to_str().unwrap();
            assert!(rule.contains(&format!("KERNEL==\"{node}\"")), "{rule}");
            assert!(
                unit.contains(&format!("DeviceAllow=/dev/{node} rw")),
                "{unit}"
            );
        }
    }
}

#[test]
fn a_reinstall_keeps_backups_and_a_changed_configuration() {
    let work = tempfile::tempdir().unwrap();
    let board = Board::load(&default_boards_dir(), "rpi4").unwrap();
    let models = fixture_models(work.path());
    let binary = fixture_binary(work.path());
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    let first = Bundle::assemble(&board, Arch::Aarch64, &binary, None, &models).unwrap();
    install_into_rootfs(&first, &rootfs).unwrap();

    let config = in_rootfs(&rootfs, layout::CONFIG);
    let edited = std::fs::read_to_string(&config)
        .unwrap()
        .replace("threads = 4", "threads = 2");
    std::fs::write(&config, &edited).unwrap();
    std::fs::write(&binary, b"\x7fELF a newer runtime").unwrap();
    let second = Bundle::assemble(&board, Arch::Aarch64, &binary, None, &models).unwrap();
    let report = install_into_rootfs(&second, &rootfs).unwrap();

    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
    let kept = report.kept_config.unwrap();
    assert!(kept.ends_with("siamedge.toml.new"));
    assert_eq!(DeviceConfig::load(&kept).unwrap(), board.device);
    let installed = in_rootfs(&rootfs, layout::BINARY);
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        b"\x7fELF a newer runtime"
    );
    let backup = siamedge::store::backup_path(&installed);
    assert_eq!(
        std::fs::read(backup).unwrap(),
        b"\x7fELF stand-in runtime binary"
    );
    assert_eq!(report.written, vec![installed]);
}

#[test]
fn a_model_that_does_not_match_its_manifest_is_not_bundled() {
    let work = tempfile::tempdir().unwrap();
    let board = Board::load(&default_boards_dir(), "rpi5").unwrap();
    let models = fixture_models(work.path());
    std::fs::write(models.join("onet.onnx"), b"a different onet").unwrap();
    let err = Bundle::assemble(
        &board,
        Arch::Aarch64,
        &fixture_binary(work.path()),
        None,
        &models,
    )
    .unwrap_err();
    assert!(matches!(err, BoardError::ModelMismatch { .. }), "{err}");
    assert!(err.to_string().contains("onet.onnx"), "{err}");
}

#[test]
fn a_missing_variant_names_the_file_and_the_fix() {
    let work = tempfile::tempdir().unwrap();
    let board = Board::load(&default_boards_dir(), "rpi3").unwrap();
    let err = fixture_bundle(work.path(), &board, Arch::Armv7)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MobileFaceNet.int8.onnx") && err.contains("--variant"),
        "{err}"
    );
}

#[test]
fn every_board_profile_bundles_the_fetched_models_with_its_own_variant() {
    let models = default_boards_dir().join("../models/build/onnx");
    if !models.join("MobileFaceNet.onnx").is_file() {
        eprintln!("skipped: models/build/onnx has no models; run models/zoo/fetch.sh");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let binary = fixture_binary(work.path());
    for name in Board::names(&default_boards_dir()).unwrap() {
        let board = Board::load(&default_boards_dir(), &name).unwrap();
        let bundle = Bundle::assemble(&board, Arch::Aarch64, &binary, None, &models)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let embedder = format!(
            "{}/{}",
            layout::MODELS,
            board.device.variant.embedder_file()
        );
        assert!(
            bundle.contents.contains_key(&embedder),
            "{name}: no {embedder}"
        );
    }
}

#[test]
fn damaged_or_altered_bundles_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let board = Board::load(&default_boards_dir(), "rpi4").unwrap();
    let bundle = fixture_bundle(work.path(), &board, Arch::Aarch64).unwrap();
    let good = bundle.to_tar_gz();

    let truncated = work.path().join("truncated.tar.gz");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let err = Bundle::open(&truncated).unwrap_err().to_string();
    assert!(
        err.contains("truncated.tar.gz") && err.contains("siamedge-board build"),
        "{err}"
    );

    let mut altered = Bundle {
        manifest: bundle.manifest.clone(),
        contents: bundle.contents.clone(),
    };
    let model = format!("{}/pnet.onnx", layout::MODELS);
    altered
        .contents
        .insert(model.clone(), b"swapped weights".to_vec());
    let path = work.path().join("altered.tar.gz");
    std::fs::write(&path, altered.to_tar_gz()).unwrap();
    let err = Bundle::open(&path).unwrap_err().to_string();
    assert!(err.contains("pnet.onnx") && err.contains("sha256"), "{err}");

    let rootfs = work.path().join("no-such-rootfs");
    let err = install_into_rootfs(&bundle, &rootfs)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-such-rootfs") && err.contains("mount"),
        "{err}"
    );
}

#[test]
fn the_cli_verifies_and_deploys_a_bundle_into_a_rootfs() {
    let work = tempfile::tempdir().unwrap();
    let board = Board::load(&default_boards_dir(), "rpi5").unwrap();
    let bundle = fixture_bundle(work.path(), &board, Arch::Aarch64).unwrap();
    let file = bundle.write(work.path()).unwrap();
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    let cli = env!("CARGO_BIN_EXE_siamedge-board");
    let verify = std::process::Command::new(cli)
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains(layout::UDEV_RULE));
    let deploy = std::process::Command::new(cli)
        .arg("deploy")
        .arg(&file)
        .arg("--rootfs")
        .arg(&rootfs)
        .output()
        .unwrap();
    assert!(
        deploy.status.success(),
        "{}",
        String::from_utf8_lossy(&deploy.stderr)
    );
    assert!(in_rootfs(&rootfs, layout::BINARY).is_file());
    let neither = std::process::Command::new(cli)
        .arg("deploy")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!neither.status.success());
    assert!(String::from_utf8_lossy(&neither.stderr).contains("--rootfs"));
}

#[test]
fn the_pam_module_and_its_profile_are_installed_where_libpam_looks() {
    let work = tempfile::tempdir().unwrap();
    let board = Board::load(&default_boards_dir(), "rpi4").unwrap();
    let module = work.path().join("libpam_siamedge.so");
    std::fs::write(&module, b"\x7fELF stand-in PAM module").unwrap();
    for (arch, dir) in [
        (Arch::Aarch64, "/usr/lib/aarch64-linux-gnu/security"),
        (Arch::Armv7, "/usr/lib/arm-linux-gnueabihf/security"),
    ] {
        let bundle = Bundle::assemble(
            &board,
            arch,
            &fixture_binary(work.path()),
            Some(&module),
            &fixture_models(work.path()),
        )
        .unwrap();
        let rootfs = work.path().join(format!("rootfs-{arch:?}"));
        std::fs::create_dir(&rootfs).unwrap();
        install_into_rootfs(&bundle, &rootfs).unwrap();
        let installed = in_rootfs(&rootfs, &format!("{dir}/pam_siamedge.so"));
        assert_eq!(
            std::fs::read(&installed).unwrap(),
            b"\x7fELF stand-in PAM module"
        );
        assert_eq!(
            std::fs::metadata(&installed).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let profile = std::fs::read_to_string(in_rootfs(&rootfs, layout::PAM_CONFIG)).unwrap();
        assert!(
            profile.contains("pam_siamedge.so") && profile.contains("Default: no"),
            "{profile}"
        );
    }
}
