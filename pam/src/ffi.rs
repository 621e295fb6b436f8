//! The exported hooks and [`PamHandle`] over a real libpam handle.
//!
//! Only the hooks of the `auth` type are exported: libpam answers
//! `PAM_SYMBOL_ERR` for the others, so the module belongs on `auth` lines alone.

use std::ffi::{c_char, c_int, c_void, CStr, CString, OsString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::handle::{Item, Level, PamCode, PamHandle, Style};

/// `PAM_SUCCESS`.
const PAM_SUCCESS: c_int = 0;
/// `PAM_CONV`: the item holding the conversation function.
const PAM_CONV: c_int = 5;
/// `PAM_SILENT`: the application asks for no messages.
const PAM_SILENT: c_int = 0x8000;

/// libpam's opaque `pam_handle_t`.
#[repr(C)]
pub struct RawHandle {
    _opaque: [u8; 0],
}

/// `struct pam_message`.
#[repr(C)]
struct Message {
    msg_style: c_int,
    msg: *const c_char,
}

/// `struct pam_response`.
#[repr(C)]
struct Response {
    resp: *mut c_char,
    resp_retcode: c_int,
}

/// The conversation callback of `struct pam_conv`.
type ConvFn = unsafe extern "C" fn(
    num_msg: c_int,
    msg: *mut *const Message,
    resp: *mut *mut Response,
    appdata_ptr: *mut c_void,
) -> c_int;

/// `struct pam_conv`.
#[repr(C)]
struct Conv {
    conv: Option<ConvFn>,
    appdata_ptr: *mut c_void,
}

// Linked by build.rs (libpam of the host; on a board, libpam that loads the module).
extern "C" {
    fn pam_get_user(pamh: *mut RawHandle, user: *mut *const c_char, prompt: *const c_char)
        -> c_int;
    fn pam_get_item(pamh: *const RawHandle, item_type: c_int, item: *mut *const c_void) -> c_int;
    fn pam_getenv(pamh: *mut RawHandle, name: *const c_char) -> *const c_char;
}

/// A libpam handle for the length of one hook call.
struct Libpam {
    pamh: *mut RawHandle,
    silent: bool,
}

impl Libpam {
    /// The raw pointer of an item, null when unset.
    fn raw_item(&self, item_type: c_int) -> *const c_void {
        let mut item: *const c_void = ptr::null();
        // SAFETY: pamh came from libpam for this call; item is a valid out-pointer.
        let rc = unsafe { pam_get_item(self.pamh, item_type, &mut item) };
        if rc == PAM_SUCCESS {
            item
        } else {
            ptr::null()
        }
    }
}

/// Copies a C string owned by libpam, `None` for null.
///
/// # Safety
/// `s` is null or a NUL-terminated string that stays valid during the call.
unsafe fn owned(s: *const c_char) -> Option<String> {
    (!s.is_null()).then(|| CStr::from_ptr(s).to_string_lossy().into_owned())
}

/// `text` as a C string, NUL bytes dropped.
fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "")).unwrap_or_default()
}

impl PamHandle for Libpam {
    fn user(&mut self) -> Option<String> {
        let mut user: *const c_char = ptr::null();
        // SAFETY: pamh is live; user is a valid out-pointer; a null prompt means libpam's.
        let rc = unsafe { pam_get_user(self.pamh, &mut user, ptr::null()) };
        if rc != PAM_SUCCESS {
            return None;
        }
        // SAFETY: on success libpam points user at its own copy of the name.
        unsafe { owned(user) }
    }

    fn item(&self, item: Item) -> Option<String> {
        // SAFETY: the service and rhost items are C strings owned by libpam.
        unsafe { owned(self.raw_item(item as c_int).cast()) }
    }

    fn pam_env(&self, name: &str) -> Option<String> {
        let name = c_string(name);
        // SAFETY: pamh is live, name is NUL-terminated; the result is libpam's or null.
        unsafe { owned(pam_getenv(self.pamh, name.as_ptr())) }
    }

    fn process_env(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }

    fn converse(&mut self, style: Style, text: &str) {
        if self.silent {
            return;
        }
        let conv = self.raw_item(PAM_CONV).cast::<Conv>();
        // SAFETY: the PAM_CONV item, when set, is the application's struct pam_conv.
        let Some(conv) = (unsafe { conv.as_ref() }) else {
            return;
        };
        let Some(function) = conv.conv else {
            return;
        };
        let text = c_string(text);
        let message = Message {
            msg_style: style as c_int,
            msg: text.as_ptr(),
        };
        let mut messages = [&message as *const Message];
        let mut responses: *mut Response = ptr::null_mut();
        // SAFETY: one message in a one-element array, both alive during the call;
        // the application allocates the responses with malloc, freed below.
        unsafe {
            function(1, messages.as_mut_ptr(), &mut responses, conv.appdata_ptr);
            if !responses.is_null() {
                libc::free((*responses).resp.cast());
                libc::free(responses.cast());
            }
        }
    }

    fn log(&mut self, level: Level, text: &str) {
        let service = self.item(Item::Service).unwrap_or_default();
        let line = c_string(&format!("pam_siamedge({service}:auth): {text}"));
        // SAFETY: a constant format taking one NUL-terminated string.
        unsafe {
            libc::syslog(
                libc::LOG_AUTHPRIV | level as c_int,
                c"%s".as_ptr(),
                line.as_ptr(),
            )
        }
    }
}

/// The module arguments as strings (lossily, so a bad byte is an unknown argument).
///
/// # Safety
/// `argv` holds `argc` NUL-terminated strings, or is null.
unsafe fn arguments(argc: c_int, argv: *const *const c_char) -> Vec<String> {
    if argv.is_null() {
        return Vec::new();
    }
    (0..usize::try_from(argc).unwrap_or(0))
        .filter_map(|i| owned(*argv.add(i)))
        .collect()
}

/// `pam_sm_authenticate`: looks for the user's face through the daemon.
///
/// # Safety
/// Called by libpam with its handle and the arguments of the configuration line.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut RawHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    let code = catch_unwind(AssertUnwindSafe(|| {
        let args = arguments(argc, argv);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut handle = Libpam {
            pamh,
            silent: flags & PAM_SILENT != 0,
        };
        crate::authenticate(&mut handle, &args)
    }));
    code.unwrap_or(PamCode::AuthInfoUnavail) as c_int
}

/// `pam_sm_setcred`: face unlock has no credentials to set.
///
/// # Safety
/// Called by libpam; the arguments are not read.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_setcred(
    _pamh: *mut RawHandle,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    PAM_SUCCESS
}
