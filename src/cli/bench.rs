//! `siamedge bench`: load time, warm-up, latency percentiles, throughput, peak
//! memory and instruction counts of every model variant, on synthetic input
//! and on replayed frames; `--compare` prints the ratios of two reports.

use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use siamedge::bench::{
    bench_tracker, compare, frame_costs, measure, peak_rss_mib, per_run, reset_peak_rss,
    synthetic_face, BenchReport, DetectorRuns, HostInfo, InstructionCounter, Latency, StageLatency,
    TrackerBench, VariantBench, DEBUG_BUILD_WARNING,
};
use siamedge::config::{DeviceConfig, ModelVariant};
use siamedge::face::{Embedder, FacePipeline, Liveness, MtcnnConfig, LIVENESS_FILE};
use siamedge::image;

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Photos, or folders of frames, replayed through the whole pipeline
    /// (decode, detect, align, embed). Without any, only the embedding models
    /// are timed, on a synthetic aligned face.
    frames: Vec<PathBuf>,
    /// A device configuration (e.g. /etc/siamedge/siamedge.toml on a board):
    /// its models folder and thread count become the defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Model variants to time (default: every variant whose file is in the
    /// models folder: MobileFaceNet.onnx, .int8.onnx, .pruned-int8.onnx).
    #[arg(long = "variant")]
    variants: Vec<ModelVariant>,
    /// Model instances run at once, one thread each, for the throughput
    /// figure (default: the configuration's threads, else 1).
    #[arg(long)]
    threads: Option<usize>,
    /// Timed runs per measurement.
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Untimed warm-up runs before each measurement.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Print the report as JSON instead of Markdown tables.
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file (for `--compare`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replay each photo as a camera frame of this size, WxH (e.g. 640x480):
    /// scaled to fit, centred on grey, and JPEG-encoded, so that decode,
    /// detection and the rest are timed on frames of that size.
    #[arg(long, value_parser = parse_frame_size, requires = "frames")]
    frame_size: Option<(usize, usize)>,
    /// Compare two JSON reports (B relative to A) instead of measuring.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with_all = ["frames", "config", "variants"])]
    compare: Vec<PathBuf>,
}

/// Parses `WxH`.
fn parse_frame_size(s: &str) -> Result<(usize, usize), String> {
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| (16..=8192).contains(&n))
    };
    match s.split_once('x').map(|(w, h)| (parse(w), parse(h))) {
        Some((Some(w), Some(h))) => Ok((w, h)),
        _ => Err(format!(
            "{s:?} is not a frame size: give WxH, e.g. 640x480 (each side 16 to 8192)"
        )),
    }
}

/// `img` scaled to fit `width x height` (aspect kept), centred on mid-grey.
fn letterbox(img: &image::RgbImage, width: usize, height: usize) -> image::RgbImage {
    let scale = (width as f32 / img.width as f32).min(height as f32 / img.height as f32);
    let (w, h) = (
        ((img.width as f32 * scale).round() as usize).clamp(1, width),
        ((img.height as f32 * scale).round() as usize).clamp(1, height),
    );
    let (mut scaled, mut scratch) = (image::RgbImage::default(), image::ResizeScratch::default());
    image::resize(img, w, h, &mut scaled, &mut scratch);
    let mut frame = image::RgbImage {
        width,
        height,
        data: vec![128; width * height * 3],
    };
    let (x0, y0) = ((width - w) / 2, (height - h) / 2);
    for y in 0..h {
        let to = ((y0 + y) * width + x0) * 3;
        frame.data[to..to + w * 3].copy_from_slice(&scaled.data[y * w * 3..(y + 1) * w * 3]);
    }
    frame
}

/// Each replayed photo turned into a JPEG camera frame of `size`.
fn as_frames(
    photos: Vec<(PathBuf, Vec<u8>)>,
    (width, height): (usize, usize),
) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    photos
        .into_iter()
        .map(|(path, bytes)| {
            let frame = letterbox(&image::decode(&bytes)?, width, height);
            let mut jpeg = Vec::new();
            image::encode_jpeg(&frame, 90, &mut jpeg).map_err(anyhow::Error::msg)?;
            Ok((path, jpeg))
        })
        .collect()
}

/// The frames to replay: files as given, folders expanded to their images in name order.
fn replay_frames(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("listing {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        ["jpg", "jpeg", "png", "pgm"].contains(&e.to_ascii_lowercase().as_str())
                    })
                })
                .collect();
            inside.sort();
            if inside.is_empty() {
                bail!("{} holds no .jpg, .png or .pgm frames", p.display());
            }
            files.extend(inside);
        } else {
            files.push(p.clone());
        }
    }
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
            image::decode(&bytes).with_context(|| format!("decoding {}", f.display()))?;
            Ok((f, bytes))
        })
        .collect()
}

/// Embeddings per second with `threads` instances of `model` running at once.
fn throughput(
    model: &Path,
    variant: ModelVariant,
    threads: usize,
    runs: usize,
) -> anyhow::Result<f64> {
    let mut embedders = (0..threads)
        .map(|_| Embedder::load_with(model, variant.execution()))
        .collect::<Result<Vec<_>, _>>()?;
    let start = Barrier::new(threads + 1);
    let face = synthetic_face();
    let elapsed = std::thread::scope(|s| -> anyhow::Result<Duration> {
        let workers: Vec<_> = embedders
            .iter_mut()
            .map(|e| {
                let (start, face) = (&start, &face);
                s.spawn(move || {
                    let mut out = Vec::new();
                    start.wait();
                    (0..runs).try_for_each(|_| e.embed(face, &mut out))
                })
            })
            .collect();
        start.wait();
        let t = Instant::now();
        for w in workers {
            w.join().expect("a benchmark thread panicked")?;
        }
        Ok(t.elapsed())
    })?;
    Ok((threads * runs) as f64 / elapsed.as_secs_f64())
}

/// Per-stage latency of the whole pipeline over the replayed frames, and the
/// detector's mean runs per frame. Liveness is timed on each detected face
/// when `FaceAntiSpoofing.onnx` is in the models folder.
fn time_pipeline(
    models: &Path,
    variant: ModelVariant,
    frames: &[(PathBuf, Vec<u8>)],
    warmup: usize,
    runs: usize,
) -> anyhow::Result<(Vec<StageLatency>, DetectorRuns)> {
    let mut pipeline = FacePipeline::load_variant(models, variant, MtcnnConfig::default())?;
    let liveness_file = models.join(LIVENESS_FILE);
    let mut liveness = liveness_file
        .is_file()
        .then(|| Liveness::load(&liveness_file))
        .transpose()?;
    let mut embedding = Vec::new();
    let mut stages: [Vec<Duration>; 8] = Default::default();
    let mut counted = DetectorRuns::default();
    let mut next = 0;
    let total = measure(warmup, runs, || -> anyhow::Result<()> {
        let (_, bytes) = &frames[next % frames.len()];
        next += 1;
        let t = Instant::now();
        let img = image::decode(bytes)?;
        let decode = t.elapsed();
        let r = pipeline.process(&img, &mut embedding)?;
        let t = Instant::now();
        if let (Some(net), Some(face)) = (liveness.as_mut(), &r.face) {
            net.score(&img, face.bbox)?;
        }
        let live = t.elapsed();
        let d = *pipeline.detect_stats();
        counted.add(&d);
        for (s, t) in stages.iter_mut().zip([
            decode,
            r.times.detect,
            d.pnet,
            d.rnet,
            d.onet,
            r.times.align,
            live,
            r.times.embed,
        ]) {
            s.push(t);
        }
        Ok(())
    })?;
    let names = [
        "decode",
        "detect",
        "detect: P-Net",
        "detect: R-Net",
        "detect: O-Net",
        "align",
        "liveness",
        "embed",
    ];
    let mut out: Vec<StageLatency> = names
        .into_iter()
        .zip(stages)
        .filter(|(stage, _)| *stage != "liveness" || liveness.is_some())
        .map(|(stage, mut s)| StageLatency {
            stage: stage.into(),
            latency: Latency::from_samples(&mut s[warmup..]),
        })
        .collect();
    out.push(StageLatency {
        stage: "total".into(),
        latency: total,
    });
    Ok((out, counted.mean()))
}

struct Plan<'a> {
    models: &'a Path,
    frames: &'a [(PathBuf, Vec<u8>)],
    threads: usize,
    warmup: usize,
    runs: usize,
}

fn bench_variant(plan: &Plan, variant: ModelVariant) -> anyhow::Result<VariantBench> {
    let model = plan.models.join(variant.embedder_file());
    let model_bytes = std::fs::metadata(&model)
        .with_context(|| {
            format!(
                "{} is missing: variant {} is not in {} (the variants there are timed when --variant is left out)",
                model.display(),
                variant.name(),
                plan.models.display()
            )
        })?
        .len();
    reset_peak_rss();
    let t = Instant::now();
    let mut embedder = Embedder::load_with(&model, variant.execution())?;
    let engine = embedder.model().network().engine_report();
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let face = synthetic_face();
    let mut out = Vec::new();
    let t = Instant::now();
    for _ in 0..plan.warmup {
        embedder.embed(&face, &mut out)?;
    }
    let warmup_ms = t.elapsed().as_secs_f64() * 1e3;
    let embed = measure(0, plan.runs, || embedder.embed(&face, &mut out))?;
    let instructions_per_embed = match InstructionCounter::open() {
        Ok(mut counter) => {
            let (result, count) = counter
                .count(|| (0..plan.runs).try_for_each(|_| embedder.embed(&face, &mut out)))
                .map_err(anyhow::Error::msg)?;
            result?;
            Some(per_run(count, plan.runs))
        }
        Err(_) => None,
    };
    drop(embedder);
    let throughput_per_s = throughput(&model, variant, plan.threads, plan.runs)?;
    let (pipeline, detector) = if plan.frames.is_empty() {
        (Vec::new(), None)
    } else {
        let (stages, runs) =
            time_pipeline(plan.models, variant, plan.frames, plan.warmup, plan.runs)?;
        (stages, Some(runs))
    };
    Ok(VariantBench {
        variant: variant.name().into(),
        model: model.display().to_string(),
        engine,
        model_bytes,
        load_ms,
        warmup_ms,
        embed,
        instructions_per_embed,
        throughput_per_s,
        pipeline,
        detector,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// The tracker's stages for every backbone variant present: in the models
/// folder's `nanotrack/` (a board, after fetch.sh), else in the checkout's models/zoo/nanotrack.
fn bench_trackers(models: &Path, plan: &Plan) -> anyhow::Result<Vec<TrackerBench>> {
    let dir = [
        models.join("nanotrack"),
        PathBuf::from(super::track::DEFAULT_TRACK_MODELS),
    ]
    .into_iter()
    .find(|d| d.join(ModelVariant::Fp32.track_backbone_file()).is_file());
    let Some(dir) = dir else {
        eprintln!(
            "bench: no tracker models (nanotrack/ in {}): the tracker is not timed",
            models.display()
        );
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for v in ModelVariant::ALL {
        let backbone = dir.join(v.track_backbone_file());
        if !backbone.is_file() {
            continue;
        }
        let mut tracker = super::track::load_tracker(&dir, v)?;
        out.push(bench_tracker(
            &mut tracker,
            v.name(),
            &backbone.display().to_string(),
            plan.warmup,
            plan.runs,
        )?);
    }
    Ok(out)
}

fn read_report(path: &Path) -> anyhow::Result<BenchReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a `siamedge bench --json` report", path.display()))
}

/// Runs `bench`.
/// `explicit` is `--models` when given: it wins over the configuration's folder.
pub fn run(explicit: Option<&Path>, args: BenchArgs) -> anyhow::Result<()> {
    if let [a, b] = args.compare.as_slice() {
        let c = compare(&read_report(a)?, &read_report(b)?);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&c)?);
        } else {
            print!("{}", c.to_markdown());
        }
        return Ok(());
    }
    let config = args.config.as_deref().map(DeviceConfig::load).transpose()?;
    let models = explicit
        .or(config.as_ref().map(|c| c.models.as_path()))
        .unwrap_or(Path::new(super::DEFAULT_MODELS));
    let threads = args
        .threads
        .or(config.as_ref().map(|c| c.threads))
        .unwrap_or(1)
        .max(1);
    let variants = if args.variants.is_empty() {
        let present: Vec<ModelVariant> = ModelVariant::ALL
            .into_iter()
            .filter(|v| models.join(v.embedder_file()).is_file())
            .collect();
        if present.is_empty() {
            bail!(
                "{} holds no embedding model ({}): run models/zoo/fetch.sh or pass --models",
                models.display(),
                ModelVariant::Fp32.embedder_file()
            );
        }
        present
    } else {
        args.variants.clone()
    };
    let mut frames = replay_frames(&args.frames)?;
    if let Some(size) = args.frame_size {
        frames = as_frames(frames, size)?;
    }
    let plan = Plan {
        models,
        frames: &frames,
        threads,
        warmup: args.warmup,
        runs: args.runs.max(1),
    };
    let report = BenchReport {
        host: HostInfo::detect(),
        runs: plan.runs,
        warmup: plan.warmup,
        threads,
        input: if frames.is_empty() {
            "synthetic aligned face".into()
        } else {
            match args.frame_size {
                Some((w, h)) => format!("{} photo(s) replayed as {w}x{h} frames", frames.len()),
                None => format!("{} replayed frame(s)", frames.len()),
            }
        },
        variants: variants
            .into_iter()
            .map(|v| bench_variant(&plan, v))
            .collect::<anyhow::Result<_>>()?,
        frames: frame_costs(plan.warmup, plan.runs),
        tracker: bench_trackers(models, &plan)?,
        debug_build: cfg!(debug_assertions),
    };
    if report.debug_build {
        eprintln!("bench: {}", DEBUG_BUILD_WARNING.replace("**", ""));
    }
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(out) = &args.out {
        siamedge::store::write_atomic(out, json.as_bytes())?;
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{}", report.to_markdown());
    }
    Ok(())
}
