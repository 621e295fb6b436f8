//! Command-line definitions and dispatch.

mod bench;
mod calibrate;
mod compare;
mod eval;
mod info;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Siamese networks on small ARM boards: face verification through tract.
///
/// Models are read from --models (default: models/build/onnx, written by
/// `models/zoo/fetch.sh`); every X.onnx needs its manifest X.toml beside it.
#[derive(Debug, Parser)]
#[command(name = "siamedge", version, about, long_about)]
pub struct Cli {
    /// Folder holding pnet/rnet/onet.onnx and MobileFaceNet.onnx with their manifests.
    #[arg(
        long,
        global = true,
        env = "SIAMEDGE_MODELS",
        default_value = "models/build/onnx"
    )]
    models: PathBuf,
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
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Compare(args) => compare::run(&self.models, args),
            Command::Calibrate(args) => calibrate::run(&self.models, args),
            Command::Eval(cmd) => eval::run(&self.models, cmd),
            Command::Bench(args) => bench::run(&self.models, args),
            Command::Info(args) => info::run(args),
        }
    }
}
