//! Facts for error messages: which cameras exist, who holds a device, which
//! group owns it. Read from sysfs, `/proc` and `/etc/group`.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::capture::CaptureError;

/// The V4L2 devices of this machine, e.g. `/dev/video0 (USB Camera) = /dev/v4l/by-id/usb-...`.
pub fn list_cameras() -> Vec<String> {
    let Ok(entries) = fs::read_dir("/sys/class/video4linux") else {
        return Vec::new();
    };
    let by_id: Vec<(PathBuf, PathBuf)> = fs::read_dir("/dev/v4l/by-id")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| Some((fs::canonicalize(e.path()).ok()?, e.path())))
                .collect()
        })
        .unwrap_or_default();
    let mut cameras: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let node = e.file_name().to_string_lossy().into_owned();
            if !node.starts_with("video") {
                return None;
            }
            let dev = PathBuf::from("/dev").join(&node);
            let name = fs::read_to_string(e.path().join("name")).unwrap_or_default();
            let mut text = format!("{} ({})", dev.display(), name.trim());
            for (target, link) in &by_id {
                if *target == dev {
                    text.push_str(&format!(" = {}", link.display()));
                }
            }
            Some(text)
        })
        .collect();
    cameras.sort();
    cameras
}

/// Processes other than this one that have `device` open: (pid, command name).
pub fn holders(device: &Path) -> Vec<(u32, String)> {
    let Ok(target) = fs::canonicalize(device) else {
        return Vec::new();
    };
    let me = std::process::id();
    let Ok(procs) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for p in procs.filter_map(|e| e.ok()) {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        if fds
            .filter_map(|e| e.ok())
            .any(|fd| fs::read_link(fd.path()).is_ok_and(|t| t == target))
        {
            let comm = fs::read_to_string(p.path().join("comm")).unwrap_or_default();
            found.push((pid, comm.trim().to_string()));
        }
    }
    found
}

/// The name of the group owning `path` (its number when `/etc/group` does not name it).
pub fn owning_group(path: &Path) -> String {
    let Ok(gid) = fs::metadata(path).map(|m| m.gid()) else {
        return "video".into();
    };
    fs::read_to_string("/etc/group")
        .ok()
        .and_then(|groups| {
            groups.lines().find_map(|line| {
                let mut f = line.split(':');
                let name = f.next()?;
                let id = f.nth(1)?.parse::<u32>().ok()?;
                (id == gid).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| gid.to_string())
}

/// The error a user can act on for a failed open or ioctl on `path`.
pub fn explain(path: &Path, op: &'static str, error: io::Error) -> CaptureError {
    match error.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENXIO) => CaptureError::NoDevice {
            path: path.to_path_buf(),
            available: list_cameras(),
        },
        Some(libc::ENODEV) => CaptureError::Disconnected {
            path: path.to_path_buf(),
            reason: format!("{op}: the device was removed (ENODEV)"),
        },
        Some(libc::EACCES) | Some(libc::EPERM) => CaptureError::PermissionDenied {
            path: path.to_path_buf(),
            group: owning_group(path),
        },
        Some(libc::EBUSY) => CaptureError::Busy {
            path: path.to_path_buf(),
            holders: holders(path),
        },
        _ => CaptureError::Io {
            path: path.to_path_buf(),
            op,
            error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_holding_a_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("video9");
        fs::write(&node, b"").unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exec 3<{}; exec sleep 5", node.display()))
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let mut held = Vec::new();
        while held.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            held = holders(&node);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0].0, child.id());
        let e = explain(
            &node,
            "VIDIOC_REQBUFS",
            io::Error::from_raw_os_error(libc::EBUSY),
        );
        assert!(e.to_string().contains("busy"), "{e}");
    }

    #[test]
    fn errno_maps_to_an_actionable_error() {
        let missing = Path::new("/dev/video-none-such");
        let e = explain(missing, "open", io::Error::from_raw_os_error(libc::ENOENT));
        assert!(
            e.to_string().contains("no camera at /dev/video-none-such"),
            "{e}"
        );
        let e = explain(
            Path::new("/"),
            "open",
            io::Error::from_raw_os_error(libc::EACCES),
        );
        assert!(e.to_string().contains("usermod -aG root"), "{e}");
        let e = explain(
            missing,
            "VIDIOC_DQBUF",
            io::Error::from_raw_os_error(libc::ENODEV),
        );
        assert!(matches!(e, CaptureError::Disconnected { .. }), "{e}");
    }
}
