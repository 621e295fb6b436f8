//! A fake unlock daemon: a Unix socket in a temporary folder, served by a
//! thread that answers each connection from a script and records the requests.

use std::io::{BufReader, ErrorKind};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use siamedge_protocol::{read_message, write_message, Outcome, Request, Response};

/// What the daemon does with one connection.
#[derive(Clone)]
pub enum Reply {
    /// Reads the request and answers.
    Answer(Response),
    /// Reads the request and never answers (until the daemon is dropped).
    Hang,
    /// Reads the request and closes the connection without answering.
    Close,
    /// Closes the connection before reading anything.
    Drop,
}

/// The "yes, enrolled" answer to an `enrolled` request.
pub fn enrolled(yes: bool) -> Reply {
    let mut r = Response::new(Outcome::Ok, "");
    r.enrolled = Some(yes);
    Reply::Answer(r)
}

/// An answer with `result` and `message`.
pub fn answer(result: Outcome, message: &str) -> Reply {
    Reply::Answer(Response::new(result, message))
}

/// A running fake daemon; dropping it stops the thread.
pub struct FakeDaemon {
    dir: tempfile::TempDir,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDaemon {
    /// Listens on `unlock.sock` in a new folder and serves `script`, one
    /// reply per connection; connections past the script are closed at once.
    pub fn start(script: Vec<Reply>) -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("unlock.sock")).unwrap();
        listener.set_nonblocking(true).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            thread::spawn(move || serve(listener, script, &requests, &stop))
        };
        FakeDaemon {
            dir,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// A folder whose socket path has nothing behind it (no daemon).
    pub fn absent() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("unlock.sock");
        (dir, socket)
    }

    /// The daemon's socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("unlock.sock")
    }

    /// The requests read so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: UnixListener,
    script: Vec<Reply>,
    requests: &Mutex<Vec<Request>>,
    stop: &AtomicBool,
) {
    let mut script = script.into_iter();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                match script.next() {
                    Some(reply) => handle(stream, reply, requests, stop),
                    None => drop(stream),
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("fake daemon: accept: {e}"),
        }
    }
}

fn handle(stream: UnixStream, reply: Reply, requests: &Mutex<Vec<Request>>, stop: &AtomicBool) {
    if matches!(reply, Reply::Drop) {
        return;
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    if let Ok(Some(request)) = read_message::<Request>(&mut reader) {
        requests.lock().unwrap().push(request);
    }
    match reply {
        Reply::Answer(response) => {
            let _ = write_message(&mut &stream, &response);
        }
        Reply::Hang => {
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(10));
            }
        }
        Reply::Close | Reply::Drop => {}
    }
}
