//! `pam_siamedge.so`: the PAM module of siamedge face unlock.
//!
//! The module is thin: it asks the unlock daemon (`siamedge unlock`) over its
//! socket whether the user has enrolled faces, then asks it to look for the
//! face, and maps the answer to a PAM code. Whenever face unlock cannot decide
//! (a remote session, no daemon, nothing enrolled, a timeout) it returns
//! `PAM_AUTHINFO_UNAVAIL`, so the next module in the stack (the password)
//! takes over.
//!
//! [`authenticate`] holds the logic, written against the [`PamHandle`] trait so
//! that it can be tested without libpam; the `ffi` module holds the exported
//! `pam_sm_*` hooks and the libpam implementation of the trait.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod args;
mod auth;
mod ffi;
mod handle;

pub use args::Args;
pub use auth::authenticate;
pub use handle::{Item, Level, PamCode, PamHandle, Style};
