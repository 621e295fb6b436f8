//! Command-line definitions and dispatch.

mod bench;
mod calibrate;
mod capture;
mod compare;
mod device_config;
mod eval;
mod gpio;
mod info;
mod liveness_eval;
mod otb;
mod track;
mod unlock;
mod unlock_eval;

use std::path::{Path, PathBuf};

/// Where `models/zoo/fetch.sh` puts the models in a checkout.
pub const DEFAULT_MODELS: &str = "models/build/onnx";

use clap::{Parser, Subcommand};

/// Siamese networks on small ARM boards: face unlock and Siamese tracking through tract.
///
/// Models are read from --models (default: models/build/onnx, written by
/// `models/zoo/fetch.sh`); every X.onnx needs its manifest X.toml beside it.
#[derive(Debug, Parser)]
#[command(name = "siamedge", version, about, long_about)]
pub struct Cli {
    /// Folder holding pnet/rnet/onet.onnx and MobileFaceNet.onnx with their
    /// manifests [default: a --config file's models folder, else models/build/onnx].
    #[arg(long, global = true, env = "SIAMEDGE_MODELS")]
    models: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compare the faces in two photos: score, decision and per-stage timings.
    Compare(compare::CompareArgs),
    /// Calibrate decision thresholds at fixed false-accept rates on LFW people in no pair.
    #[command(subcommand)]
    Calibrate(calibrate::CalibrateCommand),
    /// Evaluate on a data set with a standard protocol.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Single-thread latency: the embedding model, and the whole pipeline on photos.
    Bench(bench::BenchArgs),
    /// Show a model's manifest and its optimised graph.
    Info(info::InfoArgs),
    /// Record frames from a camera (or a replay) into a folder; `--list` shows the cameras.
    Capture(capture::CaptureArgs),
    /// Check the wiring of the door relay and the status LED.
    #[command(subcommand)]
    Gpio(gpio::GpioCommand),
    /// Enrol a user's face from the camera or from images.
    Enrol(unlock::EnrolArgs),
    /// List enrolled users and faces.
    List(unlock::ListArgs),
    /// Remove a user's faces (one label, or --all).
    Remove(unlock::RemoveArgs),
    /// One unlock attempt with the daemon's policy, without the daemon (exit 1 when not accepted).
    Verify(unlock::VerifyArgs),
    /// The face-unlock daemon: answers its socket (PAM module, `status`) until SIGTERM.
    Unlock(unlock::DaemonArgs),
    /// Ask the running daemon how it is.
    Status(unlock::StatusArgs),
    /// Follow a target (a box, or a face) through a camera or a replay with
    /// the Siamese tracker: box, confidence and tracking / uncertain / lost per frame.
    Track(track::TrackArgs),
    /// Authenticate a user through the running daemon, as the PAM module does (exit 1 unless accepted).
    Ask(unlock::AskArgs),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        let explicit = self.models.as_deref();
        let models = explicit.unwrap_or(Path::new(DEFAULT_MODELS));
        match self.command {
            Command::Compare(args) => compare::run(explicit, args),
            Command::Calibrate(args) => calibrate::run(models, args),
            Command::Eval(cmd) => eval::run(models, cmd),
            Command::Bench(args) => bench::run(explicit, args),
            Command::Info(args) => info::run(models, args),
            Command::Capture(args) => capture::run(args),
            Command::Gpio(cmd) => gpio::run(cmd),
            Command::Enrol(args) => unlock::enrol(explicit, args),
            Command::List(args) => unlock::list(explicit, args),
            Command::Remove(args) => unlock::remove(explicit, args),
            Command::Verify(args) => unlock::verify(explicit, args),
            Command::Unlock(args) => unlock::daemon(explicit, args),
            Command::Status(args) => unlock::status(args),
            Command::Ask(args) => unlock::ask_daemon(args),
            Command::Track(args) => track::run(explicit, args),
        }
    }
}
