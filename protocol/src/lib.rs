//! The unlock daemon's socket protocol: one JSON object per line, at most
//! [`MAX_MESSAGE`] bytes, a [`Request`] from the client and one [`Response`]
//! from the daemon per request. Shared by the daemon (`siamedge unlock`), its
//! clients (`siamedge status`) and the PAM module, which must stay small: this
//! crate depends on serde alone.

use std::io::{self, BufRead, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Where the daemon listens unless its configuration says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/siamedge/unlock.sock";

/// The largest message either side accepts, newline included.
pub const MAX_MESSAGE: usize = 16 * 1024;

/// The longest user name a request may carry (Linux allows 32).
pub const MAX_USER: usize = 64;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Look for `user`'s face for at most `timeout_ms`.
    Authenticate {
        /// The user to authenticate.
        user: String,
        /// Longest the attempt may take, camera start included.
        timeout_ms: u64,
        /// The PAM service asking (for the audit log), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    /// Whether `user` has enrolled faces (the PAM module asks before any camera work).
    Enrolled {
        /// The user.
        user: String,
    },
    /// The daemon's state.
    Status,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The face matched: let the user in.
    Accepted,
    /// No match within the timeout (or a spoof): do not let the user in.
    Rejected,
    /// Face unlock cannot decide (no gallery, no camera, too dark): use another method.
    Unavailable,
    /// Too many failed attempts; see `retry_after_ms`.
    LockedOut,
    /// Another attempt is running.
    Busy,
    /// The asking process may not ask for this user.
    Denied,
    /// The request was not understood.
    Invalid,
    /// An answer to `enrolled` or `status`.
    Ok,
}

/// Frames seen during an attempt, by what happened to them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameCounts {
    /// Frames that passed every check and were compared.
    pub used: u32,
    /// Too dark.
    pub skipped_dark: u32,
    /// Over-exposed.
    pub skipped_bright: u32,
    /// Blurred.
    pub skipped_blurred: u32,
    /// No face found (no centre-crop fallback in an attempt).
    pub skipped_no_face: u32,
    /// More than one face.
    pub skipped_several_faces: u32,
    /// The face was smaller than the minimum.
    pub skipped_small_face: u32,
    /// The liveness net called the face a spoof.
    pub spoof: u32,
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// How the request ended.
    pub result: Outcome,
    /// Why, in words for a person.
    #[serde(default)]
    pub message: String,
    /// The best similarity seen, if a face was compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// The threshold the policy applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
    /// Frames of the attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<FrameCounts>,
    /// Time from request to answer.
    #[serde(default)]
    pub ms: u64,
    /// When locked out: how long until the next attempt is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// For `enrolled`: whether the user has faces. For `status`: whether the daemon is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled: Option<bool>,
    /// For `status`: a description of the daemon (models, camera, users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

impl Response {
    /// A response with only an outcome and a message.
    pub fn new(result: Outcome, message: impl Into<String>) -> Response {
        Response {
            result,
            message: message.into(),
            score: None,
            threshold: None,
            frames: None,
            ms: 0,
            retry_after_ms: None,
            enrolled: None,
            status: None,
        }
    }
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The connection failed or timed out.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
    /// A line longer than [`MAX_MESSAGE`].
    #[error("message longer than {MAX_MESSAGE} bytes")]
    TooLong,
    /// Not a valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// Writes one message as a JSON line and flushes.
pub fn write_message<T: Serialize>(w: &mut impl Write, message: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}

/// Reads one message; `Ok(None)` at a clean end of stream. Never reads more
/// than [`MAX_MESSAGE`] bytes, whatever the peer sends.
pub fn read_message<T: DeserializeOwned>(r: &mut impl BufRead) -> Result<Option<T>, ProtocolError> {
    let mut line = Vec::new();
    let n = r
        .take(MAX_MESSAGE as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(if line.len() > MAX_MESSAGE {
            ProtocolError::TooLong
        } else {
            ProtocolError::Malformed("the connection closed in the middle of a message".into())
        });
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| ProtocolError::Malformed(e.to_string()))
}

/// Checks a user name from a request: 1 to [`MAX_USER`] characters of
/// `[A-Za-z0-9._-]`, not starting with `-` or `.` (it names a gallery file).
pub fn valid_user(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= MAX_USER
        && !user.starts_with(['-', '.'])
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Sends one request to the daemon at `socket` and waits at most `timeout`
/// for the answer (connecting included).
pub fn ask(socket: &Path, request: &Request, timeout: Duration) -> Result<Response, ProtocolError> {
    let started = Instant::now();
    let stream = connect_within(socket, timeout)?;
    let left = timeout.saturating_sub(started.elapsed());
    stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
    stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    let mut writer = stream.try_clone()?;
    write_message(&mut writer, request)?;
    let mut reader = io::BufReader::new(stream);
    let answer = read_message(&mut reader).map_err(|e| match e {
        ProtocolError::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            ProtocolError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {} ms", timeout.as_millis()),
            ))
        }
        e => e,
    })?;
    answer.ok_or_else(|| {
        ProtocolError::Malformed("the daemon closed the connection without answering".into())
    })
}

/// Connects to the Unix socket at `path`, giving up after `timeout`: a
/// daemon that has stopped accepting (its backlog full) would block a plain
/// `connect` for ever, and with it the login that asked.
pub fn connect_within(path: &Path, timeout: Duration) -> io::Result<UnixStream> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;

    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain old data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "socket path {} is too long or holds a NUL byte",
                path.display()
            ),
        ));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, &b) in addr.sun_path.iter_mut().zip(bytes) {
        *d = b as libc::c_char;
    }
    let len = (std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
    let deadline = Instant::now() + timeout;
    loop {
        // SAFETY: plain socket(2) call; the descriptor is owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: addr is a valid sockaddr_un of at least len bytes.
        let r = unsafe {
            libc::connect(
                owned.as_raw_fd(),
                (&addr as *const libc::sockaddr_un).cast(),
                len,
            )
        };
        if r == 0 {
            let stream = UnixStream::from(owned);
            stream.set_nonblocking(false)?;
            return Ok(stream);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EAGAIN) {
            return Err(e);
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{} did not accept the connection within {} ms (its queue is full)",
                    path.display(),
                    timeout.as_millis()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_that_stops_accepting_times_the_connect_out() {
        use std::os::fd::AsRawFd;
        let dir = std::env::temp_dir().join(format!("siamedge-proto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        // SAFETY: listen(2) on our own listening socket, to shrink its queue.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let mut queued = Vec::new();
        while let Ok(s) = connect_within(&path, Duration::ZERO) {
            queued.push(s);
            assert!(queued.len() < 64, "the queue never filled");
        }
        let started = Instant::now();
        let e = ask(&path, &Request::Status, Duration::from_millis(300)).unwrap_err();
        let waited = started.elapsed();
        assert!(e.to_string().contains("did not accept"), "{e}");
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
        drop(listener);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_daemon_that_never_answers_is_a_timeout_that_says_so() {
        let dir =
            std::env::temp_dir().join(format!("siamedge-proto-silent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let started = Instant::now();
        let e = ask(&path, &Request::Status, Duration::from_millis(200)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(e.to_string().contains("no answer within 200 ms"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_documented_request_parses() {
        let r: Request =
            serde_json::from_str(r#"{"op":"authenticate","user":"pi","timeout_ms":4000}"#).unwrap();
        assert_eq!(
            r,
            Request::Authenticate {
                user: "pi".into(),
                timeout_ms: 4000,
                service: None
            }
        );
        let json = serde_json::to_string(&Response::new(Outcome::LockedOut, "wait")).unwrap();
        assert!(json.contains(r#""result":"locked-out""#), "{json}");
    }

    #[test]
    fn several_queued_messages_are_read_one_by_one() {
        let mut bytes = Vec::new();
        write_message(&mut bytes, &Request::Status).unwrap();
        write_message(
            &mut bytes,
            &Request::Enrolled {
                user: "alice".into(),
            },
        )
        .unwrap();
        let mut r = io::Cursor::new(bytes);
        assert_eq!(
            read_message::<Request>(&mut r).unwrap(),
            Some(Request::Status)
        );
        assert_eq!(
            read_message::<Request>(&mut r).unwrap(),
            Some(Request::Enrolled {
                user: "alice".into()
            })
        );
        assert_eq!(read_message::<Request>(&mut r).unwrap(), None);
    }

    #[test]
    fn hostile_messages_are_errors_not_allocations() {
        let huge = vec![b'a'; 10 * MAX_MESSAGE];
        let mut r = io::Cursor::new(huge);
        assert!(matches!(
            read_message::<Request>(&mut r),
            Err(ProtocolError::TooLong)
        ));
        for bad in [
            &b"{\"op\":\"authenticate\"}\n"[..],
            b"{\"op\":\"reboot\"}\n",
            b"{\"op\":\"enrolled\",\"user\":\"a\",\"uid\":0}\n",
            b"\xff\xfe\n",
            b"{\"op\":\"status\"",
        ] {
            let mut r = io::Cursor::new(bad.to_vec());
            assert!(read_message::<Request>(&mut r).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn user_names_that_could_escape_the_gallery_folder_are_refused() {
        for ok in ["pi", "alice.smith", "user_1", "a-b"] {
            assert!(valid_user(ok), "{ok}");
        }
        for bad in [
            "",
            "../root",
            "a/b",
            ".hidden",
            "-rf",
            "a b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(!valid_user(bad), "{bad}");
        }
    }
}
