//! `siamedge compare A B`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::device_config::load_defaults;
use siamedge::config::ModelVariant;
use siamedge::distance::similarity;
use siamedge::face::{FacePipeline, FaceResult, MtcnnConfig};
use siamedge::image;

/// Arguments of `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// First photo (JPEG, PNG or PGM).
    a: PathBuf,
    /// Second photo.
    b: PathBuf,
    /// False-accept rate whose calibrated threshold (from the model manifest) decides.
    #[arg(long, default_value_t = 1e-3)]
    far: f64,
    /// Smallest face to detect, in pixels.
    #[arg(long, default_value_t = 40.0)]
    min_face: f32,
    /// Embedding model variant (default: the device configuration's, else fp32).
    #[arg(long)]
    variant: Option<ModelVariant>,
    /// Device configuration supplying the models folder and variant (else
    /// /etc/siamedge/siamedge.toml if present); explicit flags win.
    #[arg(long, env = "SIAMEDGE_CONFIG")]
    config: Option<PathBuf>,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct ImageReport {
    path: String,
    faces_found: usize,
    face_box: Option<[f32; 4]>,
    detector_score: Option<f32>,
    ms_decode: f64,
    ms_detect: f64,
    ms_align: f64,
    ms_embed: f64,
}

#[derive(Serialize)]
struct CompareReport {
    variant: &'static str,
    engine: String,
    score: f32,
    threshold: f32,
    far: f64,
    same_person: bool,
    images: [ImageReport; 2],
}

fn embed(pipeline: &mut FacePipeline, path: &Path) -> anyhow::Result<(Vec<f32>, ImageReport)> {
    let t = Instant::now();
    let img = image::load(path)?;
    let decode = t.elapsed();
    let mut embedding = Vec::new();
    let FaceResult {
        face,
        faces_found,
        times,
    } = pipeline.process(&img, &mut embedding)?;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    let report = ImageReport {
        path: path.display().to_string(),
        faces_found,
        face_box: face.as_ref().map(|f| f.bbox),
        detector_score: face.as_ref().map(|f| f.score),
        ms_decode: ms(decode),
        ms_detect: ms(times.detect),
        ms_align: ms(times.align),
        ms_embed: ms(times.embed),
    };
    Ok((embedding, report))
}

/// Runs `compare`.
/// `explicit` is `--models` when given: it wins over the configuration's folder.
pub fn run(explicit: Option<&Path>, args: CompareArgs) -> anyhow::Result<()> {
    let device = load_defaults(args.config.as_deref())?;
    let models = explicit
        .or(device.as_ref().map(|c| c.models.as_path()))
        .unwrap_or(Path::new(super::DEFAULT_MODELS));
    let variant = args
        .variant
        .or(device.as_ref().map(|c| c.variant))
        .unwrap_or(ModelVariant::Fp32);
    let config = MtcnnConfig {
        min_face: args.min_face,
        ..MtcnnConfig::default()
    };
    let mut pipeline = FacePipeline::load_variant(models, variant, config).with_context(|| {
        format!(
            "loading the face models (variant {}) from {}",
            variant.name(),
            models.display()
        )
    })?;
    let manifest = pipeline.embedder().model().manifest().clone();
    let threshold = manifest.threshold_at(args.far).with_context(|| {
        let known: Vec<String> = manifest
            .thresholds
            .iter()
            .map(|t| t.far.to_string())
            .collect();
        format!(
            "the embedding manifest has no threshold for FAR {}; it has: {}",
            args.far,
            known.join(", ")
        )
    })?;
    let (ea, ra) = embed(&mut pipeline, &args.a)?;
    let (eb, rb) = embed(&mut pipeline, &args.b)?;
    let score = similarity(pipeline.embedder().distance(), &ea, &eb);
    let report = CompareReport {
        variant: variant.name(),
        engine: pipeline.embedder().model().network().engine_report(),
        score,
        threshold: threshold.value,
        far: threshold.far,
        same_person: score >= threshold.value,
        images: [ra, rb],
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let verdict = if report.same_person {
        "SAME person"
    } else {
        "DIFFERENT people"
    };
    println!(
        "score {:.4}  threshold {:.4} (FAR {:e})  ->  {verdict}",
        score, threshold.value, threshold.far
    );
    println!("  embedder: {} on {}", report.variant, report.engine);
    for r in &report.images {
        let face = match r.face_box {
            Some(b) => format!(
                "face [{:.0}, {:.0}, {:.0}, {:.0}] p={:.3}",
                b[0],
                b[1],
                b[2],
                b[3],
                r.detector_score.unwrap_or(0.0)
            ),
            None => "no face found: used the centred crop".to_string(),
        };
        println!(
            "  {}: {} ({} found)  decode {:.1} ms  detect {:.1} ms  align {:.2} ms  embed {:.1} ms",
            r.path, face, r.faces_found, r.ms_decode, r.ms_detect, r.ms_align, r.ms_embed
        );
    }
    Ok(())
}
