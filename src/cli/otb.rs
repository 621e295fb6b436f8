//! `siamedge eval otb`: the tracker's OTB one-pass evaluation.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use siamedge::config::ModelVariant;
use siamedge::eval::otb::{
    parity_sequence, read_boxes, run_sequence, OtbSequence, ParityReport, SequenceReport,
    PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS,
};
use siamedge::eval::otb_cut::{run_cut, CutReport, CutSequence};
use siamedge::eval::{draw_panels, Panel};
use siamedge::face::{Mtcnn, MtcnnConfig};
use siamedge::track::FaceRecovery;

/// Arguments of `eval otb`.
#[derive(Debug, Args)]
pub struct OtbArgs {
    /// An OTB sequence folder (img/*.jpg and groundtruth_rect.txt), or a
    /// folder of them (e.g. ../shared/data/otb).
    #[arg(long)]
    data: PathBuf,
    /// Tracker backbone variant: fp32, int8 or pruned-int8.
    #[arg(long, default_value = "fp32")]
    variant: ModelVariant,
    /// Folder of the tracker's models (nanotrack_v3_*.onnx with manifests).
    #[arg(long, env = "SIAMEDGE_TRACK_MODELS", default_value = super::track::DEFAULT_TRACK_MODELS)]
    track_models: PathBuf,
    /// Follow the reference tracker exactly: no frozen box and no wider
    /// search while the target is lost (the state is still reported).
    #[arg(long)]
    no_recovery: bool,
    /// Write each sequence's boxes to DIR/<sequence>.txt (x,y,w,h per frame).
    #[arg(long, value_name = "DIR")]
    boxes: Option<PathBuf>,
    /// Compare with a reference tracker's boxes in DIR/<sequence>.txt (as
    /// `../shared/reference/nanotrack_ref.py --boxes DIR` writes them):
    /// closed-loop and step-by-step agreement within 1 px.
    #[arg(long, value_name = "DIR")]
    parity: Option<PathBuf>,
    /// Also run the lost-target test: each sequence cut by frames of the
    /// next one (the target gone), then the target again; report frames
    /// until "lost" and until re-acquired.
    #[arg(long)]
    cut: bool,
    /// With --cut: while the target is lost, look for it with the face
    /// detector (every 5th lost frame, the most prominent face), as
    /// `siamedge track --init face` does; for sequences whose target is a face.
    #[arg(long, requires = "cut")]
    redetect_faces: bool,
    /// Draw the success and precision plots into this PNG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// The whole evaluation, as `--json` prints it.
#[derive(Debug, serde::Serialize)]
struct OtbReport {
    variant: &'static str,
    recovery: bool,
    redetect_faces: bool,
    sequences: Vec<SequenceReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parity: Vec<ParityReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cut: Vec<CutReport>,
    false_lost_share: f64,
    mean_auc: f64,
    mean_precision20: f64,
    mean_fps: f64,
    frames: usize,
}

/// Runs `eval otb`.
pub fn run(models: &Path, args: OtbArgs) -> anyhow::Result<()> {
    let dirs = OtbSequence::find(&args.data)?;
    let seqs = dirs
        .iter()
        .map(|d| {
            OtbSequence::load(d).with_context(|| format!("reading the sequence {}", d.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut tracker = super::track::load_tracker(&args.track_models, args.variant)?;
    tracker.set_recovery(!args.no_recovery);
    let total: usize = seqs.iter().map(|s| s.frames.len()).sum();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} tracking {msg} {pos}/{len} frames [{elapsed_precise}, eta {eta}] {wide_bar}",
        )
        .expect("valid template"),
    );
    if let Some(dir) = &args.boxes {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut reports = Vec::new();
    let mut parity = Vec::new();
    for seq in &seqs {
        bar.set_message(seq.name.clone());
        let report = run_sequence(&mut tracker, seq, &|| bar.inc(1))
            .with_context(|| format!("tracking {}", seq.name))?;
        if let Some(dir) = &args.boxes {
            let path = dir.join(format!("{}.txt", seq.name));
            let text: String = report
                .results
                .iter()
                .map(|r| {
                    format!(
                        "{:.3},{:.3},{:.3},{:.3}\n",
                        r.bbox.x, r.bbox.y, r.bbox.w, r.bbox.h
                    )
                })
                .collect();
            siamedge::store::write_atomic(&path, text.as_bytes())
                .map_err(|e| e.error)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if let Some(dir) = &args.parity {
            let path = dir.join(format!("{}.txt", seq.name));
            let reference = read_boxes(&path)?;
            bar.set_message(format!("{} (step by step)", seq.name));
            parity.push(parity_sequence(
                &mut tracker,
                seq,
                &report.results,
                &reference,
            )?);
        }
        reports.push(report);
    }
    let mut faces = if args.redetect_faces {
        let mtcnn = Mtcnn::load(models, MtcnnConfig::default()).with_context(|| {
            format!(
                "loading the face detector from {} for --redetect-faces (models/zoo/fetch.sh makes it)",
                models.display()
            )
        })?;
        Some(FaceRecovery::new(mtcnn))
    } else {
        None
    };
    let mut cut = Vec::new();
    if args.cut {
        for (i, seq) in seqs.iter().enumerate() {
            let other = &seqs[(i + 1) % seqs.len()];
            if std::ptr::eq(seq, other) {
                anyhow::bail!(
                    "--cut needs at least two sequences in {}",
                    args.data.display()
                );
            }
            let c = CutSequence::new(seq, other);
            bar.set_message(format!("{} (cut)", c.name));
            cut.push(
                run_cut(&mut tracker, &c, faces.as_mut())
                    .with_context(|| format!("tracking {}", c.name))?,
            );
        }
    }
    bar.finish_and_clear();
    let n = reports.len() as f64;
    let lost: usize = reports.iter().map(|r| r.lost_frames).sum();
    let frames: usize = reports.iter().map(|r| r.frames.saturating_sub(1)).sum();
    let report = OtbReport {
        variant: args.variant.name(),
        recovery: !args.no_recovery,
        redetect_faces: args.redetect_faces,
        mean_auc: reports.iter().map(|r| r.auc).sum::<f64>() / n,
        mean_precision20: reports.iter().map(|r| r.precision20).sum::<f64>() / n,
        mean_fps: reports.iter().map(|r| r.fps).sum::<f64>() / n,
        frames: reports.iter().map(|r| r.frames).sum(),
        sequences: reports,
        parity,
        cut,
        false_lost_share: lost as f64 / frames.max(1) as f64,
    };
    if let Some(path) = &args.plot {
        plot(path, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "OTB one-pass evaluation: NanoTrack v3, backbone {}, recovery {}",
        report.variant,
        if report.recovery { "on" } else { "off" }
    );
    println!(
        "  {:14} {:>6} {:>6} {:>6} {:>7} {:>5}  ms per frame: {:>5} {:>8} {:>5} {:>5}",
        "sequence", "frames", "AUC", "P@20", "fps", "lost", "crop", "backbone", "head", "post"
    );
    for r in &report.sequences {
        let t = &r.stage_ms;
        println!(
            "  {:14} {:>6} {:>6.3} {:>6.3} {:>7.1} {:>5}  {:>19.2} {:>8.2} {:>5.2} {:>5.2}",
            r.name,
            r.frames,
            r.auc,
            r.precision20,
            r.fps,
            r.lost_frames,
            t.crop,
            t.backbone,
            t.head,
            t.post
        );
    }
    println!(
        "  {:14} {:>6} {:>6.3} {:>6.3} {:>7.1}",
        "mean", report.frames, report.mean_auc, report.mean_precision20, report.mean_fps
    );
    if !report.parity.is_empty() {
        println!("  agreement with the reference's boxes (every coordinate within 1 px):");
        println!(
            "  {:14} {:>6} {:>12} {:>12} {:>9}",
            "sequence", "frames", "closed loop", "step", "step max"
        );
        for p in &report.parity {
            println!(
                "  {:14} {:>6} {:>11.1}% {:>11.1}% {:>7.2}px",
                p.name,
                p.frames,
                p.closed_loop_within_1px * 100.0,
                p.step_within_1px * 100.0,
                p.step_max_px
            );
        }
    }
    if !report.cut.is_empty() {
        let show = |v: Option<usize>| v.map_or("never".to_string(), |n| n.to_string());
        println!("  lost-target test (target gone for up to 40 frames of another sequence):");
        println!(
            "  {:24} {:>14} {:>19} {:>16} {:>19} {:>11}",
            "cut sequence",
            "frames to lost",
            "frames to reacquire",
            "lost before cut",
            "regained while gone",
            "re-detected"
        );
        for c in &report.cut {
            let redetected = if report.redetect_faces {
                c.redetections.to_string()
            } else {
                "off".to_string()
            };
            println!(
                "  {:24} {:>14} {:>19} {:>16} {:>19} {:>11}",
                c.name,
                show(c.frames_to_lost),
                show(c.frames_to_reacquire),
                c.lost_before_cut,
                c.regained_while_gone,
                redetected
            );
        }
    }
    println!(
        "  frames called lost on the uncut sequences: {:.2} %",
        report.false_lost_share * 100.0
    );
    if cfg!(debug_assertions) {
        eprintln!("siamedge: note: a debug build; time the release build (`cargo build --release`) for fps");
    }
    if let Some(p) = &args.plot {
        println!("  success and precision plots written to {}", p.display());
    }
    Ok(())
}

fn plot(path: &std::path::Path, report: &OtbReport) -> anyhow::Result<()> {
    let mut success = Vec::new();
    let mut precision = Vec::new();
    for r in &report.sequences {
        success.push((
            format!("{} [{:.3}]", r.name, r.auc),
            r.success
                .iter()
                .enumerate()
                .map(|(k, &v)| (k as f64 / (SUCCESS_THRESHOLDS - 1) as f64, v))
                .collect(),
        ));
        precision.push((
            format!("{} [{:.3}]", r.name, r.precision20),
            r.precision
                .iter()
                .enumerate()
                .map(|(k, &v)| (k as f64, v))
                .collect(),
        ));
    }
    let title_s = format!("Success plot (mean AUC {:.3})", report.mean_auc);
    let title_p = format!("Precision plot (mean P@20 {:.3})", report.mean_precision20);
    draw_panels(
        path,
        &[
            Panel {
                title: &title_s,
                x_desc: "overlap threshold (IoU)",
                y_desc: "success rate",
                x_range: (0.0, 1.0),
                curves: &success,
            },
            Panel {
                title: &title_p,
                x_desc: "location error threshold (px)",
                y_desc: "precision",
                x_range: (0.0, (PRECISION_THRESHOLDS - 1) as f64),
                curves: &precision,
            },
        ],
    )?;
    Ok(())
}
