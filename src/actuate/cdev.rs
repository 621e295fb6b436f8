//! Real output pins: lines of a GPIO character device (`/dev/gpiochipN`),
//! requested with consumer label `siamedge` and their safe level as the
//! initial value, so that start-up never glitches a relay on.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use embedded_hal::digital::{ErrorType, OutputPin};
use linux_embedded_hal::gpio_cdev::{Chip, LineRequestFlags};
use linux_embedded_hal::{CdevPin, CdevPinError};

use super::{Led, Polarity, Relay, SafeLineGuard};

/// The consumer label siamedge's lines carry (`gpioinfo`, `/sys/kernel/debug/gpio`).
pub const CONSUMER: &str = "siamedge";

/// Why a GPIO line could not be had.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    /// No such chip.
    #[error("no GPIO chip at {chip}; {}", chips_text(.available))]
    NoChip {
        /// The path asked for.
        chip: PathBuf,
        /// The chips that exist.
        available: Vec<String>,
    },
    /// The chip has fewer lines.
    #[error("{chip} has {lines} lines (0..{}); line {line} does not exist", .lines.saturating_sub(1))]
    NoLine {
        /// The chip.
        chip: PathBuf,
        /// The line asked for.
        line: u32,
        /// How many lines it has.
        lines: u32,
    },
    /// Another consumer holds the line.
    #[error("{chip} line {line} is busy: held by {consumer:?}; free it (a device-tree overlay, another program, or `systemctl stop siamedge`) or pick another line")]
    Busy {
        /// The chip.
        chip: PathBuf,
        /// The line.
        line: u32,
        /// The holder's consumer label.
        consumer: String,
    },
    /// The chip is not accessible to this user.
    #[error("permission denied on {chip}: add the user to group {group:?} (`sudo usermod -aG {group} $USER`, then log in again); the board bundle's udev rule /etc/udev/rules.d/60-siamedge.rules gives that group access to GPIO chips")]
    PermissionDenied {
        /// The chip.
        chip: PathBuf,
        /// The group owning it.
        group: String,
    },
    /// Every safe-state slot is taken (more than 8 lines held).
    #[error("too many GPIO lines held at once to guarantee their safe state")]
    TooManyLines,
    /// Another failure.
    #[error("{chip} line {line}: {reason}")]
    Other {
        /// The chip.
        chip: PathBuf,
        /// The line.
        line: u32,
        /// What went wrong.
        reason: String,
    },
}

fn chips_text(available: &[String]) -> String {
    if available.is_empty() {
        "this machine has no GPIO character devices".into()
    } else {
        format!("GPIO chips here: {}", available.join(", "))
    }
}

/// The GPIO chips of this machine, e.g. `/dev/gpiochip0 (pinctrl-bcm2711, 58 lines)`.
pub fn list_chips() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/dev") else {
        return Vec::new();
    };
    let mut chips: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("gpiochip"))
        .map(|e| {
            let path = e.path();
            match Chip::new(&path) {
                Ok(c) => format!(
                    "{} ({}, {} lines)",
                    path.display(),
                    c.label(),
                    c.num_lines()
                ),
                Err(_) => path.display().to_string(),
            }
        })
        .collect();
    chips.sort();
    chips
}

/// An output line held by siamedge: an embedded-hal `OutputPin`, registered
/// for the signal and panic paths with its safe level.
pub struct OutputLine {
    pin: CdevPin,
    _safe: SafeLineGuard,
}

impl std::fmt::Debug for OutputLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputLine").finish_non_exhaustive()
    }
}

/// Requests `line` on `chip` as an output that starts at `safe_high` and is
/// driven back to it on SIGTERM, SIGINT, SIGHUP and panic.
pub fn open_output_line(chip: &Path, line: u32, safe_high: bool) -> Result<OutputLine, GpioError> {
    let other = |reason: String| GpioError::Other {
        chip: chip.to_path_buf(),
        line,
        reason,
    };
    let mut c = Chip::new(chip).map_err(|e| match io_errno(&e) {
        Some(libc::EACCES) | Some(libc::EPERM) => GpioError::PermissionDenied {
            chip: chip.to_path_buf(),
            group: crate::capture::v4l2::diagnose::owning_group(chip),
        },
        Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENOTTY) => GpioError::NoChip {
            chip: chip.to_path_buf(),
            available: list_chips(),
        },
        _ => other(e.to_string()),
    })?;
    if line >= c.num_lines() {
        return Err(GpioError::NoLine {
            chip: chip.to_path_buf(),
            line,
            lines: c.num_lines(),
        });
    }
    let l = c.get_line(line).map_err(|e| other(e.to_string()))?;
    let handle = l
        .request(LineRequestFlags::OUTPUT, safe_high as u8, CONSUMER)
        .map_err(|e| match io_errno(&e) {
            Some(libc::EBUSY) => GpioError::Busy {
                chip: chip.to_path_buf(),
                line,
                consumer: l
                    .info()
                    .ok()
                    .and_then(|i| i.consumer().map(str::to_string))
                    .unwrap_or_else(|| "another consumer".into()),
            },
            _ => other(e.to_string()),
        })?;
    let safe =
        SafeLineGuard::register(handle.as_raw_fd(), safe_high).ok_or(GpioError::TooManyLines)?;
    let pin = CdevPin::new(handle).map_err(|e| other(e.to_string()))?;
    Ok(OutputLine { pin, _safe: safe })
}

/// The door relay on `chip` line `line`, requested at its off level
/// (high for an active-low board) and driven off.
pub fn open_relay(
    chip: &Path,
    line: u32,
    active_low: bool,
) -> Result<Relay<OutputLine>, GpioError> {
    let pin = open_output_line(chip, line, active_low)?;
    let polarity = if active_low {
        Polarity::ActiveLow
    } else {
        Polarity::ActiveHigh
    };
    Relay::new(pin, polarity).map_err(|e| GpioError::Other {
        chip: chip.to_path_buf(),
        line,
        reason: e.to_string(),
    })
}

/// The status LED on `chip` line `line`, dark.
pub fn open_led(chip: &Path, line: u32) -> Result<Led<OutputLine>, GpioError> {
    Led::new(open_output_line(chip, line, false)?).map_err(|e| GpioError::Other {
        chip: chip.to_path_buf(),
        line,
        reason: e.to_string(),
    })
}

/// The errno inside a gpio-cdev error, when it carries one.
fn io_errno(e: &linux_embedded_hal::gpio_cdev::Error) -> Option<i32> {
    let source = std::error::Error::source(e)?;
    source
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::raw_os_error)
        .or_else(|| {
            source
                .downcast_ref::<nix::errno::Errno>()
                .map(|n| *n as i32)
        })
}

impl ErrorType for OutputLine {
    type Error = CdevPinError;
}

impl OutputPin for OutputLine {
    fn set_low(&mut self) -> Result<(), CdevPinError> {
        self.pin.set_low()
    }

    fn set_high(&mut self) -> Result<(), CdevPinError> {
        self.pin.set_high()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_chip_is_named() {
        let e = open_output_line(Path::new("/dev/gpiochip-none-such"), 17, false).unwrap_err();
        assert!(matches!(e, GpioError::NoChip { .. }), "{e}");
        assert!(e.to_string().contains("/dev/gpiochip-none-such"), "{e}");
    }
}
