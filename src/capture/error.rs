//! What can go wrong while capturing, phrased so that a user can act on it.

use std::path::PathBuf;

use crate::image::ImageError;

/// Why a frame source failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// No device at the path.
    #[error("no camera at {path}; {}", list_or_none(.available))]
    NoDevice {
        /// The path asked for.
        path: PathBuf,
        /// The cameras that exist, e.g. `/dev/video0 (USB Camera)`.
        available: Vec<String>,
    },
    /// Another process holds the camera.
    #[error("camera {path} is busy: {}; stop it (or `systemctl stop siamedge` if it is the daemon) and try again", holders_text(.holders))]
    Busy {
        /// The camera.
        path: PathBuf,
        /// Processes that have the device open: (pid, command name).
        holders: Vec<(u32, String)>,
    },
    /// The device node is not readable and writable by this user.
    #[error("permission denied on {path}: it belongs to group {group:?}; add the user to it (`sudo usermod -aG {group} $USER`, then log in again). The board bundle's udev rule /etc/udev/rules.d/60-siamedge.rules gives that group access to cameras")]
    PermissionDenied {
        /// The device node.
        path: PathBuf,
        /// The group that owns it.
        group: String,
    },
    /// The path is a V4L2 device but not a video capture device.
    #[error("{path} is not a video capture device ({card}); {}", list_or_none(.available))]
    NotCapture {
        /// The device node.
        path: PathBuf,
        /// The driver's name for the card.
        card: String,
        /// The cameras that exist.
        available: Vec<String>,
    },
    /// None of the formats siamedge reads is offered.
    #[error("camera {path} offers none of MJPG, YUYV, GREY, RGB3; it offers: {}", .offered.join(", "))]
    FormatNotOffered {
        /// The camera.
        path: PathBuf,
        /// What it offers, as FourCC and description.
        offered: Vec<String>,
    },
    /// The camera went away while streaming (unplugged, driver unbound).
    #[error("camera {path} disconnected: {reason}")]
    Disconnected {
        /// The camera.
        path: PathBuf,
        /// What the kernel said.
        reason: String,
    },
    /// No frame arrived within the timeout.
    #[error(
        "no frame from {path} within {ms} ms (is the camera covered, or held by a hung process?)"
    )]
    Timeout {
        /// The source.
        path: PathBuf,
        /// The timeout.
        ms: u64,
    },
    /// A system call failed.
    #[error("{op} on {path}: {error}")]
    Io {
        /// The source.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A replayed image could not be read.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A replay has no (more) frames.
    #[error("{0}")]
    Exhausted(String),
    /// A shutdown was requested (SIGTERM, SIGINT) while waiting for a frame.
    #[error("capture stopped: shutdown requested")]
    Shutdown,
}

fn list_or_none(available: &[String]) -> String {
    if available.is_empty() {
        "no V4L2 capture devices exist on this machine (is the camera plugged in and its driver loaded?)".into()
    } else {
        format!("cameras on this machine: {}", available.join(", "))
    }
}

fn holders_text(holders: &[(u32, String)]) -> String {
    if holders.is_empty() {
        "another process is streaming from it (run as root to see which)".into()
    } else {
        let names: Vec<String> = holders
            .iter()
            .map(|(pid, name)| format!("pid {pid} ({name})"))
            .collect();
        format!("held by {}", names.join(", "))
    }
}
