//! `siamedge track`: follow a target through a camera or a replay.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use siamedge::actuate::{install_shutdown_handlers, shutdown_requested};
use siamedge::capture::{CameraSettings, FrameSource, ImageReplay, V4l2Camera};
use siamedge::config::ModelVariant;
use siamedge::face::{Mtcnn, MtcnnConfig};
use siamedge::image::{draw_box, encode_jpeg, AviWriter, FrameConverter, RgbImage};
use siamedge::track::{BBox, FaceRecovery, TrackResult, TrackState, Tracker, TrackerModels};

/// Where the tracker's models are in a checkout (they are in the repository).
pub const DEFAULT_TRACK_MODELS: &str = "models/zoo/nanotrack";

/// Arguments of `track`.
#[derive(Debug, Args)]
pub struct TrackArgs {
    /// A camera (/dev/videoN or /dev/v4l/by-id/...), or images and folders
    /// of images to replay in name order [default: the configured camera].
    #[arg(long, num_args = 1..)]
    source: Vec<PathBuf>,
    /// The target in the first frame: `x,y,w,h` in pixels, or `face` (the
    /// most prominent face MTCNN finds; it is also re-detected while lost).
    #[arg(long)]
    init: String,
    /// Tracker backbone variant: fp32, int8 or pruned-int8 [default: the
    /// configuration's variant, else fp32].
    #[arg(long)]
    variant: Option<ModelVariant>,
    /// Folder of the tracker's models (nanotrack_v3_*.onnx with manifests)
    /// [default: the configuration's models folder + /nanotrack, else models/zoo/nanotrack].
    #[arg(long, env = "SIAMEDGE_TRACK_MODELS")]
    track_models: Option<PathBuf>,
    /// Stop after this many frames (a camera runs until SIGINT/SIGTERM otherwise).
    #[arg(long)]
    frames: Option<u64>,
    /// Write every frame with its box drawn (green tracking, yellow
    /// uncertain, red lost) to DIR/frame_NNNNN.jpg, and DIR/track.avi (MJPEG).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Frame rate written into track.avi.
    #[arg(long, default_value_t = 25)]
    fps: u32,
    /// Follow the reference tracker exactly (no wider search or frozen box while lost).
    #[arg(long)]
    no_recovery: bool,
    /// One JSON object per frame on stdout.
    #[arg(long)]
    json: bool,
    /// Device configuration (camera settings, variant) [default: /etc/siamedge/siamedge.toml].
    #[arg(long, env = "SIAMEDGE_CONFIG")]
    config: Option<PathBuf>,
}

/// One frame's line of `--json`.
#[derive(serde::Serialize)]
struct FrameLine<'a> {
    frame: u64,
    #[serde(flatten)]
    bbox: BBox,
    confidence: f64,
    state: &'a str,
    score: f64,
    psr: f64,
    similarity: f64,
    ms: f64,
}

/// Loads the tracker of `variant` from `dir` (a pruned-int8 configuration
/// tracks with the int8 backbone while there is no pruned one).
pub fn load_tracker(dir: &Path, variant: ModelVariant) -> anyhow::Result<Tracker> {
    let mut variant = variant;
    if variant == ModelVariant::PrunedInt8 && !dir.join(variant.track_backbone_file()).is_file() {
        eprintln!(
            "siamedge: no pruned tracker backbone in {}: the int8 one tracks",
            dir.display()
        );
        variant = ModelVariant::Int8;
    }
    let files = TrackerModels::nanotrack(dir, variant.track_backbone_file());
    Tracker::load(&files, variant.execution()).with_context(|| {
        format!(
            "loading the tracker (backbone variant {}) from {}",
            variant.name(),
            dir.display()
        )
    })
}

enum Init {
    Box(BBox),
    Face(Box<FaceRecovery>),
}

fn parse_box(s: &str) -> anyhow::Result<BBox> {
    let v: Vec<f64> = s
        .split(',')
        .map(|f| f.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--init {s:?}: expected x,y,w,h (numbers) or face"))?;
    match v[..] {
        [x, y, w, h] if w >= 1.0 && h >= 1.0 && x.is_finite() && y.is_finite() => {
            Ok(BBox { x, y, w, h })
        }
        _ => bail!("--init {s:?}: expected x,y,w,h with w and h at least 1, or face"),
    }
}

/// Runs `track`; `models` is the face models' folder (for `--init face`).
pub fn run(models: Option<&Path>, args: TrackArgs) -> anyhow::Result<()> {
    let device = super::device_config::load_defaults(args.config.as_deref())?;
    let variant = args
        .variant
        .or(device.as_ref().map(|d| d.variant))
        .unwrap_or(ModelVariant::Fp32);
    let mut init = if args.init == "face" {
        let dir = models
            .map(Path::to_path_buf)
            .or(device.as_ref().map(|d| d.models.clone()))
            .unwrap_or_else(|| PathBuf::from(super::DEFAULT_MODELS));
        let mtcnn = Mtcnn::load(&dir, MtcnnConfig::default()).with_context(|| {
            format!(
                "loading the face detector from {} (models/zoo/fetch.sh makes it)",
                dir.display()
            )
        })?;
        Init::Face(Box::new(FaceRecovery::new(mtcnn)))
    } else {
        Init::Box(parse_box(&args.init)?)
    };
    let track_models = args
        .track_models
        .clone()
        .or(device.as_ref().map(|d| d.models.join("nanotrack")))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_TRACK_MODELS));
    let mut tracker = load_tracker(&track_models, variant)?;
    tracker.set_recovery(!args.no_recovery);
    let mut source = open_source(&args, device.as_ref())?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    install_shutdown_handlers();
    let mut converter = FrameConverter::new();
    let mut bytes = Vec::new();
    let mut frame = RgbImage::new(0, 0);
    let mut video: Option<AviWriter> = None;
    let mut jpeg = Vec::new();
    let mut started = false;
    let mut n: u64 = 0;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    while args.frames.is_none_or(|max| n < max) && !shutdown_requested() {
        let info = match source.next_frame(&mut bytes) {
            Ok(info) => info,
            Err(siamedge::capture::CaptureError::Exhausted(_)) if started => break,
            Err(e) => return Err(e).context(format!("reading a frame from {}", source.describe())),
        };
        converter
            .to_rgb(&bytes, &info, &mut frame)
            .with_context(|| format!("decoding frame {n} from {}", source.describe()))?;
        let t = Instant::now();
        let result = if !started {
            let Some(first) = first_box(&mut init, &frame)? else {
                eprintln!("siamedge: frame {n}: no face yet");
                n += 1;
                continue;
            };
            tracker.init(&frame, first)?;
            started = true;
            TrackResult::initial(first)
        } else {
            let r = tracker.update(&frame)?;
            if let Init::Face(recovery) = &mut init {
                recovery.after_update(&mut tracker, &frame, &r)?;
            }
            r
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        report(&mut out, args.json, n, &result, ms)?;
        if let Some(dir) = &args.out {
            draw_result(&mut frame, &result);
            let path = dir.join(format!("frame_{n:05}.jpg"));
            encode_jpeg(&frame, 85, &mut jpeg)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("encoding {}", path.display()))?;
            std::fs::write(&path, &jpeg).with_context(|| format!("writing {}", path.display()))?;
            if video.is_none() {
                video = Some(AviWriter::create(
                    &dir.join("track.avi"),
                    frame.width,
                    frame.height,
                    args.fps,
                )?);
            }
            if let Some(v) = &mut video {
                v.push_jpeg(&jpeg, frame.width, frame.height)?;
            }
        }
        n += 1;
    }
    if !started {
        bail!(
            "no frame to start on: {} gave {n} frames and no target",
            source.describe()
        );
    }
    if let Some(v) = video {
        let path = v.finish()?;
        eprintln!(
            "siamedge: {n} frames with boxes drawn in {}",
            path.parent().unwrap_or(Path::new(".")).display()
        );
    }
    Ok(())
}

fn open_source(
    args: &TrackArgs,
    device: Option<&siamedge::config::DeviceConfig>,
) -> anyhow::Result<Box<dyn FrameSource>> {
    let camera = match args.source.as_slice() {
        [] => true,
        [one] => one.starts_with("/dev"),
        _ => false,
    };
    if !camera {
        return Ok(Box::new(ImageReplay::open(&args.source, false, None)?));
    }
    let mut settings = device
        .map(|d| CameraSettings::from_config(&d.camera))
        .unwrap_or_default();
    if let [dev] = args.source.as_slice() {
        settings.device = dev.clone();
    }
    Ok(Box::new(V4l2Camera::open(settings)?))
}

fn first_box(init: &mut Init, frame: &RgbImage) -> anyhow::Result<Option<BBox>> {
    match init {
        Init::Box(b) => Ok(Some(*b)),
        Init::Face(recovery) => Ok(recovery.most_prominent(frame)?),
    }
}

fn report(
    out: &mut impl Write,
    json: bool,
    frame: u64,
    r: &TrackResult,
    ms: f64,
) -> anyhow::Result<()> {
    if json {
        let line = FrameLine {
            frame,
            bbox: r.bbox,
            confidence: r.confidence,
            state: r.state.name(),
            score: r.signals.score,
            psr: r.signals.psr,
            similarity: r.signals.similarity,
            ms,
        };
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
    } else {
        let b = r.bbox;
        writeln!(
            out,
            "frame {frame:5}  box {:.1},{:.1},{:.1},{:.1}  {:<9}  confidence {:.2}  {ms:.1} ms",
            b.x,
            b.y,
            b.w,
            b.h,
            r.state.name(),
            r.confidence
        )?;
    }
    Ok(())
}

fn draw_result(frame: &mut RgbImage, r: &TrackResult) {
    let colour = match r.state {
        TrackState::Tracking => [0, 220, 0],
        TrackState::Uncertain => [240, 200, 0],
        TrackState::Lost => [230, 0, 0],
    };
    let b = r.bbox;
    draw_box(frame, b.x, b.y, b.w, b.h, colour, 2);
}
