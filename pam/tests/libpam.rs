//! The built `libpam_siamedge.so` driven by the real libpam: `pamtester`
//! under cwrap's `pam_wrapper`, with a service file in a temporary folder
//! naming the module by absolute path, against a fake daemon.
//!
//! Needs the Debian packages `pamtester` and `libpam-wrapper` (`.ci/setup`
//! installs them); without them each test prints why and passes, except under
//! CI (`CI` set), where a missing tool is a failure.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use common::{answer, enrolled, FakeDaemon, Reply};
use siamedge_protocol::{Outcome, Request, Response};

/// The service name of the test's PAM configuration.
const SERVICE: &str = "siamedge-test";

/// What `pam_strerror` says for the codes the module gives.
const AUTH_ERR: &str = "Authentication failure";
const UNAVAILABLE: &str = "Authentication service cannot retrieve authentication info";
const MAX_TRIES: &str = "Have exhausted maximum number of retries for service";

/// Kills a pamtester still running after this long (the module hung).
const HANG_LIMIT: Duration = Duration::from_secs(20);

/// Held during each pamtester run. pam_wrapper picks its configuration folder
/// (`/tmp/pam.X`, one letter) with `lstat` then `mkdir`, so two runs started at
/// once can share a folder and read each other's service file.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Variables added to pamtester's environment.
type Env<'a> = &'a [(&'a str, &'a str)];

/// pamtester and pam_wrapper's library.
struct Tools {
    pamtester: PathBuf,
    wrapper: PathBuf,
}

/// How one pamtester run ended.
struct Run {
    success: bool,
    output: String,
    took: Duration,
}

/// The cdylib cargo built for this test run. `cargo test` builds the library
/// with all its crate types, the cdylib too, into `target/<profile>/deps/`
/// beside the test executable, but copies it up to `target/<profile>/` only on
/// `cargo build`: the copy there may be stale, the one in `deps/` is not.
fn module() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let module = exe.parent().unwrap().join("libpam_siamedge.so");
    assert!(module.is_file(), "{} was not built", module.display());
    module
}

fn find_pamtester() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("pamtester"))
        .find(|p| p.is_file())
}

fn find_wrapper() -> Option<PathBuf> {
    let mut dirs = vec![PathBuf::from("/usr/lib"), PathBuf::from("/usr/lib64")];
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        dirs.extend(entries.flatten().map(|e| e.path()));
    }
    dirs.into_iter()
        .map(|dir| dir.join("libpam_wrapper.so"))
        .find(|p| p.is_file())
}

/// The tools, or `None` after printing why the test is skipped.
fn tools() -> Option<Tools> {
    match (find_pamtester(), find_wrapper()) {
        (Some(pamtester), Some(wrapper)) => Some(Tools { pamtester, wrapper }),
        (pamtester, _) => {
            let missing = if pamtester.is_none() {
                "pamtester"
            } else {
                "libpam_wrapper.so"
            };
            assert!(
                std::env::var_os("CI").is_none(),
                "{missing} is missing: .ci/setup installs pamtester and libpam-wrapper"
            );
            println!("skipped: {missing} is missing (apt-get install pamtester libpam-wrapper)");
            None
        }
    }
}

impl Tools {
    /// Runs `pamtester [extra] siamedge-test alice authenticate` on a service
    /// file whose only line is `auth required <module> <args>`, with `env`
    /// added to pamtester's environment (SSH variables removed otherwise).
    fn authenticate(&self, args: &str, extra: &[&str], env: Env) -> Run {
        let services = tempfile::tempdir().unwrap();
        let line = format!("auth required {} {args}\n", module().display());
        std::fs::write(services.path().join(SERVICE), line).unwrap();
        let mut command = Command::new(&self.pamtester);
        command
            .arg("-v")
            .args(extra)
            .args([SERVICE, "alice", "authenticate"])
            .env("LD_PRELOAD", &self.wrapper)
            .env("PAM_WRAPPER", "1")
            .env("PAM_WRAPPER_SERVICE_DIR", services.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in ["SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "SSHD_OPTS"] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let start = Instant::now();
        let mut child = command.spawn().unwrap();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > HANG_LIMIT {
                child.kill().unwrap();
                panic!("pamtester still running after {HANG_LIMIT:?}: the module hangs");
            }
            thread::sleep(Duration::from_millis(5));
        };
        let took = start.elapsed();
        let mut output = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut output)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut output)
            .unwrap();
        Run {
            success: status.success(),
            output,
            took,
        }
    }
}

fn socket_arg(socket: &Path) -> String {
    format!("socket={} timeout=2", socket.display())
}

#[test]
fn an_accepted_face_lets_pamtester_in() {
    let Some(tools) = tools() else { return };
    let daemon = FakeDaemon::start(vec![enrolled(true), answer(Outcome::Accepted, "hello")]);
    let run = tools.authenticate(&socket_arg(&daemon.socket()), &[], &[]);
    assert!(run.success, "{}", run.output);
    assert!(
        run.output.contains("Looking for alice's face..."),
        "{}",
        run.output
    );
    assert!(
        run.output.contains("successfully authenticated"),
        "{}",
        run.output
    );
    assert_eq!(
        daemon.requests(),
        vec![
            Request::Enrolled {
                user: "alice".into()
            },
            Request::Authenticate {
                user: "alice".into(),
                timeout_ms: 2000,
                service: Some(SERVICE.into()),
            },
        ]
    );
}

#[test]
fn a_rejected_face_is_an_authentication_failure_with_the_daemons_message() {
    let Some(tools) = tools() else { return };
    let daemon = FakeDaemon::start(vec![
        enrolled(true),
        answer(Outcome::Rejected, "Face not recognised"),
    ]);
    let run = tools.authenticate(&socket_arg(&daemon.socket()), &[], &[]);
    assert!(!run.success);
    assert!(run.output.contains(AUTH_ERR), "{}", run.output);
    assert!(run.output.contains("Face not recognised"), "{}", run.output);
}

#[test]
fn a_lockout_exhausts_the_retries_and_says_when_to_come_back() {
    let Some(tools) = tools() else { return };
    let mut locked = Response::new(Outcome::LockedOut, "Too many failed attempts");
    locked.retry_after_ms = Some(30_000);
    let daemon = FakeDaemon::start(vec![enrolled(true), Reply::Answer(locked)]);
    let run = tools.authenticate(&socket_arg(&daemon.socket()), &[], &[]);
    assert!(!run.success);
    assert!(run.output.contains(MAX_TRIES), "{}", run.output);
    assert!(
        run.output.contains("try face unlock again in 30 s"),
        "{}",
        run.output
    );
}

#[test]
fn no_daemon_is_unavailable_within_a_second() {
    let Some(tools) = tools() else { return };
    let (_dir, socket) = FakeDaemon::absent();
    let run = tools.authenticate(&socket_arg(&socket), &[], &[]);
    println!(
        "no daemon: pamtester returned in {} ms",
        run.took.as_millis()
    );
    assert!(!run.success);
    assert!(run.output.contains(UNAVAILABLE), "{}", run.output);
    assert!(!run.output.contains("Looking for"), "{}", run.output);
    assert!(run.took < Duration::from_secs(1), "{:?}", run.took);
}

#[test]
fn a_daemon_that_never_answers_does_not_hang_the_login() {
    let Some(tools) = tools() else { return };
    let daemon = FakeDaemon::start(vec![enrolled(true), Reply::Hang]);
    let args = format!("socket={} timeout=1", daemon.socket().display());
    let run = tools.authenticate(&args, &[], &[]);
    println!(
        "hung daemon, timeout=1: pamtester returned in {:.2} s",
        run.took.as_secs_f64()
    );
    assert!(!run.success);
    assert!(run.output.contains(UNAVAILABLE), "{}", run.output);
    assert_eq!(daemon.requests().len(), 2, "{}", run.output);
    assert!(run.took >= Duration::from_millis(2900), "{:?}", run.took);
    assert!(run.took < Duration::from_secs(6), "{:?}", run.took);
}

#[test]
fn a_daemon_that_goes_away_mid_attempt_leaves_the_password() {
    let Some(tools) = tools() else { return };
    for gone in [Reply::Close, Reply::Drop] {
        let daemon = FakeDaemon::start(vec![enrolled(true), gone]);
        let run = tools.authenticate(&socket_arg(&daemon.socket()), &[], &[]);
        assert!(!run.success);
        assert!(run.output.contains(UNAVAILABLE), "{}", run.output);
    }
}

#[test]
fn remote_sessions_are_unavailable_without_connecting() {
    let Some(tools) = tools() else { return };
    let cases: [(&[&str], Env); 3] = [
        (&[], &[("SSH_CONNECTION", "203.0.113.7 50000 192.0.2.1 22")]),
        (&["-E", "SSH_TTY=/dev/pts/3"], &[]),
        (&["-I", "rhost=remote.example"], &[]),
    ];
    for (extra, env) in cases {
        let daemon = FakeDaemon::start(vec![enrolled(true), answer(Outcome::Accepted, "")]);
        let run = tools.authenticate(&socket_arg(&daemon.socket()), extra, env);
        assert!(!run.success, "{extra:?} {env:?}");
        assert!(run.output.contains(UNAVAILABLE), "{}", run.output);
        assert_eq!(daemon.requests(), vec![], "{extra:?} {env:?}");
    }
}

#[test]
fn a_local_rhost_still_asks_the_daemon() {
    let Some(tools) = tools() else { return };
    let daemon = FakeDaemon::start(vec![enrolled(true), answer(Outcome::Accepted, "")]);
    let run = tools.authenticate(
        &socket_arg(&daemon.socket()),
        &["-I", "rhost=localhost"],
        &[],
    );
    assert!(run.success, "{}", run.output);
}
