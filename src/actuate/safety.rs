//! The safe state on the way out. SIGTERM, SIGINT and SIGHUP set a shutdown
//! flag that every wait in siamedge checks, and drive every registered GPIO
//! line to its safe level from inside the handler (one `ioctl` per line,
//! async-signal-safe); a panic does the same before unwinding or aborting
//! (board builds abort on panic, so `Drop` alone would not run).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Once;

/// Lines that can be made safe at once: more than a relay and an LED need.
const CAPACITY: usize = 8;
/// An empty slot.
const EMPTY: i64 = -1;

/// `GPIOHANDLE_SET_LINE_VALUES_IOCTL`: `_IOWR(0xB4, 0x09, struct gpiohandle_data)` (64 bytes).
const SET_LINE_VALUES: u64 = 0xC040_B409;

static SHUTDOWN: AtomicBool = AtomicBool::new(false);
/// Each slot: `fd << 1 | safe level`, or [`EMPTY`].
static LINES: [AtomicI64; CAPACITY] = [const { AtomicI64::new(EMPTY) }; CAPACITY];
static INSTALL: Once = Once::new();

/// True once SIGTERM, SIGINT or SIGHUP arrived, or [`request_shutdown`] was called.
pub fn shutdown_requested() -> bool {
    SHUTDOWN.load(Ordering::SeqCst)
}

/// Sleeps `duration`, or less when a shutdown was requested (SIGTERM, SIGINT).
pub(crate) fn sleep_unless_shutdown(duration: std::time::Duration) {
    let end = std::time::Instant::now() + duration;
    while !shutdown_requested() {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(20)));
    }
}

/// Asks every wait to stop, as a signal would (for tests and the daemon's own exit).
pub fn request_shutdown() {
    SHUTDOWN.store(true, Ordering::SeqCst);
}

/// Installs the signal handlers and the panic hook (once per process).
pub fn install_shutdown_handlers() {
    INSTALL.call_once(|| {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction with a handler that only touches
            // atomics and calls ioctl, which is async-signal-safe. No
            // SA_RESTART, so blocking calls return EINTR and see the flag.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            make_all_safe();
            previous(info);
        }));
    });
}

extern "C" fn on_signal(_: libc::c_int) {
    make_all_safe();
    SHUTDOWN.store(true, Ordering::SeqCst);
}

/// Drives every registered line to its safe level.
fn make_all_safe() {
    for slot in &LINES {
        let v = slot.load(Ordering::SeqCst);
        if v != EMPTY {
            let mut data = [0u8; 64];
            data[0] = (v & 1) as u8;
            // SAFETY: the fd is a GPIO line handle kept open by its guard
            // while registered; the ioctl reads 64 bytes from `data`.
            unsafe {
                libc::ioctl(
                    (v >> 1) as libc::c_int,
                    SET_LINE_VALUES as _,
                    data.as_mut_ptr(),
                )
            };
        }
    }
}

/// Keeps a GPIO line handle registered for the signal and panic paths; unregisters on drop.
#[derive(Debug)]
pub struct SafeLineGuard {
    slot: Option<usize>,
}

impl SafeLineGuard {
    /// Registers line handle `fd` with its safe level; `None` when all slots are taken.
    pub fn register(fd: i32, safe_high: bool) -> Option<SafeLineGuard> {
        let value = (fd as i64) << 1 | safe_high as i64;
        LINES
            .iter()
            .position(|slot| {
                slot.compare_exchange(EMPTY, value, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            })
            .map(|i| SafeLineGuard { slot: Some(i) })
    }
}

impl Drop for SafeLineGuard {
    fn drop(&mut self) {
        if let Some(i) = self.slot.take() {
            LINES[i].store(EMPTY, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_and_given_back() {
        let guards: Vec<SafeLineGuard> = (0..CAPACITY)
            .filter_map(|i| SafeLineGuard::register(1000 + i as i32, false))
            .collect();
        assert!(guards.len() <= CAPACITY);
        assert!(SafeLineGuard::register(2000, true).is_none(), "full");
        drop(guards);
        assert!(SafeLineGuard::register(2000, true).is_some(), "given back");
    }
}
