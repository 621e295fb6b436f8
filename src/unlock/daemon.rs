//! The unlock daemon: owns the models, the camera (only during an attempt)
//! and the GPIO lines, as fprintd owns a fingerprint reader; answers one
//! JSON request per connection on its Unix socket, checks who asks
//! (SO_PEERCRED), runs one attempt at a time on a worker thread (so that a
//! hung camera still gets an answer at the deadline), logs every decision
//! and pulses the door relay on an accepted face. SIGTERM ends the attempt,
//! leaves the relay off and removes the socket.

use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use siamedge_protocol::{read_message, valid_user, write_message, Outcome, Request, Response};

use super::attempt::{run_attempt, AttemptBuffers, AttemptReport, Policy};
use super::audit::{AuditLog, AuditRecord};
use super::lockout::Lockout;
use super::peer::{peer_credentials, Peer};
use super::recogniser::Recogniser;
use super::snapshot::write_snapshot;
use crate::actuate::{shutdown_requested, Led, LedPattern, Relay};
use crate::capture::{CaptureError, FrameSource};
use crate::face::gallery::Gallery;

/// Opens the frame source of one attempt (the camera, or a replay in tests).
pub type SourceFactory = Box<dyn FnMut() -> Result<Box<dyn FrameSource>, CaptureError> + Send>;

/// Pulses the door relay and shows the LED pattern of an outcome.
pub type Signal = Box<dyn FnMut(Outcome) + Send>;

/// What the daemon needs, loaded by the caller.
pub struct DaemonParts {
    /// The face models.
    pub recogniser: Recogniser,
    /// The enrolled faces.
    pub gallery: Gallery,
    /// Failed-attempt counts.
    pub lockout: Lockout,
    /// The audit log.
    pub audit: AuditLog,
    /// The attempt rule.
    pub policy: Policy,
    /// Enrolled faces compared per attempt (the newest), as the threshold was calibrated.
    pub max_gallery: usize,
    /// Opens the camera for an attempt.
    pub source: SourceFactory,
    /// Relay and LED on an outcome.
    pub signal: Signal,
    /// Group whose members may ask for anyone.
    pub admin_group: String,
    /// Where the threshold came from, for `status`.
    pub threshold_source: String,
    /// Keep the last frame of each rejected attempt here (off when `None`).
    pub snapshots: Option<PathBuf>,
}

/// Relay and LED actions for [`DaemonParts::signal`].
pub fn door_signal<R, L>(
    mut relay: Option<Relay<R>>,
    mut led: Option<Led<L>>,
    pulse: Duration,
) -> Signal
where
    R: embedded_hal::digital::OutputPin + Send + 'static,
    L: embedded_hal::digital::OutputPin + Send + 'static,
{
    Box::new(move |outcome| {
        if outcome == Outcome::Accepted {
            if let Some(r) = relay.as_mut() {
                if let Err(e) = r.pulse(pulse) {
                    eprintln!("siamedge unlock: relay: {e}");
                }
            }
        }
        if let Some(l) = led.as_mut() {
            let pattern = if outcome == Outcome::Accepted {
                LedPattern::Accepted
            } else {
                LedPattern::Rejected
            };
            if let Err(e) = l.show(pattern) {
                eprintln!("siamedge unlock: LED: {e}");
            }
        }
    })
}

/// A job for the attempt worker.
struct Job {
    user: String,
    started: Instant,
    timeout: Duration,
    reply: mpsc::Sender<AttemptReport>,
}

/// State shared by the connection threads.
struct Shared {
    gallery: Gallery,
    lockout: Mutex<Lockout>,
    audit: AuditLog,
    busy: AtomicBool,
    jobs: Mutex<mpsc::Sender<Job>>,
    admin_group: String,
    max_gallery: usize,
    status: serde_json::Value,
    policy_timeout: Duration,
}

/// Removes the socket file when the daemon stops.
struct Bound {
    listener: UnixListener,
    path: PathBuf,
}

impl Drop for Bound {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Binds `socket` (its folder created 0755; the socket itself 0666, since
/// who may ask for whom is decided per connection from the peer's credentials).
fn bind(socket: &Path) -> std::io::Result<Bound> {
    if let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    if UnixStream::connect(socket).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!("another daemon answers on {}", socket.display()),
        ));
    }
    let _ = std::fs::remove_file(socket);
    // SAFETY: umask only changes this process's file-creation mask.
    let old = unsafe { libc::umask(0o077) };
    let listener = UnixListener::bind(socket);
    // SAFETY: as above, restoring it.
    unsafe { libc::umask(old) };
    let listener = listener?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o666))?;
    listener.set_nonblocking(true)?;
    Ok(Bound {
        listener,
        path: socket.to_path_buf(),
    })
}

/// Serves `socket` until SIGTERM/SIGINT; `ready` is called once it listens.
pub fn serve(parts: DaemonParts, socket: &Path, ready: impl FnOnce()) -> std::io::Result<()> {
    let bound = bind(socket)?;
    let (tx, rx) = mpsc::channel::<Job>();
    let status = serde_json::json!({
        "embedder": parts.recogniser.embedder().model().manifest().sha256,
        "variant": parts.recogniser.variant().name(),
        "threshold": parts.policy.threshold,
        "threshold_source": parts.threshold_source,
        "k": parts.policy.k,
        "n": parts.policy.n,
        "timeout_ms": parts.policy.timeout.as_millis() as u64,
        "liveness": format!("{:?}", parts.policy.gate.liveness).to_lowercase(),
        "gallery": parts.gallery.dir(),
        "users": parts.gallery.users().unwrap_or_default(),
    });
    let shared = Arc::new(Shared {
        gallery: parts.gallery.clone(),
        lockout: Mutex::new(parts.lockout),
        audit: parts.audit,
        busy: AtomicBool::new(false),
        jobs: Mutex::new(tx),
        admin_group: parts.admin_group,
        max_gallery: parts.max_gallery,
        status,
        policy_timeout: parts.policy.timeout,
    });
    let worker_shared = Arc::clone(&shared);
    let mut worker = Worker {
        recogniser: parts.recogniser,
        policy: parts.policy,
        source: parts.source,
        signal: parts.signal,
        buffers: AttemptBuffers::default(),
        snapshots: parts.snapshots,
    };
    std::thread::spawn(move || worker.run(rx, &worker_shared));
    ready();
    while !shutdown_requested() {
        match bound.listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || handle(stream, &shared));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Runs attempts one after the other.
struct Worker {
    recogniser: Recogniser,
    policy: Policy,
    source: SourceFactory,
    signal: Signal,
    buffers: AttemptBuffers,
    snapshots: Option<PathBuf>,
}

impl Worker {
    fn run(&mut self, jobs: mpsc::Receiver<Job>, shared: &Shared) {
        for job in jobs {
            self.buffers.forget_frame();
            let report = self.attempt(&job, shared);
            let outcome = report.outcome;
            if let (Outcome::Rejected, Some(dir)) = (outcome, &self.snapshots) {
                match write_snapshot(dir, &job.user, now_ms(), self.buffers.last_frame()) {
                    Ok(p) => eprintln!(
                        "siamedge unlock: rejected attempt for {} kept in {}",
                        job.user,
                        p.display()
                    ),
                    Err(e) => eprintln!(
                        "siamedge unlock: no snapshot of the rejected attempt for {}: {e}",
                        job.user
                    ),
                }
            }
            let _ = job.reply.send(report);
            // The next request may queue while the relay and LED play: it
            // waits in the channel, its deadline counting from its request.
            shared.busy.store(false, Ordering::SeqCst);
            (self.signal)(outcome);
        }
    }

    fn attempt(&mut self, job: &Job, shared: &Shared) -> AttemptReport {
        let unavailable = |message: String| AttemptReport {
            outcome: Outcome::Unavailable,
            message,
            score: None,
            threshold: self.policy.threshold,
            frames: Default::default(),
            spoof_max: None,
            elapsed: job.started.elapsed(),
        };
        let embedder = self.recogniser.embedder().model().manifest();
        let enrolled = match shared.gallery.load_for_model(
            &job.user,
            &embedder.sha256,
            self.recogniser.variant().name(),
        ) {
            Ok(Some(g)) if !g.faces.is_empty() => g,
            Ok(_) => return unavailable(format!("{} has no enrolled face", job.user)),
            Err(e) => return unavailable(e.to_string()),
        };
        let faces: Vec<Vec<f32>> = enrolled
            .faces
            .iter()
            .rev()
            .take(shared.max_gallery)
            .map(|f| f.embedding.clone())
            .collect();
        let mut source = match (self.source)() {
            Ok(s) => s,
            Err(e) => return unavailable(format!("camera: {e}")),
        };
        let policy = Policy {
            timeout: job.timeout.min(self.policy.timeout),
            ..self.policy.clone()
        };
        match run_attempt(
            source.as_mut(),
            &mut self.recogniser,
            &faces,
            &policy,
            job.started,
            &mut self.buffers,
        ) {
            Ok(r) => r,
            Err(e) => unavailable(format!("the face models failed: {e}")),
        }
    }
}

/// Answers one connection.
fn handle(stream: UnixStream, shared: &Shared) {
    let started = Instant::now();
    let peer = peer_credentials(&stream).unwrap_or(Peer {
        pid: -1,
        uid: u32::MAX,
        gid: u32::MAX,
    });
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let (op, user, service, mut response) = match read_message::<Request>(&mut reader) {
        Ok(Some(request)) => answer(request, &peer, shared, started),
        Ok(None) => return,
        Err(e) => (
            "invalid".into(),
            None,
            None,
            Response::new(Outcome::Invalid, e.to_string()),
        ),
    };
    response.ms = started.elapsed().as_millis() as u64;
    let record = AuditRecord {
        time_ms: now_ms(),
        op,
        user,
        peer_uid: peer.uid,
        peer_pid: peer.pid,
        service,
        result: response.result,
        message: response.message.clone(),
        score: response.score,
        threshold: response.threshold,
        frames: response.frames.clone(),
        liveness: None,
        ms: response.ms,
    };
    if let Err(e) = shared.audit.append(&record) {
        eprintln!("siamedge unlock: cannot write the audit log: {e}");
    }
    let _ = write_message(&mut writer, &response);
}

/// The response to one request: (op, user, service, response).
fn answer(
    request: Request,
    peer: &Peer,
    shared: &Shared,
    started: Instant,
) -> (String, Option<String>, Option<String>, Response) {
    match request {
        Request::Status => {
            let mut r = Response::new(Outcome::Ok, "ready");
            r.status = Some(shared.status.clone());
            ("status".into(), None, None, r)
        }
        Request::Enrolled { user } => {
            let r = match check_user(&user, peer, shared) {
                Err(r) => *r,
                Ok(()) => {
                    let mut r = Response::new(Outcome::Ok, "");
                    let has = shared
                        .gallery
                        .load(&user)
                        .map(|g| g.is_some_and(|g| !g.faces.is_empty()));
                    match has {
                        Ok(has) => r.enrolled = Some(has),
                        Err(e) => r = Response::new(Outcome::Unavailable, e.to_string()),
                    }
                    r
                }
            };
            ("enrolled".into(), Some(user), None, r)
        }
        Request::Authenticate {
            user,
            timeout_ms,
            service,
        } => {
            let r = match check_user(&user, peer, shared) {
                Err(r) => *r,
                Ok(()) => authenticate(&user, Duration::from_millis(timeout_ms), shared, started),
            };
            ("authenticate".into(), Some(user), service, r)
        }
    }
}

fn check_user(user: &str, peer: &Peer, shared: &Shared) -> Result<(), Box<Response>> {
    if !valid_user(user) {
        return Err(Box::new(Response::new(
            Outcome::Invalid,
            "not a valid user name",
        )));
    }
    if !peer.may_ask_for(user, &shared.admin_group) {
        return Err(Box::new(Response::new(
            Outcome::Denied,
            format!(
                "uid {} may only ask for itself (root and group {:?} may ask for anyone)",
                peer.uid, shared.admin_group
            ),
        )));
    }
    Ok(())
}

fn authenticate(user: &str, timeout: Duration, shared: &Shared, started: Instant) -> Response {
    if let Some(left) = shared
        .lockout
        .lock()
        .map_or(None, |l| l.locked_for(user, now_ms()))
    {
        let mut r = Response::new(
            Outcome::LockedOut,
            format!(
                "too many failed attempts: try again in {} s",
                left.as_secs() + 1
            ),
        );
        r.retry_after_ms = Some(left.as_millis() as u64);
        return r;
    }
    if shared.busy.swap(true, Ordering::SeqCst) {
        return Response::new(Outcome::Busy, "another attempt is running");
    }
    let timeout = if timeout.is_zero() {
        shared.policy_timeout
    } else {
        timeout.min(shared.policy_timeout)
    };
    let (tx, rx) = mpsc::channel();
    let job = Job {
        user: user.to_string(),
        started,
        timeout,
        reply: tx,
    };
    if shared.jobs.lock().map(|j| j.send(job)).is_err() {
        shared.busy.store(false, Ordering::SeqCst);
        return Response::new(Outcome::Unavailable, "the attempt worker has stopped");
    }
    // The worker starts no frame it cannot finish by the deadline, judging by
    // the last one; the grace covers a first frame slower than expected.
    let Ok(report) = rx.recv_timeout(timeout + timeout / 2 + Duration::from_secs(1)) else {
        return Response::new(
            Outcome::Unavailable,
            format!(
                "the camera did not deliver within {} ms",
                timeout.as_millis()
            ),
        );
    };
    let mut r = Response::new(report.outcome, report.message);
    r.score = report.score;
    r.threshold = Some(report.threshold);
    r.frames = Some(report.frames);
    if matches!(report.outcome, Outcome::Accepted | Outcome::Rejected) {
        let recorded = shared
            .lockout
            .lock()
            .map_err(|_| "poisoned".to_string())
            .and_then(|mut l| {
                l.record(user, report.outcome == Outcome::Accepted, now_ms())
                    .map_err(|e| e.to_string())
            });
        match recorded {
            Ok(Some(lock)) => r.message.push_str(&format!(
                "; too many failed attempts: locked out for {} s",
                lock.as_secs()
            )),
            Ok(None) => {}
            Err(e) => eprintln!("siamedge unlock: {e}"),
        }
    }
    r
}
