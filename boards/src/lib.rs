//! Board profiles, cross builds, bundles and deployment of the siamedge
//! runtime to Raspberry Pi and Jetson boards.

pub mod board;
pub mod bundle;
pub mod cross;
pub mod deploy;
pub mod layout;

use std::path::PathBuf;

/// Why a board operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// No `boards/<name>/board.toml`.
    #[error("no board {name:?}; the boards are: {known}")]
    UnknownBoard {
        /// The name asked for.
        name: String,
        /// The board folders that exist.
        known: String,
    },
    /// A `board.toml` that does not parse or cannot work.
    #[error("{path}: {reason}")]
    InvalidProfile {
        /// The profile.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The board has no 32-bit OS image.
    #[error(
        "board {board} has no armv7 build (no 32-bit OS image exists for it); build --arch aarch64"
    )]
    NoArmv7 {
        /// The board.
        board: String,
    },
    /// A model the bundle needs is not in the models folder.
    #[error("{model} is missing (variant {variant}): run models/zoo/fetch.sh, or choose another variant with --variant")]
    MissingModel {
        /// The missing file.
        model: PathBuf,
        /// The variant that needs it.
        variant: String,
    },
    /// A model's manifest is missing or invalid.
    #[error("{path}: {reason}")]
    ModelManifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A model whose bytes are not the file its manifest describes.
    #[error("{model} has sha256 {actual} but its manifest says {expected}: re-fetch the model (models/zoo/fetch.sh) or re-calibrate it; refusing to bundle or install it")]
    ModelMismatch {
        /// The model file.
        model: PathBuf,
        /// sha256 in the manifest.
        expected: String,
        /// sha256 of the bytes.
        actual: String,
    },
    /// A bundle that is damaged or was altered.
    #[error(
        "{path} is not a valid siamedge bundle: {reason}; rebuild it with `siamedge-board build`"
    )]
    CorruptBundle {
        /// The bundle file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A cross toolchain is missing.
    #[error("{reason}")]
    Toolchain {
        /// What is missing and how to install it.
        reason: String,
    },
    /// An external command failed.
    #[error("`{command}` failed: {reason}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status or launch error.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// An atomic write failed.
    #[error(transparent)]
    Write(#[from] siamedge::store::WriteError),
}
