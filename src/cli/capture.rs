//! `siamedge capture`: frames from a camera (or a replay) into a recording
//! folder, to check a camera on a board and to replay its frames elsewhere.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use siamedge::actuate::install_shutdown_handlers;
use siamedge::capture::{
    v4l2, CameraSettings, CaptureError, FrameSource, ImageReplay, Recorder, V4l2Camera,
    RECORDING_INDEX,
};
use siamedge::image::PixelFormat;

use super::device_config::load_defaults;

/// Arguments of `capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The camera: a node (/dev/video0) or a stable name (/dev/v4l/by-id/...).
    /// Default: the device configuration's camera.
    #[arg(long, conflicts_with = "source")]
    device: Option<PathBuf>,
    /// Record from replayed images or folders instead of a camera.
    #[arg(long, num_args = 1..)]
    source: Vec<PathBuf>,
    /// Pixel format to ask for: MJPG, YUYV, GREY or RGB3 (another offered one is used, and said, when it is missing).
    #[arg(long)]
    format: Option<PixelFormat>,
    /// Frame width to ask for (the nearest offered size is used, and said).
    #[arg(long)]
    width: Option<u32>,
    /// Frame height to ask for.
    #[arg(long)]
    height: Option<u32>,
    /// Frame rate to ask for (paces a replay).
    #[arg(long)]
    fps: Option<u32>,
    /// Frames dropped after the stream starts while exposure settles.
    #[arg(long)]
    settle_frames: Option<u32>,
    /// Frames to record.
    #[arg(long, default_value_t = 30)]
    frames: usize,
    /// Folder to write the frames and frames.toml into (must not hold a recording).
    #[arg(long, required_unless_present = "list")]
    out: Option<PathBuf>,
    /// When the camera disconnects, wait for it to come back and go on.
    #[arg(long)]
    reconnect: bool,
    /// Milliseconds to wait for one frame before giving up.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// List the cameras and the modes they offer, then exit.
    #[arg(long)]
    list: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
    /// Device configuration supplying the defaults (else /etc/siamedge/siamedge.toml if present).
    #[arg(long, env = "SIAMEDGE_CONFIG")]
    config: Option<PathBuf>,
}

/// What `capture --json` prints.
#[derive(Debug, Serialize)]
struct Summary {
    source: String,
    format: String,
    width: usize,
    height: usize,
    frames: usize,
    seconds: f64,
    fps: f64,
    out: PathBuf,
    negotiated: Option<NegotiatedJson>,
    reconnects_ms: Vec<u128>,
}

#[derive(Debug, Serialize)]
struct NegotiatedJson {
    card: String,
    buffers: usize,
    fps: Option<f64>,
    notes: Vec<String>,
}

/// A camera, which can be re-opened after an unplug, or a replay.
enum Source {
    Camera(V4l2Camera),
    Replay(ImageReplay),
}

impl Source {
    fn frames(&mut self) -> &mut dyn FrameSource {
        match self {
            Source::Camera(c) => c,
            Source::Replay(r) => r,
        }
    }
}

/// Runs `capture`.
pub fn run(args: CaptureArgs) -> anyhow::Result<()> {
    install_shutdown_handlers();
    if args.list {
        list();
        return Ok(());
    }
    let out = args.out.clone().context("--out is required")?;
    if args.frames == 0 {
        bail!("--frames must be at least 1");
    }
    let mut negotiated = None;
    let mut source = if args.source.is_empty() {
        let camera = open_camera(&args)?;
        let n = camera.negotiated().clone();
        eprintln!(
            "capture: {} ({}), {} buffers{}",
            camera.describe(),
            n.card,
            n.buffers,
            n.fps.map(|f| format!(", {f:.1} fps")).unwrap_or_default()
        );
        for note in &n.notes {
            eprintln!("capture: note: {note}");
        }
        negotiated = Some(NegotiatedJson {
            card: n.card,
            buffers: n.buffers,
            fps: n.fps,
            notes: n.notes,
        });
        Source::Camera(camera)
    } else {
        Source::Replay(ImageReplay::open(
            &args.source,
            false,
            args.fps.map(f64::from),
        )?)
    };
    let description = source.frames().describe();
    let mut recorder = Recorder::create(&out, &description)?;
    let mut buf = Vec::new();
    let mut reconnects_ms = Vec::new();
    let start = Instant::now();
    let mut captured = 0;
    while captured < args.frames {
        match source.frames().next_frame(&mut buf) {
            Ok(info) => {
                recorder.write(&buf, &info)?;
                captured += 1;
                if captured == 1 || captured % 10 == 0 || captured == args.frames {
                    eprintln!("capture: {captured}/{} frames", args.frames);
                }
            }
            Err(CaptureError::Disconnected { path, reason }) if args.reconnect => {
                let Source::Camera(camera) = &mut source else {
                    unreachable!("only a camera disconnects")
                };
                eprintln!(
                    "capture: camera {} disconnected ({reason}); waiting for it to come back",
                    path.display()
                );
                let took = camera.reopen(None)?;
                eprintln!(
                    "capture: camera {} reconnected after {} ms",
                    path.display(),
                    took.as_millis()
                );
                reconnects_ms.push(took.as_millis());
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "after {captured} of {} frames (kept in {})",
                        args.frames,
                        out.display()
                    )
                })
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let index = recorder.recording().context("no frame was recorded")?;
    eprintln!(
        "capture: {captured} frames {} {}x{} in {seconds:.2} s ({:.1} fps) -> {}",
        index.format,
        index.width,
        index.height,
        captured as f64 / seconds,
        out.join(RECORDING_INDEX).display()
    );
    if args.json {
        let summary = Summary {
            source: description,
            format: index.format.clone(),
            width: index.width,
            height: index.height,
            frames: captured,
            seconds,
            fps: captured as f64 / seconds,
            out,
            negotiated,
            reconnects_ms,
        };
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(())
}

/// Opens the camera from the flags, with the device configuration's camera as defaults.
fn open_camera(args: &CaptureArgs) -> anyhow::Result<V4l2Camera> {
    let defaults = load_defaults(args.config.as_deref())?;
    let mut s = defaults
        .as_ref()
        .map(|c| CameraSettings::from_config(&c.camera))
        .unwrap_or_default();
    if let Some(d) = &args.device {
        s.device = d.clone();
    }
    if let Some(f) = args.format {
        s.format = f;
    }
    s.width = args.width.unwrap_or(s.width);
    s.height = args.height.unwrap_or(s.height);
    s.fps = args.fps.or(s.fps);
    s.settle_frames = args.settle_frames.unwrap_or(s.settle_frames);
    s.timeout = std::time::Duration::from_millis(args.timeout_ms);
    Ok(V4l2Camera::open(s)?)
}

/// Prints every camera and the modes it offers.
fn list() {
    let cameras = v4l2::diagnose::list_cameras();
    if cameras.is_empty() {
        println!(
            "no V4L2 devices on this machine (is the camera plugged in and its driver loaded?)"
        );
    }
    for camera in cameras {
        println!("{camera}");
        let node = camera.split(' ').next().unwrap_or_default();
        match v4l2::offered_modes(std::path::Path::new(node)) {
            Ok(modes) => modes.iter().for_each(|m| println!("    {m}")),
            Err(e) => println!("    ({e})"),
        }
    }
}
