//! Failed attempts per user and the lockout they lead to: after
//! `max_failures` rejected attempts in a row a user is locked out for the
//! base time, doubling with each further lockout until an accepted attempt.
//! The counts live in a private file written atomically, so they survive a
//! restart of the daemon.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::{backup_path, write_private};

/// Why the lockout state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LockoutError {
    /// Reading or writing failed.
    #[error("lockout state {path}: {reason}")]
    Io {
        /// The state file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file is damaged.
    #[error("lockout state {path} is damaged ({reason}); the previous version is {backup}: restore it or delete both to reset every user's count")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// Its backup.
        backup: PathBuf,
    },
}

/// One user's failures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFailures {
    /// Rejected attempts since the last acceptance or lockout.
    pub failures: u32,
    /// Lockouts since the last acceptance (the next lasts base x 2^level).
    pub level: u32,
    /// Locked out until this time, in ms since the Unix epoch.
    pub locked_until_ms: u64,
}

/// Every user's failures, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutState {
    /// By user name.
    pub users: BTreeMap<String, UserFailures>,
}

/// The lockout rule with its state file.
#[derive(Debug)]
pub struct Lockout {
    path: PathBuf,
    max_failures: u32,
    base: Duration,
    state: LockoutState,
}

impl Lockout {
    /// Reads the state at `path` (none yet: nobody has failed).
    pub fn open(path: &Path, max_failures: u32, base: Duration) -> Result<Lockout, LockoutError> {
        let state = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LockoutError::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
                backup: backup_path(path),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LockoutState::default(),
            Err(e) => {
                return Err(LockoutError::Io {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
            }
        };
        Ok(Lockout {
            path: path.to_path_buf(),
            max_failures: max_failures.max(1),
            base,
            state,
        })
    }

    /// How long `user` stays locked out at `now_ms` (ms since the epoch), if locked.
    pub fn locked_for(&self, user: &str, now_ms: u64) -> Option<Duration> {
        let u = self.state.users.get(user)?;
        (u.locked_until_ms > now_ms).then(|| Duration::from_millis(u.locked_until_ms - now_ms))
    }

    /// Records an attempt's result; returns the lockout it starts, if any.
    pub fn record(
        &mut self,
        user: &str,
        accepted: bool,
        now_ms: u64,
    ) -> Result<Option<Duration>, LockoutError> {
        let started = if accepted {
            self.state.users.remove(user);
            None
        } else {
            let u = self.state.users.entry(user.to_string()).or_default();
            u.failures += 1;
            if u.failures >= self.max_failures {
                let lock = self.base * 2u32.saturating_pow(u.level.min(16));
                u.failures = 0;
                u.level += 1;
                u.locked_until_ms = now_ms + lock.as_millis() as u64;
                Some(lock)
            } else {
                None
            }
        };
        let text =
            serde_json::to_vec_pretty(&self.state).expect("the lockout state always serialises");
        write_private(&self.path, &text).map_err(|e| LockoutError::Io {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        Ok(started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_for_30_s_then_60_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lockout.json");
        let base = Duration::from_secs(30);
        let mut l = Lockout::open(&path, 5, base).unwrap();
        for _ in 0..4 {
            assert_eq!(l.record("pi", false, 1000).unwrap(), None);
        }
        assert_eq!(l.record("pi", false, 1000).unwrap(), Some(base));
        let l = Lockout::open(&path, 5, base).unwrap();
        assert_eq!(
            l.locked_for("pi", 1000),
            Some(base),
            "kept across a restart"
        );
        assert_eq!(l.locked_for("pi", 31_000), None);
        assert_eq!(l.locked_for("alice", 1000), None);
        let mut l = l;
        for _ in 0..4 {
            l.record("pi", false, 40_000).unwrap();
        }
        assert_eq!(
            l.record("pi", false, 40_000).unwrap(),
            Some(base * 2),
            "doubling"
        );
        l.record("pi", true, 200_000).unwrap();
        assert_eq!(l.locked_for("pi", 200_000), None);
        std::fs::write(&path, b"{not json").unwrap();
        let e = Lockout::open(&path, 5, base).unwrap_err().to_string();
        assert!(
            e.contains("damaged") && e.contains("lockout.json.bak"),
            "{e}"
        );
    }
}
