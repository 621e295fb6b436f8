//! The module runs inside C programs (login, sudo) that keep the default
//! SIGPIPE action: writing a request to a daemon that already closed the
//! connection must be an error, not a signal that kills the program. The
//! standard library's Unix sockets send with `MSG_NOSIGNAL`; this checks it.
//! (Its own test binary: it changes the process's SIGPIPE action.)

use std::os::unix::net::UnixStream;

use siamedge_protocol::{write_message, Request};

#[test]
fn a_request_to_a_closed_socket_is_an_error_not_sigpipe() {
    // SAFETY: sets a signal disposition; no handler runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    drop(theirs);
    let e = write_message(&mut ours, &Request::Status).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
}
