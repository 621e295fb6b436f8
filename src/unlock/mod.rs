//! Face unlock: the policy that turns camera frames into a decision, the
//! failed-attempt lockout, the audit log, and the daemon that answers the
//! socket (PAM module, `siamedge status`) and drives the door relay.

mod attempt;
mod audit;
pub mod daemon;
mod lockout;
mod peer;
mod quality;
mod recogniser;
mod snapshot;
mod threshold;
mod window;

pub use attempt::{run_attempt, AttemptBuffers, AttemptReport, Policy};
pub use audit::{AuditLog, AuditRecord};
pub use lockout::{Lockout, LockoutState};
pub use peer::{peer_credentials, Peer};
pub use quality::{exposure, sharpness, Exposure};
pub use recogniser::{FrameGate, FrameVerdict, Recogniser};
pub use snapshot::{write_snapshot, SnapshotError};
pub use threshold::{policy_threshold, PolicyThreshold};
pub use window::MatchWindow;

/// The longest k-of-n window a policy may use.
pub const MAX_WINDOW: usize = 8;
