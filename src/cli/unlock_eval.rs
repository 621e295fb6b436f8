//! `siamedge eval unlock` and `siamedge calibrate unlock`: false accepts and
//! false rejects per attempt under the daemon's gate, and thresholds per
//! attempt calibrated on LFW people in no evaluation pair.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use siamedge::config::{DeviceConfig, ModelVariant, UnlockConfig};
use siamedge::eval::draw_roc;
use siamedge::eval::unlock::{
    attempt_roc, attempt_scores, attempt_threshold, calibration_impostor_scores,
    calibration_people, gated_embeddings, people_images, rates, GatedImage, UnlockReport,
};
use siamedge::model::{AttemptThreshold, Manifest};
use siamedge::unlock::{policy_threshold, FrameGate, PolicyThreshold};

use super::device_config::load_defaults;

/// Arguments shared by both commands.
#[derive(Debug, Args)]
pub struct UnlockEvalSetup {
    /// Embedding model variant: fp32, int8 or pruned-int8.
    #[arg(long, default_value = "fp32")]
    variant: ModelVariant,
    /// Enrolled faces per gallery.
    #[arg(long, default_value_t = 3)]
    gallery: usize,
    /// Device configuration supplying the gate and policy (else /etc/siamedge/siamedge.toml if present, else defaults).
    #[arg(long, env = "SIAMEDGE_CONFIG")]
    config: Option<PathBuf>,
    /// Worker threads.
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    threads: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `eval unlock`.
#[derive(Debug, Args)]
pub struct EvalUnlockArgs {
    /// A folder with one folder of images per person (LFW's images/, ORL, ...);
    /// in an LFW layout (pairs.txt beside it) the calibration people, who are in no pair, are left out.
    #[arg(long)]
    data: PathBuf,
    /// Draw the attempts' ROC (TAR = 1 - FRR against FAR) into this PNG.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// False-accept rate per attempt whose calibrated threshold decides [default: the policy's unlock.far].
    #[arg(long)]
    far: Option<f64>,
    #[command(flatten)]
    setup: UnlockEvalSetup,
}

/// Arguments of `calibrate unlock`.
#[derive(Debug, Args)]
pub struct CalibrateUnlockArgs {
    /// LFW folder (pairs.txt + images/): the people in no pair are used.
    #[arg(long)]
    data: PathBuf,
    /// False-accept rates per attempt to calibrate, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1e-3, 1e-4, 1e-5])]
    far: Vec<f64>,
    /// Write them into the embedding model's manifest in --models.
    #[arg(long)]
    write: bool,
    /// Also write them into the checkout's models/zoo/ manifest of the same file.
    #[arg(long, requires = "write")]
    write_zoo: bool,
    #[command(flatten)]
    setup: UnlockEvalSetup,
}

fn policy(setup: &UnlockEvalSetup) -> anyhow::Result<UnlockConfig> {
    unlock_policy(setup.config.as_deref())
}

/// The `[unlock]` policy of `--config` (else the installed configuration,
/// else the defaults).
pub(super) fn unlock_policy(config: Option<&Path>) -> anyhow::Result<UnlockConfig> {
    let d: Option<DeviceConfig> = load_defaults(config)?;
    Ok(d.map(|d| d.unlock).unwrap_or_default())
}

fn embed(
    models: &Path,
    setup: &UnlockEvalSetup,
    u: &UnlockConfig,
    images: &[(usize, PathBuf)],
) -> anyhow::Result<Vec<GatedImage>> {
    let bar = ProgressBar::new(images.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "{spinner} embedding {pos}/{len} images through the gate [{elapsed_precise}, eta {eta}] {wide_bar}",
    )?);
    let out = gated_embeddings(
        models,
        setup.variant,
        FrameGate::from_config(u),
        images,
        setup.threads,
        &|| bar.inc(1),
    )?;
    bar.finish_and_clear();
    Ok(out)
}

fn gated_out(images: &[GatedImage]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for g in images.iter().filter(|g| g.embedding.is_none()) {
        *m.entry(g.verdict.clone()).or_insert(0) += 1;
    }
    m
}

/// Runs `eval unlock`.
pub fn eval(models: &Path, a: EvalUnlockArgs) -> anyhow::Result<()> {
    let mut u = policy(&a.setup)?;
    u.far = a.far.unwrap_or(u.far);
    let lfw_root = a.data.parent().filter(|p| p.join("pairs.txt").is_file());
    let exclude: Vec<PathBuf> = match lfw_root {
        Some(root) => {
            let mut people: Vec<PathBuf> = calibration_people(root)?
                .into_iter()
                .filter_map(|(_, p)| p.parent().map(Path::to_path_buf))
                .collect();
            people.dedup();
            people
        }
        None => Vec::new(),
    };
    let (names, images) = people_images(&a.data, &exclude)?;
    if images.is_empty() {
        bail!(
            "{} holds no folders of images (one per person)",
            a.data.display()
        );
    }
    let gated = embed(models, &a.setup, &u, &images)?;
    let scores = attempt_scores(&gated, a.setup.gallery);
    if scores.galleries == 0 {
        bail!(
            "nobody in {} has more than {} usable images: no gallery could be formed",
            a.data.display(),
            a.setup.gallery
        );
    }
    let manifest = Manifest::load_for(&models.join(a.setup.variant.embedder_file()))?;
    let PolicyThreshold {
        value: threshold,
        source,
        ..
    } = policy_threshold(&manifest, u.far, u.k, u.n).context("the manifest has no thresholds")?;
    let (fa, far, fr, frr) = rates(&scores, threshold);
    let report = UnlockReport {
        data: format!(
            "{}{}",
            a.data.display(),
            if exclude.is_empty() {
                String::new()
            } else {
                format!(" without the {} LFW calibration people", exclude.len())
            }
        ),
        people: names.len(),
        images: images.len(),
        gated_out: gated_out(&gated),
        gallery: a.setup.gallery,
        galleries: scores.galleries,
        genuine_attempts: scores.genuine.len(),
        impostor_attempts: scores.impostor.len(),
        threshold,
        threshold_source: source,
        far,
        false_accepts: fa,
        frr,
        false_rejects: fr,
    };
    if let Some(p) = &a.plot {
        let label = format!(
            "{} attempts, galleries of {}",
            a.setup.variant.name(),
            a.setup.gallery
        );
        draw_roc(
            p,
            "Face unlock per attempt (TAR = 1 - FRR)",
            &[(label, attempt_roc(&scores))],
        )?;
    }
    if a.setup.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "face unlock per attempt on {}: {} people, {} images",
        report.data, report.people, report.images
    );
    println!("  gate left out: {:?}", report.gated_out);
    println!(
        "  {} galleries of {}, {} genuine and {} impostor attempts",
        report.galleries, report.gallery, report.genuine_attempts, report.impostor_attempts
    );
    println!(
        "  threshold {:.4}: {}",
        report.threshold, report.threshold_source
    );
    println!(
        "  FAR {:.2e} ({} false accepts)   FRR {:.2} % ({} false rejects)",
        report.far,
        fa,
        report.frr * 100.0,
        fr
    );
    if let Some(p) = &a.plot {
        println!("  curve written to {}", p.display());
    }
    Ok(())
}

/// Runs `calibrate unlock`.
pub fn calibrate(models: &Path, a: CalibrateUnlockArgs) -> anyhow::Result<()> {
    let u = policy(&a.setup)?;
    let images = calibration_people(&a.data)
        .with_context(|| format!("reading the LFW people in no pair of {}", a.data.display()))?;
    let gated = embed(models, &a.setup, &u, &images)?;
    let (galleries, impostor) = calibration_impostor_scores(&gated, a.setup.gallery);
    let people = images.iter().map(|(p, _)| *p).max().map_or(0, |m| m + 1);
    let usable = gated.iter().filter(|g| g.embedding.is_some()).count();
    let on = format!(
        "LFW people in no View-2 pair: {people} people, {usable} of {} images through the gate, {galleries} galleries of {} different people, {} impostor attempts (siamedge calibrate unlock)",
        images.len(),
        a.setup.gallery,
        impostor.len()
    );
    let mut thresholds = Vec::new();
    for &far in &a.far {
        if (impostor.len() as f64) * far < 10.0 {
            eprintln!(
                "note: FAR {far:e} rests on fewer than 10 impostor accepts out of {}",
                impostor.len()
            );
        }
        thresholds.push(AttemptThreshold {
            far,
            gallery: a.setup.gallery,
            k: u.k,
            n: u.n,
            value: attempt_threshold(&impostor, far),
            impostor_attempts: impostor.len() as u64,
            calibrated_on: on.clone(),
        });
    }
    if a.setup.json {
        println!("{}", serde_json::to_string_pretty(&thresholds)?);
    } else {
        println!("{on}");
        println!("  gate left out: {:?}", gated_out(&gated));
        for t in &thresholds {
            println!("  FAR {:e} per attempt: threshold {:.4}", t.far, t.value);
        }
    }
    if a.write {
        let model = models.join(a.setup.variant.embedder_file());
        super::calibrate::write_manifests(&model, a.write_zoo, |m| {
            m.attempt_thresholds.retain(|t| {
                !(t.k == u.k && t.n == u.n && thresholds.iter().any(|n| n.far == t.far))
            });
            m.attempt_thresholds.extend(thresholds.iter().cloned());
        })?;
    }
    Ok(())
}
