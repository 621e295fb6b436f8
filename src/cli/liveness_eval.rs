//! `siamedge eval liveness`: how many real faces the liveness net calls spoofs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use siamedge::eval::liveness::{liveness_scores, LivenessScore};
use siamedge::eval::unlock::people_images;
use siamedge::unlock::FrameGate;

/// Arguments of `eval liveness`.
#[derive(Debug, Args)]
pub struct EvalLivenessArgs {
    /// Real (bona fide) faces: a folder of images, or of one folder per person
    /// (LFW's images/, ORL).
    #[arg(long)]
    data: PathBuf,
    /// Score every N-th image only (the net takes about a second per face in tract).
    #[arg(long, default_value_t = 1)]
    every: usize,
    /// Device configuration supplying the gate (else /etc/siamedge/siamedge.toml if present, else defaults).
    #[arg(long, env = "SIAMEDGE_CONFIG")]
    config: Option<PathBuf>,
    /// Worker threads.
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    threads: usize,
    /// Print JSON (every image's score too).
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct LivenessReport {
    data: String,
    images: usize,
    faces: usize,
    called_spoof: usize,
    bona_fide_rejection: f64,
    median_score: Option<f32>,
    scores: Vec<LivenessScore>,
}

/// Runs `eval liveness`.
pub fn eval(models: &Path, a: EvalLivenessArgs) -> anyhow::Result<()> {
    let u = super::unlock_eval::unlock_policy(a.config.as_deref())?;
    let gate = FrameGate::from_config(&u);
    let (_, people) = people_images(&a.data, &[])?;
    let mut images: Vec<PathBuf> = people.into_iter().map(|(_, p)| p).collect();
    if images.is_empty() {
        images = siamedge::capture::ImageReplay::open(std::slice::from_ref(&a.data), false, None)
            .map(|r| r.files().to_vec())
            .with_context(|| format!("{} holds no images", a.data.display()))?;
    }
    let images: Vec<PathBuf> = images.into_iter().step_by(a.every.max(1)).collect();
    let bar = ProgressBar::new(images.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "{spinner} liveness {pos}/{len} images [{elapsed_precise}, eta {eta}] {wide_bar}",
    )?);
    let scores = liveness_scores(models, gate, &images, a.threads, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let mut live: Vec<f32> = scores.iter().filter_map(|s| s.score).collect();
    if live.is_empty() {
        bail!(
            "no image of {} had a face through the gate",
            a.data.display()
        );
    }
    live.sort_by(f32::total_cmp);
    let called = scores.iter().filter(|s| s.spoof).count();
    let report = LivenessReport {
        data: a.data.display().to_string(),
        images: images.len(),
        faces: live.len(),
        called_spoof: called,
        bona_fide_rejection: called as f64 / live.len() as f64,
        median_score: live.get(live.len() / 2).copied(),
        scores,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "liveness on real faces in {}: {} images, {} faces through the gate",
            report.data, report.images, report.faces
        );
        println!(
            "  called spoof: {} ({:.1} %, the bona fide rejection rate); median spoof score {:.3}",
            report.called_spoof,
            report.bona_fide_rejection * 100.0,
            report.median_score.unwrap_or(f32::NAN)
        );
    }
    Ok(())
}
