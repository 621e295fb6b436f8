//! What the module needs from libpam, as a trait the tests can fake.

use std::ffi::OsString;

/// The PAM return codes the module gives (values of Linux-PAM's `_pam_types.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PamCode {
    /// `PAM_SUCCESS`: the face matched.
    Success = 0,
    /// `PAM_AUTH_ERR`: the daemon looked and did not find the user's face.
    AuthErr = 7,
    /// `PAM_AUTHINFO_UNAVAIL`: face unlock cannot decide; use another method.
    AuthInfoUnavail = 9,
    /// `PAM_MAXTRIES`: too many failed attempts; the daemon locked face unlock.
    MaxTries = 11,
}

/// The PAM items the module reads (`pam_get_item`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// `PAM_SERVICE`: the service asking, e.g. `sudo`.
    Service = 1,
    /// `PAM_RHOST`: the remote host of the session, if any.
    Rhost = 4,
}

/// How the conversation function shows a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `PAM_ERROR_MSG`: a failure or a retry hint.
    Error = 3,
    /// `PAM_TEXT_INFO`: progress.
    Info = 4,
}

/// Syslog priorities of the module's log lines (`<syslog.h>` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `LOG_ERR`: a configuration mistake.
    Error = 3,
    /// `LOG_WARNING`: the daemon misbehaved.
    Warning = 4,
    /// `LOG_INFO`: how an attempt ended.
    Info = 6,
    /// `LOG_DEBUG`: each step, only with the `debug` argument.
    Debug = 7,
}

/// The PAM handle, as seen by [`crate::authenticate`].
pub trait PamHandle {
    /// The user being authenticated (`pam_get_user`), `None` if libpam has none.
    fn user(&mut self) -> Option<String>;
    /// A PAM item (`pam_get_item`), `None` when unset.
    fn item(&self, item: Item) -> Option<String>;
    /// A variable of the PAM environment (`pam_getenv`).
    fn pam_env(&self, name: &str) -> Option<String>;
    /// A variable of the process environment.
    fn process_env(&self, name: &str) -> Option<OsString>;
    /// Shows `text` to the user through the conversation function.
    fn converse(&mut self, style: Style, text: &str);
    /// Writes a line to the system log (facility `LOG_AUTHPRIV`).
    fn log(&mut self, level: Level, text: &str);
}
