//! The audit log: one JSON line per decision, appended and fsynced before
//! the answer goes out, rotated by size (`audit.jsonl.1` .. `.3`).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use siamedge_protocol::{FrameCounts, Outcome};

/// Rotated files kept beside the log.
const KEEP: usize = 3;

/// One decision.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// When, in ms since the Unix epoch.
    pub time_ms: u64,
    /// What was asked (`authenticate`, `enrolled`, `status`).
    pub op: String,
    /// The user asked for.
    pub user: Option<String>,
    /// The asking process.
    pub peer_uid: u32,
    /// Its pid.
    pub peer_pid: i32,
    /// The PAM service, when a PAM module asked.
    pub service: Option<String>,
    /// The decision.
    pub result: Outcome,
    /// Why.
    pub message: String,
    /// Best similarity.
    pub score: Option<f32>,
    /// Threshold applied.
    pub threshold: Option<f32>,
    /// Frames.
    pub frames: Option<FrameCounts>,
    /// Highest liveness (spoof) score.
    pub liveness: Option<f32>,
    /// Time from request to decision.
    pub ms: u64,
}

/// The append-only log file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
}

impl AuditLog {
    /// A log at `path` (its folder is created, mode 0700), rotated past `max_bytes`.
    pub fn open(path: &Path, max_bytes: u64) -> std::io::Result<AuditLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        Ok(AuditLog {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(4096),
        })
    }

    /// Appends `record` and fsyncs it.
    pub fn append(&self, record: &AuditRecord) -> std::io::Result<()> {
        if fs::metadata(&self.path).is_ok_and(|m| m.len() >= self.max_bytes) {
            self.rotate()?;
        }
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        f.write_all(&line)?;
        f.sync_all()
    }

    fn rotate(&self) -> std::io::Result<()> {
        let numbered = |i: usize| {
            let mut name = self.path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".{i}"));
            self.path.with_file_name(name)
        };
        for i in (1..KEEP).rev() {
            if numbered(i).exists() {
                fs::rename(numbered(i), numbered(i + 1))?;
            }
        }
        fs::rename(&self.path, numbered(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> AuditRecord {
        AuditRecord {
            time_ms: i,
            op: "authenticate".into(),
            user: Some("pi".into()),
            peer_uid: 0,
            peer_pid: 1,
            service: None,
            result: Outcome::Rejected,
            message: "x".repeat(100),
            score: Some(0.1),
            threshold: Some(0.5),
            frames: None,
            liveness: None,
            ms: 5,
        }
    }

    #[test]
    fn lines_append_and_rotate_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log/audit.jsonl");
        let log = AuditLog::open(&path, 4096).unwrap();
        for i in 0..100 {
            log.append(&record(i)).unwrap();
        }
        let current = fs::read_to_string(&path).unwrap();
        let first: serde_json::Value =
            serde_json::from_str(current.lines().next().unwrap()).unwrap();
        assert_eq!(first["result"], "rejected");
        assert!(dir.path().join("log/audit.jsonl.1").exists());
        assert!(
            !dir.path().join("log/audit.jsonl.4").exists(),
            "at most {KEEP} old files"
        );
        assert!(fs::metadata(&path).unwrap().len() < 4096 + 400);
    }
}
