//! The module's arguments, parsed again on every call (nothing is kept in statics).

use std::path::PathBuf;
use std::time::Duration;

/// How long the daemon may look for a face unless `timeout=` says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(4);

/// The longest `timeout=` accepted, in seconds.
const MAX_TIMEOUT_S: u64 = 60;

/// The parsed arguments of one call.
#[derive(Debug, PartialEq)]
pub struct Args {
    /// `timeout=SECONDS`: the attempt's timeout sent to the daemon.
    pub timeout: Duration,
    /// `socket=PATH`: where the daemon listens.
    pub socket: PathBuf,
    /// `debug`: log each step.
    pub debug: bool,
    /// One sentence per argument that was not understood and is ignored.
    pub ignored: Vec<String>,
}

impl Args {
    /// Parses the arguments of the PAM configuration line; a bad one is
    /// noted in [`Args::ignored`] and its default kept.
    pub fn parse(args: &[&str]) -> Args {
        let mut parsed = Args {
            timeout: DEFAULT_TIMEOUT,
            socket: PathBuf::from(siamedge_protocol::DEFAULT_SOCKET),
            debug: false,
            ignored: Vec::new(),
        };
        for arg in args {
            match arg.split_once('=') {
                None if *arg == "debug" => parsed.debug = true,
                Some(("timeout", value)) => match value.parse::<u64>() {
                    Ok(s) if (1..=MAX_TIMEOUT_S).contains(&s) => {
                        parsed.timeout = Duration::from_secs(s)
                    }
                    _ => parsed.ignored.push(format!(
                        "ignoring {arg}: the timeout is whole seconds from 1 to {MAX_TIMEOUT_S}"
                    )),
                },
                Some(("socket", value)) if value.starts_with('/') => {
                    parsed.socket = PathBuf::from(value)
                }
                Some(("socket", _)) => parsed.ignored.push(format!(
                    "ignoring {arg}: the socket must be an absolute path"
                )),
                _ => parsed
                    .ignored
                    .push(format!("ignoring unknown argument {arg}")),
            }
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_arguments_give_the_defaults() {
        let a = Args::parse(&[]);
        assert_eq!(a.timeout, Duration::from_secs(4));
        assert_eq!(a.socket, PathBuf::from(siamedge_protocol::DEFAULT_SOCKET));
        assert!(!a.debug);
        assert!(a.ignored.is_empty());
    }

    #[test]
    fn known_arguments_are_read() {
        let a = Args::parse(&["debug", "timeout=2", "socket=/tmp/s.sock"]);
        assert_eq!(
            a,
            Args {
                timeout: Duration::from_secs(2),
                socket: PathBuf::from("/tmp/s.sock"),
                debug: true,
                ignored: Vec::new(),
            }
        );
    }

    #[test]
    fn bad_and_unknown_arguments_are_noted_and_defaults_kept() {
        let a = Args::parse(&[
            "timeout=0",
            "timeout=abc",
            "timeout=61",
            "socket=relative.sock",
            "max-tries=3",
            "debug=1",
        ]);
        assert_eq!(a.timeout, Duration::from_secs(4));
        assert_eq!(a.socket, PathBuf::from(siamedge_protocol::DEFAULT_SOCKET));
        assert!(!a.debug);
        assert_eq!(a.ignored.len(), 6, "{:?}", a.ignored);
        assert!(a.ignored[4].contains("max-tries=3"), "{:?}", a.ignored);
    }
}
