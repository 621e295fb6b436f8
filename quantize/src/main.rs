//! `siamedge-quantize`: host tools for siamedge models.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use siamedge_quantize::import::{import_file, ImportOptions};
use siamedge_quantize::parity;

mod inputs;
mod model_io;
mod prune_cmd;
mod quantize_cmd;
mod report_cmd;

/// Host tools for siamedge models: import TFLite models to ONNX and check
/// that the ONNX files compute what the TFLite originals do.
#[derive(Debug, Parser)]
#[command(name = "siamedge-quantize", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert a TFLite model to ONNX (NCHW, batch 1, opset 13).
    ///
    /// Float16 weights are widened to float32, constants folded, PReLU idioms
    /// fused, and layout tracked so that the graph needs no transposes. Graph
    /// inputs and outputs keep their TFLite names; the output is written
    /// atomically, and the same input always gives the same bytes.
    Import {
        /// The TFLite model to read.
        input: PathBuf,
        /// The ONNX file to write.
        output: PathBuf,
        /// Make the two spatial axes of the rank-4 input symbolic, with these
        /// two names for TFLite axes 1 and 2, e.g. `--symbolic-spatial w,h`
        /// for P-Net (the MTCNN nets take transposed images, `[1, W, H, 3]`;
        /// its manifest says layout `ncwh`).
        #[arg(long, value_delimiter = ',', value_name = "AXIS1,AXIS2")]
        symbolic_spatial: Option<Vec<String>>,
    },
    /// Static int8 quantization of an encoder (QDQ ONNX + manifest).
    ///
    /// With --lfw (face encoders) it calibrates on aligned faces of the LFW
    /// people in no pair (cut by the runtime's detector and alignment,
    /// preprocessed as the runtime does), compares fp32 and int8 embeddings on
    /// LFW pair images and calibrates the new file's thresholds; with
    /// --images it calibrates and compares on disjoint images from folders.
    /// Either way it equalises cross-layer ranges, quantizes weights per
    /// channel with bias correction and activations per tensor, and can keep
    /// the most sensitive layers in float. The siamedge runtime runs the
    /// result on its integer engine when it can plan the graph.
    Quantize(quantize_cmd::QuantizeArgs),
    /// Structured channel pruning of an fp32 encoder (ONNX + manifest).
    ///
    /// Removes the lowest-L1 channels between each dense -> depthwise ->
    /// dense chain (the filters, biases, PReLU slopes and inputs that go
    /// with them), per block or globally, then refits each block's last
    /// convolution by least squares to reproduce the unpruned network on
    /// calibration inputs; --magnitude then zeroes the smallest weights of
    /// every convolution and reports each layer's sparsity. Least squares
    /// alone does not bring a heavily pruned face encoder back: recover it
    /// with `siamedge-train distill` (models/), then `quantize` it.
    Prune(prune_cmd::PruneArgs),
    /// Compare a candidate model with its fp32 reference: size, parameters,
    /// MACs, sparsity, per-layer error, embedding cosine, LFW accuracy and
    /// TAR@FAR, and single-thread latency in the siamedge runtime (both
    /// models interleaved in one process; optionally onnxruntime too).
    Report(report_cmd::ReportArgs),
    /// Check imported ONNX models against reference outputs.
    ///
    /// CASES holds one folder per model (named after MODELS/<model>.onnx)
    /// with one folder per case: input0.npy.. (NHWC, float32) and
    /// output0.npy.. as written by quantize/scripts/tflite_reference.py. Each
    /// case runs through the siamedge runtime; the check passes when
    /// max|ours - ref| / max|ref| <= the tolerance for every output.
    Parity {
        /// Folder of reference cases.
        #[arg(long)]
        cases: PathBuf,
        /// Folder holding <model>.onnx for each case folder.
        models: PathBuf,
        /// Relative max error allowed.
        #[arg(long, default_value_t = 1e-4)]
        tolerance: f64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Import {
            input,
            output,
            symbolic_spatial,
        } => {
            let symbolic_spatial = match symbolic_spatial {
                None => None,
                Some(names) => match <[String; 2]>::try_from(names) {
                    Ok(names) => Some(names),
                    Err(names) => bail!("--symbolic-spatial takes two names, got {names:?}"),
                },
            };
            let summary = import_file(&input, &output, &ImportOptions { symbolic_spatial })?;
            let r = &summary.report;
            let list = |m: &std::collections::BTreeMap<String, usize>| {
                m.iter()
                    .map(|(k, v)| format!("{k} x{v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!("read     {}", input.display());
            println!(
                "mapped   {} TFLite ops: {}",
                r.tflite_ops.values().sum::<usize>(),
                list(&r.tflite_ops)
            );
            println!(
                "fused    {} PReLU idioms into relu(x) + slope*min(x,0); folded {} constant ops",
                r.prelus, r.folded
            );
            println!("nodes    {} ONNX nodes: {}", r.nodes, list(&r.onnx_ops));
            println!("params   {}", r.params);
            println!(
                "wrote    {} ({} bytes, sha256 {})",
                summary.output.display(),
                summary.bytes,
                summary.sha256
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Quantize(args) => {
            quantize_cmd::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Prune(args) => {
            prune_cmd::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => {
            report_cmd::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Parity {
            cases,
            models,
            tolerance,
            json,
        } => {
            let report = parity::run(&cases, &models, tolerance)
                .with_context(|| format!("parity check of {}", cases.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
