//! `siamedge calibrate lfw`: decision thresholds for this exact model file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use siamedge::config::ModelVariant;
use siamedge::eval::{calibrate_lfw, FaceModels};
use siamedge::face::MtcnnConfig;
use siamedge::model::Manifest;

/// The checkout's folder of model manifests that `models/zoo/fetch.sh` installs.
const ZOO: &str = "models/zoo";

/// Calibration sets.
#[derive(Debug, Subcommand)]
pub enum CalibrateCommand {
    /// LFW people who appear in no View-2 pair: every pair of their images is
    /// scored, and each threshold admits at most its FAR of the impostor pairs.
    Lfw(CalibrateArgs),
    /// Thresholds per unlock attempt (best of a gallery of enrolled faces),
    /// on LFW people in no View-2 pair, through the daemon's gate.
    Unlock(super::unlock_eval::CalibrateUnlockArgs),
}

/// Arguments of `calibrate lfw`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// LFW folder (pairs.txt + images/); only people who appear in no pair are used.
    #[arg(long)]
    data: PathBuf,
    /// False-accept rates to calibrate, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1e-2, 1e-3, 1e-4])]
    far: Vec<f64>,
    /// Worker threads.
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    threads: usize,
    /// Embedding model variant to calibrate: fp32, int8 or pruned-int8.
    #[arg(long, default_value = "fp32")]
    variant: ModelVariant,
    /// Write the thresholds into the embedding model's manifest in --models
    /// (old one kept as .bak). `models/zoo/fetch.sh` replaces that file from
    /// models/zoo/, so use --write-zoo to keep them.
    #[arg(long)]
    write: bool,
    /// Also write them into the checkout's models/zoo/ manifest of the same
    /// file (the one `models/zoo/fetch.sh` installs); run from the repository root.
    #[arg(long, requires = "write")]
    write_zoo: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `calibrate`.
pub fn run(models: &Path, cmd: CalibrateCommand) -> anyhow::Result<()> {
    let args = match cmd {
        CalibrateCommand::Lfw(args) => args,
        CalibrateCommand::Unlock(args) => return super::unlock_eval::calibrate(models, args),
    };
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "{spinner} embedding {pos}/{len} calibration images [{elapsed_precise}] {wide_bar}",
    )?);
    let report = calibrate_lfw(
        FaceModels {
            dir: models,
            variant: args.variant,
            detector: MtcnnConfig::default(),
        },
        &args.data,
        &args.far,
        args.threads,
        &|n| bar.set_length(n as u64),
        &|| bar.inc(1),
    )
    .with_context(|| format!("calibrating on {}", args.data.display()))?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.describe());
        println!(
            "detector missed {} of {} images",
            report.detector_misses, report.images
        );
        for t in &report.thresholds {
            println!(
                "  FAR {:<8} threshold {:.4}  TAR {:.2} %",
                format!("{:e}", t.far),
                t.value,
                t.tar * 100.0
            );
        }
    }
    if args.write {
        let model = models.join(args.variant.embedder_file());
        write_manifests(&model, args.write_zoo, |m| {
            m.thresholds = report.thresholds.clone();
            m.thresholds_calibrated_on = report.describe();
        })?;
    }
    Ok(())
}

/// Applies `update` to the manifest of `model` in the models folder and,
/// with `write_zoo`, to the checkout's models/zoo/ manifest of the same file
/// (which `models/zoo/fetch.sh` installs), each written atomically with a
/// `.bak`; a zoo manifest of another file is refused.
pub(super) fn write_manifests(
    model: &Path,
    write_zoo: bool,
    update: impl Fn(&mut Manifest),
) -> anyhow::Result<()> {
    let path = Manifest::path_for(model);
    let mut manifest = Manifest::load(&path)?;
    update(&mut manifest);
    manifest.save(&path)?;
    eprintln!(
        "wrote thresholds into {} (previous manifest kept as .bak)",
        path.display()
    );
    let zoo = Path::new(ZOO).join(path.file_name().unwrap_or_default());
    if write_zoo {
        let mut source = Manifest::load(&zoo).with_context(|| {
            format!(
                "--write-zoo needs {} (run from the repository root)",
                zoo.display()
            )
        })?;
        if source.sha256 != manifest.sha256 {
            anyhow::bail!(
                "{} describes another file (sha256 {}), not {}; thresholds not written there",
                zoo.display(),
                source.sha256,
                model.display()
            );
        }
        update(&mut source);
        source.save(&zoo)?;
        eprintln!(
            "wrote thresholds into {} (commit it to keep them)",
            zoo.display()
        );
    } else if zoo.is_file() {
        eprintln!(
            "note: models/zoo/fetch.sh replaces {} with {}; pass --write-zoo to update that one too",
            path.display(),
            zoo.display()
        );
    }
    Ok(())
}
