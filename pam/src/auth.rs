//! One authentication attempt: refuse what face unlock must not decide, ask
//! the daemon, map its answer to a PAM code.

use std::io;
use std::time::Duration;

use siamedge_protocol::{ask, valid_user, Outcome, ProtocolError, Request, Response};

use crate::args::Args;
use crate::handle::{Item, Level, PamCode, PamHandle, Style};

/// Variables that mark an SSH session (Howdy's list); read from the PAM
/// environment too, because the process environment is not always the
/// session's (sudo resets it).
const SSH_VARIABLES: [&str; 4] = ["SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "SSHD_OPTS"];

/// How long the daemon may take to say whether a user has enrolled faces.
const ENROLLED_TIMEOUT: Duration = Duration::from_secs(1);

/// How much longer than the attempt's own timeout the module waits for the
/// daemon's answer before giving up on it.
const ANSWER_GRACE: Duration = Duration::from_secs(2);

/// The longest daemon message shown to the user, in characters.
const MAX_SHOWN: usize = 300;

/// Runs `pam_sm_authenticate` with the module arguments `args`.
pub fn authenticate(handle: &mut impl PamHandle, args: &[&str]) -> PamCode {
    let args = Args::parse(args);
    for sentence in &args.ignored {
        handle.log(Level::Error, sentence);
    }
    if let Some(why) = remote_session(handle) {
        debug(handle, &args, &format!("unavailable: {why}"));
        return PamCode::AuthInfoUnavail;
    }
    // An invalid name is "unavailable", not PAM_USER_UNKNOWN: it cannot name a
    // gallery, but another module (LDAP, say) may well know the user, and the
    // stack must not hear from this module that the user does not exist.
    let user = match handle.user() {
        Some(user) if valid_user(&user) => user,
        Some(_) => {
            debug(
                handle,
                &args,
                "unavailable: the user name cannot have faces",
            );
            return PamCode::AuthInfoUnavail;
        }
        None => {
            handle.log(Level::Warning, "libpam gave no user name");
            return PamCode::AuthInfoUnavail;
        }
    };
    if !enrolled(handle, &args, &user) {
        return PamCode::AuthInfoUnavail;
    }
    handle.converse(Style::Info, &format!("Looking for {user}'s face..."));
    let timeout_ms = u64::try_from(args.timeout.as_millis()).unwrap_or(u64::MAX);
    let request = Request::Authenticate {
        user: user.clone(),
        timeout_ms,
        service: handle.item(Item::Service),
    };
    match ask(&args.socket, &request, args.timeout + ANSWER_GRACE) {
        Ok(response) => answer(handle, &user, response),
        Err(e) => {
            daemon_error(handle, &args, "authenticate", &e);
            PamCode::AuthInfoUnavail
        }
    }
}

/// Why the session looks remote, if it does.
fn remote_session(handle: &impl PamHandle) -> Option<String> {
    if let Some(host) = handle.item(Item::Rhost) {
        if !host.is_empty() && host != "localhost" {
            return Some(format!("remote host {host}"));
        }
    }
    SSH_VARIABLES.iter().find_map(|name| {
        (handle.pam_env(name).is_some() || handle.process_env(name).is_some())
            .then(|| format!("{name} is set"))
    })
}

/// Whether the daemon says `user` has enrolled faces; every other answer,
/// and no answer, is "no".
fn enrolled(handle: &mut impl PamHandle, args: &Args, user: &str) -> bool {
    let request = Request::Enrolled { user: user.into() };
    match ask(&args.socket, &request, ENROLLED_TIMEOUT) {
        Ok(r) if r.result == Outcome::Ok && r.enrolled == Some(true) => true,
        Ok(r) => {
            let what = format!(
                "unavailable: {user} has no faces ({:?}: {})",
                r.result, r.message
            );
            debug(handle, args, &what);
            false
        }
        Err(e) => {
            daemon_error(handle, args, "enrolled", &e);
            false
        }
    }
}

/// Maps the daemon's answer to an attempt, telling the user why it failed.
fn answer(handle: &mut impl PamHandle, user: &str, response: Response) -> PamCode {
    let message = shown(&response.message);
    let code = match response.result {
        Outcome::Accepted => PamCode::Success,
        Outcome::Rejected => {
            let text = if message.is_empty() {
                "Face not recognised"
            } else {
                &message
            };
            handle.converse(Style::Error, text);
            PamCode::AuthErr
        }
        Outcome::LockedOut => {
            let base = if message.is_empty() {
                "Too many failed attempts"
            } else {
                &message
            };
            let when = match response.retry_after_ms {
                Some(ms) => format!("in {} s", ms.div_ceil(1000).max(1)),
                None => "later".into(),
            };
            handle.converse(
                Style::Error,
                &format!("{base}; try face unlock again {when}."),
            );
            PamCode::MaxTries
        }
        Outcome::Unavailable | Outcome::Busy | Outcome::Denied | Outcome::Invalid | Outcome::Ok => {
            PamCode::AuthInfoUnavail
        }
    };
    let outcome = format!(
        "{user}: {:?} in {} ms: {message}",
        response.result, response.ms
    );
    handle.log(Level::Info, &outcome);
    code
}

/// Logs a failed exchange with the daemon: a daemon that is not running at
/// all is normal (face unlock not set up) and logged only with `debug`.
fn daemon_error(handle: &mut impl PamHandle, args: &Args, op: &str, e: &ProtocolError) {
    let text = format!("unavailable: no answer from the daemon to {op}: {e}");
    let absent = matches!(e, ProtocolError::Io(io) if matches!(
        io.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    ));
    if absent {
        debug(handle, args, &text);
    } else {
        handle.log(Level::Warning, &text);
    }
}

/// Logs `text` when the module has the `debug` argument.
fn debug(handle: &mut impl PamHandle, args: &Args, text: &str) {
    if args.debug {
        handle.log(Level::Debug, text);
    }
}

/// The daemon's message as shown to the user: no control characters (no
/// terminal escapes), at most [`MAX_SHOWN`] characters.
fn shown(message: &str) -> String {
    message
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SHOWN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_messages_lose_escapes_and_length() {
        assert_eq!(shown(" too dark\n"), "too dark");
        assert_eq!(shown("a\x1b[2Jb"), "a [2Jb");
        assert_eq!(shown(&"x".repeat(1000)).len(), MAX_SHOWN);
    }
}
