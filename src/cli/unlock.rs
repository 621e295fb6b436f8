//! Face unlock commands: `enrol`, `list`, `remove`, `verify` (one attempt
//! without the daemon), `unlock` (the daemon) and `status` (asks it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use siamedge::actuate::{install_shutdown_handlers, open_led, open_relay};
use siamedge::capture::{CameraSettings, FrameSource, ImageReplay, V4l2Camera};
use siamedge::config::{DeviceConfig, LivenessMode, ModelVariant, UnlockConfig};
use siamedge::distance::cosine;
use siamedge::face::gallery::{EnrolledFace, Gallery, UserGallery};
use siamedge::image::{FrameConverter, RgbImage};
use siamedge::model::Manifest;
use siamedge::unlock::daemon::{door_signal, serve, DaemonParts, SourceFactory};
use siamedge::unlock::{
    policy_threshold, run_attempt, AttemptBuffers, AuditLog, FrameGate, FrameVerdict, Lockout,
    Policy, PolicyThreshold, Recogniser,
};
use siamedge_protocol::{ask, Request};

use super::device_config::load_defaults;

/// Where the models, the camera and the policy come from.
#[derive(Debug, Args)]
pub struct UnlockSetup {
    /// Device configuration (else /etc/siamedge/siamedge.toml if present, else built-in defaults).
    #[arg(long, env = "SIAMEDGE_CONFIG")]
    config: Option<PathBuf>,
    /// Gallery folder [default: the configuration's unlock.gallery, /var/lib/siamedge/faces].
    #[arg(long)]
    gallery: Option<PathBuf>,
    /// Embedding model variant [default: the configuration's, else fp32].
    #[arg(long)]
    variant: Option<ModelVariant>,
    /// Replay these images or folders instead of the camera.
    #[arg(long, num_args = 1..)]
    source: Vec<PathBuf>,
    /// The camera [default: the configuration's camera.device].
    #[arg(long, conflicts_with = "source")]
    device: Option<PathBuf>,
    /// Pace the replay in real time at this many frames per second, as a
    /// camera delivers them (default: as fast as they decode).
    #[arg(long, requires = "source")]
    fps: Option<f64>,
}

/// Everything a face-unlock command runs with.
struct Setup {
    device: Option<DeviceConfig>,
    unlock: UnlockConfig,
    models: PathBuf,
    variant: ModelVariant,
    gallery: PathBuf,
    source: Vec<PathBuf>,
    fps: Option<f64>,
    camera: Option<PathBuf>,
}

impl UnlockSetup {
    fn resolve(&self, models: Option<&Path>) -> anyhow::Result<Setup> {
        let device = load_defaults(self.config.as_deref())?;
        let unlock = device
            .as_ref()
            .map(|d| d.unlock.clone())
            .unwrap_or_default();
        Ok(Setup {
            models: models
                .map(Path::to_path_buf)
                .or(device.as_ref().map(|d| d.models.clone()))
                .unwrap_or_else(|| PathBuf::from(super::DEFAULT_MODELS)),
            variant: self
                .variant
                .or(device.as_ref().map(|d| d.variant))
                .unwrap_or(ModelVariant::Fp32),
            gallery: self
                .gallery
                .clone()
                .unwrap_or_else(|| unlock.gallery.clone()),
            source: self.source.clone(),
            fps: self.fps,
            camera: self.device.clone(),
            device,
            unlock,
        })
    }
}

impl Setup {
    fn gate(&self) -> FrameGate {
        FrameGate::from_config(&self.unlock)
    }

    fn recogniser(&self) -> anyhow::Result<Recogniser> {
        Recogniser::load(
            &self.models,
            self.variant,
            self.unlock.liveness,
            self.unlock.min_face,
        )
        .with_context(|| {
            format!(
                "loading the face models (variant {}) from {}",
                self.variant.name(),
                self.models.display()
            )
        })
    }

    /// Opens the frame source: the replay, else the camera.
    fn open_source(&self, looped: bool) -> anyhow::Result<Box<dyn FrameSource>> {
        source_factory(self, looped)().map_err(anyhow::Error::from)
    }

    /// The attempt threshold for this embedder, policy and FAR; warns when
    /// only a pair threshold stands in.
    fn threshold(&self, manifest: &Manifest) -> anyhow::Result<PolicyThreshold> {
        let u = &self.unlock;
        let t = policy_threshold(manifest, u.far, u.k, u.n).context(
            "the embedding model's manifest has no thresholds: calibrate it (`siamedge calibrate unlock`)",
        )?;
        if !t.calibrated {
            eprintln!(
                "siamedge: warning: no attempt threshold for FAR {:e}, {} of {} frames in the embedder's manifest; using its {} {:.4}. Calibrate with `siamedge calibrate unlock --data DIR --write`",
                u.far, u.k, u.n, t.source, t.value
            );
        }
        Ok(t)
    }
}

/// A factory opening the replay (looped for the daemon) or the camera.
fn source_factory(s: &Setup, looped: bool) -> SourceFactory {
    let replay = s.source.clone();
    let fps = s.fps;
    let mut settings = s
        .device
        .as_ref()
        .map(|d| CameraSettings::from_config(&d.camera))
        .unwrap_or_default();
    if let Some(d) = &s.camera {
        settings.device = d.clone();
    }
    Box::new(
        move || -> Result<Box<dyn FrameSource>, siamedge::capture::CaptureError> {
            if replay.is_empty() {
                Ok(Box::new(V4l2Camera::open(settings.clone())?))
            } else {
                Ok(Box::new(ImageReplay::open(&replay, looped, fps)?))
            }
        },
    )
}

/// Arguments of `enrol`.
#[derive(Debug, Args)]
pub struct EnrolArgs {
    /// The user to enrol.
    user: String,
    /// Label of the new faces (numbered when several).
    #[arg(long)]
    label: Option<String>,
    /// Faces to keep: the sharpest, largest frames with exactly one live face.
    #[arg(long, default_value_t = 3)]
    frames: usize,
    /// Frames to look at (camera) before choosing.
    #[arg(long, default_value_t = 30)]
    candidates: usize,
    #[command(flatten)]
    setup: UnlockSetup,
}

/// Arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this user.
    user: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    setup: UnlockSetup,
}

/// Arguments of `remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The user.
    user: String,
    /// Remove only the faces with this label.
    #[arg(required_unless_present = "all")]
    label: Option<String>,
    /// Remove all of the user's faces.
    #[arg(long, conflicts_with = "label")]
    all: bool,
    #[command(flatten)]
    setup: UnlockSetup,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The user to look for.
    user: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Make this many attempts (the models loaded once, the source opened
    /// afresh for each, as the daemon does) and also print the median and
    /// 90th percentile of the time from request to decision.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    #[command(flatten)]
    setup: UnlockSetup,
}

/// Arguments of `unlock` (the daemon).
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Socket to listen on [default: the configuration's unlock.socket].
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Folder for the lockout state [default: the configuration's unlock.state].
    #[arg(long)]
    state: Option<PathBuf>,
    /// Audit log [default: the configuration's unlock.audit-log].
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// Never touch GPIO lines (no relay, no LED).
    #[arg(long)]
    no_gpio: bool,
    #[command(flatten)]
    setup: UnlockSetup,
}

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The daemon's socket [default: the configuration's unlock.socket].
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Device configuration (for the socket path).
    #[arg(long, env = "SIAMEDGE_CONFIG")]
    config: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A frame kept for enrolment: its embedding, how good it is, where it came from.
struct Candidate {
    embedding: Vec<f32>,
    quality: f32,
    sequence: u64,
}

/// Runs `enrol`.
pub fn enrol(models: Option<&Path>, a: EnrolArgs) -> anyhow::Result<()> {
    install_shutdown_handlers();
    let s = a.setup.resolve(models)?;
    if a.frames == 0 {
        bail!("--frames must be at least 1");
    }
    let gallery = Gallery::open(&s.gallery)?;
    gallery.path_for(&a.user)?;
    let mut rec = s.recogniser()?;
    let manifest = rec.embedder().model().manifest().clone();
    let mut g = gallery
        .load_for_model(&a.user, &manifest.sha256, s.variant.name())?
        .unwrap_or_else(|| UserGallery::new(&a.user, &manifest.sha256, s.variant.name()));
    let mut source = s.open_source(false)?;
    let described = source.describe();
    let gate = s.gate();
    let (mut raw, mut rgb, mut conv) = (Vec::new(), RgbImage::default(), FrameConverter::new());
    let mut candidates = Vec::new();
    let limit = if s.source.is_empty() {
        a.candidates
    } else {
        usize::MAX
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = 0;
    while seen < limit && Instant::now() < deadline {
        let info = match source.next_frame(&mut raw) {
            Ok(i) => i,
            Err(siamedge::capture::CaptureError::Exhausted(_)) => break,
            Err(e) => return Err(e).context("reading frames for enrolment"),
        };
        seen += 1;
        conv.to_rgb(&raw, &info, &mut rgb)?;
        let verdict = rec.examine(&rgb, &gate)?;
        let spoof = match verdict {
            FrameVerdict::Embedded { .. } if s.unlock.liveness != LivenessMode::Off => {
                rec.liveness(&rgb)?
            }
            _ => None,
        };
        let why = match verdict {
            FrameVerdict::Embedded { .. } if spoof.is_some_and(|(_, spoofed)| spoofed) => {
                Some(format!(
                    "the liveness net calls it a spoof (score {:.3})",
                    spoof.map_or(0.0, |s| s.0)
                ))
            }
            FrameVerdict::Embedded { sharpness } => {
                candidates.push(Candidate {
                    embedding: rec.embedding().to_vec(),
                    quality: sharpness * rec.face_side(),
                    sequence: info.sequence,
                });
                None
            }
            FrameVerdict::SeveralFaces => {
                Some("several faces: enrolment needs exactly one face in view".into())
            }
            other => Some(format!("{other:?}")),
        };
        if let Some(why) = why {
            eprintln!("enrol: frame {} refused: {why}", info.sequence);
        }
    }
    if candidates.len() < a.frames {
        bail!(
            "only {} of {seen} frames had exactly one usable face, {} needed: nothing was enrolled (more light, face the camera, or pass --frames {})",
            candidates.len(),
            a.frames,
            candidates.len().max(1)
        );
    }
    candidates.sort_by(|x, y| y.quality.total_cmp(&x.quality));
    candidates.truncate(a.frames);
    let far_pair = manifest
        .thresholds
        .iter()
        .max_by(|x, y| x.far.total_cmp(&y.far))
        .map(|t| t.value);
    for (i, c) in candidates.iter().enumerate() {
        if let (Some(t), Some(best)) = (
            far_pair,
            g.faces
                .iter()
                .map(|f| cosine(&f.embedding, &c.embedding))
                .reduce(f32::max),
        ) {
            if best < t {
                eprintln!(
                    "enrol: warning: a new face is far from {}'s enrolled ones (best similarity {best:.3} < {t:.3}): is this the same person?",
                    a.user
                );
            }
        }
        let label = match (&a.label, candidates.len()) {
            (Some(l), 1) => l.clone(),
            (Some(l), _) => format!("{l}-{}", i + 1),
            (None, _) => format!("face-{}-{}", unix_now(), i + 1),
        };
        g.faces.push(EnrolledFace {
            label,
            time: unix_now(),
            source: format!("{described} frame {}", c.sequence),
            embedding: c.embedding.clone(),
        });
    }
    gallery.save(&g)?;
    eprintln!(
        "enrolled {} face(s) for {} ({} in all) into {}",
        candidates.len(),
        a.user,
        g.faces.len(),
        gallery.path_for(&a.user)?.display()
    );
    Ok(())
}

/// Runs `list`.
pub fn list(models: Option<&Path>, a: ListArgs) -> anyhow::Result<()> {
    let s = a.setup.resolve(models)?;
    let gallery = Gallery::open(&s.gallery)?;
    let users = match &a.user {
        Some(u) => vec![u.clone()],
        None => gallery.users()?,
    };
    #[derive(Serialize)]
    struct Face<'a> {
        label: &'a str,
        time: u64,
        source: &'a str,
    }
    #[derive(Serialize)]
    struct User<'a> {
        user: &'a str,
        variant: &'a str,
        model_sha256: &'a str,
        faces: Vec<Face<'a>>,
    }
    let galleries: Vec<UserGallery> = users
        .iter()
        .map(|u| gallery.load(u))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let out: Vec<User> = galleries
        .iter()
        .map(|g| User {
            user: &g.user,
            variant: &g.variant,
            model_sha256: &g.model_sha256,
            faces: g
                .faces
                .iter()
                .map(|f| Face {
                    label: &f.label,
                    time: f.time,
                    source: &f.source,
                })
                .collect(),
        })
        .collect();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if out.is_empty() {
        println!("no enrolled faces in {}", s.gallery.display());
    }
    for u in out {
        println!(
            "{} ({} face(s), {} model {})",
            u.user,
            u.faces.len(),
            u.variant,
            &u.model_sha256[..12.min(u.model_sha256.len())]
        );
        for f in u.faces {
            println!("  {}  enrolled {}  from {}", f.label, f.time, f.source);
        }
    }
    Ok(())
}

/// Runs `remove`.
pub fn remove(models: Option<&Path>, a: RemoveArgs) -> anyhow::Result<()> {
    let s = a.setup.resolve(models)?;
    let gallery = Gallery::open(&s.gallery)?;
    let n = gallery.remove(&a.user, a.label.as_deref())?;
    if n == 0 {
        bail!(
            "{} has no face{} to remove",
            a.user,
            a.label
                .map(|l| format!(" labelled {l:?}"))
                .unwrap_or_default()
        );
    }
    eprintln!(
        "removed {n} face(s) of {} (the previous gallery is kept as {}.bak)",
        a.user,
        gallery.path_for(&a.user)?.display()
    );
    Ok(())
}

/// What `verify --json` prints.
#[derive(Debug, Serialize)]
struct VerifyReport {
    user: String,
    accepted: bool,
    result: siamedge_protocol::Outcome,
    message: String,
    score: Option<f32>,
    threshold: f32,
    threshold_source: String,
    frames: siamedge_protocol::FrameCounts,
    liveness: Option<f32>,
    ms: u64,
}

/// Runs `verify`: one attempt with the daemon's policy, without the daemon.
pub fn verify(models: Option<&Path>, a: VerifyArgs) -> anyhow::Result<()> {
    install_shutdown_handlers();
    let s = a.setup.resolve(models)?;
    let gallery = Gallery::open(&s.gallery)?;
    let mut rec = s.recogniser()?;
    let manifest = rec.embedder().model().manifest().clone();
    let PolicyThreshold {
        value: threshold,
        gallery: max_gallery,
        source: threshold_source,
        ..
    } = s.threshold(&manifest)?;
    let g = gallery
        .load_for_model(&a.user, &manifest.sha256, s.variant.name())?
        .filter(|g| !g.faces.is_empty())
        .with_context(|| {
            format!(
                "{} has no enrolled face: `siamedge enrol {}` first",
                a.user, a.user
            )
        })?;
    let faces: Vec<Vec<f32>> = g
        .faces
        .iter()
        .rev()
        .take(max_gallery)
        .map(|f| f.embedding.clone())
        .collect();
    let policy = Policy {
        gate: s.gate(),
        k: s.unlock.k,
        n: s.unlock.n,
        threshold,
        timeout: Duration::from_millis(s.unlock.timeout_ms),
    };
    let mut reports = Vec::new();
    for _ in 0..a.repeat.max(1) {
        let started = Instant::now();
        let mut source = s.open_source(true)?;
        let r = run_attempt(
            source.as_mut(),
            &mut rec,
            &faces,
            &policy,
            started,
            &mut AttemptBuffers::default(),
        )?;
        reports.push(VerifyReport {
            user: a.user.clone(),
            accepted: r.outcome == siamedge_protocol::Outcome::Accepted,
            result: r.outcome,
            message: r.message,
            score: r.score,
            threshold,
            threshold_source: threshold_source.clone(),
            frames: r.frames,
            liveness: r.spoof_max,
            ms: r.elapsed.as_millis() as u64,
        });
    }
    let mut ms: Vec<u64> = reports.iter().map(|r| r.ms).collect();
    ms.sort_unstable();
    let pick = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
    let (p50, p90) = (pick(0.5), pick(0.9));
    let accepted = reports.iter().filter(|r| r.accepted).count();
    if a.json {
        if let [one] = reports.as_slice() {
            println!("{}", serde_json::to_string_pretty(one)?);
        } else {
            let all = serde_json::json!({
                "attempts": reports,
                "accepted": accepted,
                "ms_p50": p50,
                "ms_p90": p90,
            });
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
    } else {
        for report in &reports {
            println!(
                "{}: {:?} — {} (score {}, threshold {:.4}, {} ms)",
                report.user,
                report.result,
                report.message,
                report.score.map_or("n/a".into(), |s| format!("{s:.4}")),
                report.threshold,
                report.ms
            );
        }
        if reports.len() > 1 {
            println!(
                "{} of {} attempts accepted; request to decision: median {p50} ms, p90 {p90} ms",
                accepted,
                reports.len()
            );
        }
    }
    if accepted < reports.len() {
        std::process::exit(1);
    }
    Ok(())
}

/// Runs `unlock`: the daemon, until SIGTERM.
pub fn daemon(models: Option<&Path>, a: DaemonArgs) -> anyhow::Result<()> {
    install_shutdown_handlers();
    let s = a.setup.resolve(models)?;
    let u = &s.unlock;
    let gallery = Gallery::open(&s.gallery)?;
    let mut recogniser = s.recogniser()?;
    if let (Some(device), true) = (&s.device, s.source.is_empty()) {
        let (w, h) = (device.camera.width as usize, device.camera.height as usize);
        recogniser
            .prepare(w, h)
            .with_context(|| format!("readying the detector for {w}x{h} camera frames"))?;
    }
    let manifest = recogniser.embedder().model().manifest().clone();
    let PolicyThreshold {
        value: threshold,
        gallery: max_gallery,
        source: threshold_source,
        ..
    } = s.threshold(&manifest)?;
    let state = a.state.clone().unwrap_or_else(|| u.state.clone());
    std::fs::create_dir_all(&state).with_context(|| format!("creating {}", state.display()))?;
    let lockout = Lockout::open(
        &state.join("lockout.json"),
        u.max_failures,
        Duration::from_millis(u.lockout_ms),
    )?;
    let audit_path = a.audit_log.clone().unwrap_or_else(|| u.audit_log.clone());
    let audit = AuditLog::open(&audit_path, u.audit_max_bytes)
        .with_context(|| format!("opening {}", audit_path.display()))?;
    let signal = match (&s.device, a.no_gpio) {
        (Some(d), false) => {
            let g = &d.gpio;
            let relay = if u.door {
                Some(open_relay(&g.chip, g.relay_line, g.relay_active_low)?)
            } else {
                None
            };
            let led = open_led(&g.chip, g.led_line)?;
            door_signal(relay, Some(led), Duration::from_millis(g.relay_pulse_ms))
        }
        _ => door_signal::<siamedge::actuate::OutputLine, siamedge::actuate::OutputLine>(
            None,
            None,
            Duration::ZERO,
        ),
    };
    let socket = a.socket.clone().unwrap_or_else(|| u.socket.clone());
    let parts = DaemonParts {
        recogniser,
        gallery,
        lockout,
        audit,
        policy: Policy {
            gate: s.gate(),
            k: u.k,
            n: u.n,
            threshold,
            timeout: Duration::from_millis(u.timeout_ms),
        },
        max_gallery,
        source: source_factory(&s, true),
        signal,
        admin_group: u.admin_group.clone(),
        threshold_source: threshold_source.clone(),
        snapshots: u.snapshots.clone(),
    };
    serve(parts, &socket, || {
        eprintln!(
            "siamedge unlock: listening on {} ({} {}, {threshold_source}: {threshold:.4})",
            socket.display(),
            s.variant.name(),
            if s.source.is_empty() {
                "camera"
            } else {
                "replay"
            }
        )
    })
    .with_context(|| format!("serving {}", socket.display()))?;
    eprintln!("siamedge unlock: stopped");
    Ok(())
}

impl StatusArgs {
    /// The daemon's socket: `--socket`, else the configuration's, else the default.
    fn daemon_socket(&self) -> anyhow::Result<PathBuf> {
        Ok(match &self.socket {
            Some(s) => s.clone(),
            None => load_defaults(self.config.as_deref())?
                .map(|d| d.unlock.socket)
                .unwrap_or_else(|| UnlockConfig::default().socket),
        })
    }
}

/// Arguments of `ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// The user to authenticate.
    user: String,
    /// Longest attempt, in milliseconds.
    #[arg(long, default_value_t = 4000)]
    timeout_ms: u64,
    #[command(flatten)]
    status: StatusArgs,
}

/// Runs `ask`: one authentication through the daemon, as the PAM module does
/// (exit 0 only when accepted); prints the daemon's answer.
pub fn ask_daemon(a: AskArgs) -> anyhow::Result<()> {
    let socket = a.status.daemon_socket()?;
    let request = Request::Authenticate {
        user: a.user.clone(),
        timeout_ms: a.timeout_ms,
        service: Some("siamedge-ask".into()),
    };
    let r = ask(
        &socket,
        &request,
        Duration::from_millis(a.timeout_ms) + Duration::from_secs(2),
    )
    .with_context(|| {
        format!(
            "no answer on {} (is `siamedge unlock` running?)",
            socket.display()
        )
    })?;
    if a.status.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("{}: {:?} — {} ({} ms)", a.user, r.result, r.message, r.ms);
    }
    if r.result != siamedge_protocol::Outcome::Accepted {
        std::process::exit(1);
    }
    Ok(())
}

/// Runs `status`.
pub fn status(a: StatusArgs) -> anyhow::Result<()> {
    let socket = a.daemon_socket()?;
    let r = ask(&socket, &Request::Status, Duration::from_secs(2)).with_context(|| {
        format!(
            "no daemon answers on {} (is `siamedge unlock` running? `systemctl status siamedge`)",
            socket.display()
        )
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("{:?}: {}", r.result, r.message);
        if let Some(st) = r.status {
            println!("{}", serde_json::to_string_pretty(&st)?);
        }
    }
    Ok(())
}
