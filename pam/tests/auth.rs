//! `authenticate` against a scripted fake PAM handle and a fake daemon.

mod common;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{answer, enrolled, FakeDaemon, Reply};
use pam_siamedge::{authenticate, Item, Level, PamCode, PamHandle, Style};
use siamedge_protocol::{Outcome, Request, Response};

/// A PAM handle whose user, items and environments are set by the test, and
/// which records what the module shows and logs.
#[derive(Default)]
struct FakeHandle {
    user: Option<String>,
    rhost: Option<String>,
    pam_env: HashMap<String, String>,
    process_env: HashMap<String, String>,
    shown: Vec<(Style, String)>,
    logged: Vec<(Level, String)>,
}

impl FakeHandle {
    fn for_user(user: &str) -> FakeHandle {
        FakeHandle {
            user: Some(user.into()),
            ..FakeHandle::default()
        }
    }

    fn errors(&self) -> Vec<&str> {
        self.shown
            .iter()
            .filter(|(s, _)| *s == Style::Error)
            .map(|(_, t)| t.as_str())
            .collect()
    }
}

impl PamHandle for FakeHandle {
    fn user(&mut self) -> Option<String> {
        self.user.clone()
    }
    fn item(&self, item: Item) -> Option<String> {
        match item {
            Item::Service => Some("test-service".into()),
            Item::Rhost => self.rhost.clone(),
        }
    }
    fn pam_env(&self, name: &str) -> Option<String> {
        self.pam_env.get(name).cloned()
    }
    fn process_env(&self, name: &str) -> Option<OsString> {
        self.process_env.get(name).map(OsString::from)
    }
    fn converse(&mut self, style: Style, text: &str) {
        self.shown.push((style, text.into()));
    }
    fn log(&mut self, level: Level, text: &str) {
        self.logged.push((level, text.into()));
    }
}

fn socket_arg(socket: &Path) -> String {
    format!("socket={}", socket.display())
}

/// Runs one attempt for `handle` against a daemon serving `script`.
fn attempt(handle: &mut FakeHandle, script: Vec<Reply>, extra: &[&str]) -> (PamCode, Vec<Request>) {
    let daemon = FakeDaemon::start(script);
    let socket = socket_arg(&daemon.socket());
    let mut args = vec![socket.as_str()];
    args.extend_from_slice(extra);
    let code = authenticate(handle, &args);
    (code, daemon.requests())
}

#[test]
fn an_accepted_face_is_success_after_the_enrolled_check() {
    let mut h = FakeHandle::for_user("alice");
    let script = vec![enrolled(true), answer(Outcome::Accepted, "hello")];
    let (code, requests) = attempt(&mut h, script, &["timeout=3"]);
    assert_eq!(code, PamCode::Success);
    assert_eq!(
        requests,
        vec![
            Request::Enrolled {
                user: "alice".into()
            },
            Request::Authenticate {
                user: "alice".into(),
                timeout_ms: 3000,
                service: Some("test-service".into()),
            },
        ]
    );
    assert_eq!(
        h.shown,
        vec![(Style::Info, "Looking for alice's face...".into())]
    );
}

#[test]
fn a_rejected_face_is_an_auth_error_with_the_daemons_message() {
    let mut h = FakeHandle::for_user("alice");
    let script = vec![enrolled(true), answer(Outcome::Rejected, "no match\x1b[2J")];
    let (code, _) = attempt(&mut h, script, &[]);
    assert_eq!(code, PamCode::AuthErr);
    assert_eq!(h.errors(), vec!["no match [2J"]);
}

#[test]
fn a_lockout_is_maxtries_and_says_when_to_retry() {
    let mut h = FakeHandle::for_user("alice");
    let mut locked = Response::new(Outcome::LockedOut, "Too many failed attempts");
    locked.retry_after_ms = Some(29_001);
    let (code, _) = attempt(&mut h, vec![enrolled(true), Reply::Answer(locked)], &[]);
    assert_eq!(code, PamCode::MaxTries);
    assert_eq!(
        h.errors(),
        vec!["Too many failed attempts; try face unlock again in 30 s."]
    );
}

#[test]
fn every_other_outcome_is_unavailable() {
    for outcome in [
        Outcome::Unavailable,
        Outcome::Busy,
        Outcome::Denied,
        Outcome::Invalid,
        Outcome::Ok,
    ] {
        let mut h = FakeHandle::for_user("alice");
        let (code, _) = attempt(&mut h, vec![enrolled(true), answer(outcome, "x")], &[]);
        assert_eq!(code, PamCode::AuthInfoUnavail, "{outcome:?}");
        assert!(h.errors().is_empty(), "{outcome:?}: {:?}", h.shown);
    }
}

#[test]
fn a_user_without_faces_is_unavailable_before_any_attempt() {
    let mut h = FakeHandle::for_user("bob");
    let (code, requests) = attempt(&mut h, vec![enrolled(false)], &[]);
    assert_eq!(code, PamCode::AuthInfoUnavail);
    assert_eq!(requests, vec![Request::Enrolled { user: "bob".into() }]);
    assert!(h.shown.is_empty(), "{:?}", h.shown);
}

#[test]
fn an_enrolled_answer_that_is_not_a_clear_yes_is_unavailable() {
    let mut no_flag = Response::new(Outcome::Ok, "");
    no_flag.enrolled = None;
    let mut denied = Response::new(Outcome::Denied, "not for you");
    denied.enrolled = Some(true);
    for reply in [Reply::Answer(no_flag), Reply::Answer(denied)] {
        let mut h = FakeHandle::for_user("alice");
        let (code, requests) = attempt(&mut h, vec![reply], &[]);
        assert_eq!(code, PamCode::AuthInfoUnavail);
        assert_eq!(requests.len(), 1);
    }
}

#[test]
fn no_daemon_is_unavailable_at_once() {
    let (_dir, socket) = FakeDaemon::absent();
    let mut h = FakeHandle::for_user("alice");
    let start = Instant::now();
    let code = authenticate(&mut h, &[&socket_arg(&socket), "debug"]);
    assert_eq!(code, PamCode::AuthInfoUnavail);
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
    assert!(h.shown.is_empty());
    // An absent daemon is normal: logged only at debug level.
    assert!(
        h.logged.iter().all(|(l, _)| *l == Level::Debug),
        "{:?}",
        h.logged
    );
}

#[test]
fn a_socket_nobody_listens_on_is_unavailable_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("unlock.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let mut h = FakeHandle::for_user("alice");
    let start = Instant::now();
    assert_eq!(
        authenticate(&mut h, &[&socket_arg(&socket)]),
        PamCode::AuthInfoUnavail
    );
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_daemon_that_never_answers_is_given_up_after_timeout_plus_two_seconds() {
    let mut h = FakeHandle::for_user("alice");
    let start = Instant::now();
    let (code, requests) = attempt(&mut h, vec![enrolled(true), Reply::Hang], &["timeout=1"]);
    let took = start.elapsed();
    assert_eq!(code, PamCode::AuthInfoUnavail);
    assert_eq!(requests.len(), 2);
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert!(
        h.logged.iter().any(|(l, _)| *l == Level::Warning),
        "{:?}",
        h.logged
    );
}

#[test]
fn a_daemon_that_hangs_on_the_enrolled_check_costs_one_second() {
    let mut h = FakeHandle::for_user("alice");
    let start = Instant::now();
    let (code, requests) = attempt(&mut h, vec![Reply::Hang], &[]);
    let took = start.elapsed();
    assert_eq!(code, PamCode::AuthInfoUnavail);
    assert_eq!(requests.len(), 1);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[test]
fn a_daemon_that_goes_away_mid_attempt_is_unavailable() {
    for gone in [Reply::Close, Reply::Drop] {
        let mut h = FakeHandle::for_user("alice");
        let (code, _) = attempt(&mut h, vec![enrolled(true), gone], &[]);
        assert_eq!(code, PamCode::AuthInfoUnavail);
        assert!(h.errors().is_empty());
    }
}

#[test]
fn remote_sessions_are_unavailable_without_asking_the_daemon() {
    let remote: [fn(&mut FakeHandle); 5] = [
        |h| h.rhost = Some("203.0.113.7".into()),
        |h| drop(h.pam_env.insert("SSH_CONNECTION".into(), "1 2 3 4".into())),
        |h| drop(h.pam_env.insert("SSH_TTY".into(), "/dev/pts/0".into())),
        |h| drop(h.process_env.insert("SSH_CLIENT".into(), "1 2 3".into())),
        |h| drop(h.process_env.insert("SSH_CONNECTION".into(), String::new())),
    ];
    for (i, make_remote) in remote.iter().enumerate() {
        let mut h = FakeHandle::for_user("alice");
        make_remote(&mut h);
        let script = vec![enrolled(true), answer(Outcome::Accepted, "")];
        let (code, requests) = attempt(&mut h, script, &[]);
        assert_eq!(code, PamCode::AuthInfoUnavail, "case {i}");
        assert!(requests.is_empty(), "case {i}: {requests:?}");
    }
}

#[test]
fn a_local_rhost_is_not_remote() {
    for rhost in ["", "localhost"] {
        let mut h = FakeHandle::for_user("alice");
        h.rhost = Some(rhost.into());
        let script = vec![enrolled(true), answer(Outcome::Accepted, "")];
        assert_eq!(
            attempt(&mut h, script, &[]).0,
            PamCode::Success,
            "{rhost:?}"
        );
    }
}

#[test]
fn names_that_cannot_have_a_gallery_are_unavailable_without_asking() {
    for user in [None, Some("../root"), Some("Ünïcode"), Some("")] {
        let mut h = FakeHandle {
            user: user.map(String::from),
            ..FakeHandle::default()
        };
        let (code, requests) = attempt(&mut h, vec![enrolled(true)], &[]);
        assert_eq!(code, PamCode::AuthInfoUnavail, "{user:?}");
        assert!(requests.is_empty(), "{user:?}");
    }
}

#[test]
fn unknown_arguments_are_logged_and_ignored() {
    let mut h = FakeHandle::for_user("alice");
    let script = vec![enrolled(true), answer(Outcome::Accepted, "")];
    let (code, requests) = attempt(&mut h, script, &["max-tries=3"]);
    assert_eq!(code, PamCode::Success);
    assert!(matches!(
        requests[1],
        Request::Authenticate {
            timeout_ms: 4000,
            ..
        }
    ));
    assert!(
        h.logged
            .iter()
            .any(|(l, t)| *l == Level::Error && t.contains("max-tries=3")),
        "{:?}",
        h.logged
    );
}
