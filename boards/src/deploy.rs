//! Installing a verified bundle: into a mounted root filesystem, or over
//! ssh/rsync to a running board.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bundle::Bundle;
use crate::{layout, BoardError};

/// The list of files to copy, written into the staged root filesystem for
/// `rsync --files-from`.
const FILE_LIST: &str = ".siamedge-files";

/// What an installation did to each file.
#[derive(Debug, Default, PartialEq)]
pub struct InstallReport {
    /// Written (a changed file's previous version kept as `NAME.bak`).
    pub written: Vec<PathBuf>,
    /// Already identical.
    pub unchanged: Vec<PathBuf>,
    /// A configuration the user had changed: kept, the bundle's version
    /// written beside it as `NAME.new`.
    pub kept_config: Option<PathBuf>,
}

/// Installs `bundle` under `rootfs` (the board's `/`). Each file is written
/// atomically and an existing different file is kept as `NAME.bak`; an
/// existing, different device configuration is left alone.
pub fn install_into_rootfs(bundle: &Bundle, rootfs: &Path) -> Result<InstallReport, BoardError> {
    if !rootfs.is_dir() {
        return Err(BoardError::Io {
            path: rootfs.to_path_buf(),
            error: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the root filesystem folder does not exist (mount the SD card's root partition first)",
            ),
        });
    }
    let mut report = InstallReport::default();
    for f in &bundle.manifest.files {
        let data = &bundle.contents[&f.path];
        let mut dest = rootfs.join(f.path.trim_start_matches('/'));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |error| BoardError::Io { path, error }
        };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        if let Ok(existing) = std::fs::read(&dest) {
            if existing == *data {
                report.unchanged.push(dest);
                continue;
            }
            if f.path == layout::CONFIG {
                dest.set_extension("toml.new");
                report.kept_config = Some(dest.clone());
            }
        }
        siamedge::store::write_atomic(&dest, data)?;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(f.mode))
            .map_err(io(&dest))?;
        if report.kept_config.as_ref() != Some(&dest) {
            report.written.push(dest);
        }
    }
    enable_unit(rootfs)?;
    Ok(report)
}

/// Enables the unit in `rootfs` as `systemctl enable` would: a link in
/// multi-user.target.wants to the installed unit.
fn enable_unit(rootfs: &Path) -> Result<(), BoardError> {
    let link = rootfs.join(layout::UNIT_WANTS.trim_start_matches('/'));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| BoardError::Io { path, error }
    };
    if let Some(parent) = link.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    if std::fs::read_link(&link).is_ok_and(|t| t == Path::new(layout::UNIT)) {
        return Ok(());
    }
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(layout::UNIT, &link).map_err(io(&link))
}

/// The commands that copy a staged root filesystem to `host` and reload
/// systemd and udev there: rsync keeps each replaced file as `NAME.bak`, and
/// never overwrites an existing device configuration.
pub fn ssh_commands(stage: &Path, host: &str) -> Vec<Vec<String>> {
    let stage_root = format!("{}/", stage.display());
    let list = stage.join(FILE_LIST);
    let mut rsync_all: Vec<String> = ["rsync", "-lptz", "--backup", "--suffix=.bak"]
        .map(String::from)
        .to_vec();
    rsync_all.push(format!("--files-from={}", list.display()));
    rsync_all.extend([stage_root.clone(), format!("{host}:/")]);
    vec![
        rsync_all,
        vec![
            "rsync".into(),
            "-lptz".into(),
            "--ignore-existing".into(),
            "--mkpath".into(),
            format!("{stage_root}{}", layout::CONFIG.trim_start_matches('/')),
            format!("{host}:{}", layout::CONFIG),
        ],
        vec![
            "ssh".into(),
            host.into(),
            "systemctl daemon-reload && udevadm control --reload-rules && udevadm trigger && systemctl enable siamedge.service && systemctl restart siamedge.service".into(),
        ],
    ]
}

/// Installs `bundle` on a running board over ssh: stages it in a temporary
/// root filesystem, then runs [`ssh_commands`] (or only prints them).
pub fn install_over_ssh(bundle: &Bundle, host: &str, dry_run: bool) -> Result<(), BoardError> {
    let stage = tempfile::tempdir().map_err(|error| BoardError::Io {
        path: std::env::temp_dir(),
        error,
    })?;
    install_into_rootfs(bundle, stage.path())?;
    let list: String = bundle
        .manifest
        .files
        .iter()
        .filter(|f| f.path != layout::CONFIG)
        .map(|f| format!("{}\n", f.path.trim_start_matches('/')))
        .collect();
    let list_path = stage.path().join(FILE_LIST);
    std::fs::write(&list_path, list).map_err(|error| BoardError::Io {
        path: list_path,
        error,
    })?;
    for cmd in ssh_commands(stage.path(), host) {
        let shown: Vec<String> = cmd
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.clone()
                }
            })
            .collect();
        println!("+ {}", shown.join(" "));
        if dry_run {
            continue;
        }
        let status = Command::new(&cmd[0])
            .args(&cmd[1..])
            .status()
            .map_err(|error| BoardError::Command {
                command: cmd.join(" "),
                reason: error.to_string(),
            })?;
        if !status.success() {
            return Err(BoardError::Command {
                command: cmd.join(" "),
                reason: status.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_ssh_files_are_backed_up_and_the_configuration_is_never_overwritten() {
        let cmds = ssh_commands(Path::new("/tmp/stage"), "pi@door");
        assert_eq!(cmds.len(), 3);
        let all = cmds[0].join(" ");
        assert!(
            all.starts_with("rsync ") && all.contains("--backup --suffix=.bak"),
            "{all}"
        );
        assert!(
            all.contains("--files-from=/tmp/stage/.siamedge-files"),
            "{all}"
        );
        assert!(all.ends_with("/tmp/stage/ pi@door:/"), "{all}");
        let config = cmds[1].join(" ");
        assert!(config.contains("--ignore-existing"), "{config}");
        assert!(config.ends_with(&format!(
            "/tmp/stage/etc/siamedge/siamedge.toml pi@door:{}",
            layout::CONFIG
        )));
        assert_eq!(cmds[2][..2], ["ssh", "pi@door"]);
    }
}
