//! Retired user-space instructions of the calling thread, through Linux
//! `perf_event_open`. Unavailable (None) where the kernel, a container's
//! seccomp profile or `perf_event_paranoid` does not allow it, and under qemu.

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};

/// `struct perf_event_attr`, first version (64 bytes): the fields we set.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_COUNT_HW_INSTRUCTIONS: u64 = 1;
const FLAG_DISABLED: u64 = 1 << 0;
const FLAG_EXCLUDE_KERNEL: u64 = 1 << 5;
const FLAG_EXCLUDE_HV: u64 = 1 << 6;
const IOC_ENABLE: libc::c_ulong = 0x2400;
const IOC_DISABLE: libc::c_ulong = 0x2401;
const IOC_RESET: libc::c_ulong = 0x2403;

/// A hardware counter of instructions retired by this thread in user space.
#[derive(Debug)]
pub struct InstructionCounter {
    fd: OwnedFd,
}

impl InstructionCounter {
    /// Opens the counter (stopped), or says why it is not available.
    pub fn open() -> Result<InstructionCounter, String> {
        let attr = instructions_attr();
        // SAFETY: `attr` is a valid perf_event_attr of the size it states; pid 0
        // and cpu -1 count this thread on any CPU; no group, no flags.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const PerfEventAttr,
                0 as libc::pid_t,
                -1 as libc::c_int,
                -1 as libc::c_int,
                0 as libc::c_ulong,
            )
        };
        if fd < 0 {
            return Err(format!(
                "perf_event_open: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: the syscall returned a new file descriptor that we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        Ok(InstructionCounter { fd })
    }

    fn ioctl(&self, request: libc::c_ulong) {
        use std::os::fd::AsRawFd;
        // SAFETY: a perf event fd and a perf ioctl without an argument.
        unsafe { libc::ioctl(self.fd.as_raw_fd(), request as _, 0) };
    }

    /// Counts the instructions `f` retires on this thread.
    pub fn count<T>(&mut self, f: impl FnOnce() -> T) -> Result<(T, u64), String> {
        self.ioctl(IOC_RESET);
        self.ioctl(IOC_ENABLE);
        let value = f();
        self.ioctl(IOC_DISABLE);
        let mut buf = Vec::with_capacity(8);
        File::from(self.fd.try_clone().map_err(|e| e.to_string())?)
            .take(8)
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading the perf counter: {e}"))?;
        Ok((value, counter_value(&buf)?))
    }
}

/// The attribute asking for user-space instructions of this thread, stopped at first.
fn instructions_attr() -> PerfEventAttr {
    PerfEventAttr {
        kind: PERF_TYPE_HARDWARE,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config: PERF_COUNT_HW_INSTRUCTIONS,
        flags: FLAG_DISABLED | FLAG_EXCLUDE_KERNEL | FLAG_EXCLUDE_HV,
        ..PerfEventAttr::default()
    }
}

/// The counter's value from what `read` returned (one native-endian u64).
fn counter_value(bytes: &[u8]) -> Result<u64, String> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| format!("the perf counter returned {} bytes, not 8", bytes.len()))?;
    Ok(u64::from_ne_bytes(bytes))
}

/// Instructions per run of a count over `runs` runs (0 runs count as one).
pub fn per_run(total: u64, runs: usize) -> u64 {
    total / runs.max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attribute_struct_has_the_kernel_v0_size() {
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), 64);
    }

    #[test]
    fn the_attribute_asks_for_user_space_instructions_stopped() {
        let a = instructions_attr();
        assert_eq!((a.kind, a.config, a.size), (0, 1, 64));
        assert_eq!(a.flags, 0b110_0001, "disabled, exclude_kernel, exclude_hv");
    }

    #[test]
    fn counter_bytes_and_per_run_arithmetic() {
        assert_eq!(
            counter_value(&123_456_789u64.to_ne_bytes()),
            Ok(123_456_789)
        );
        assert!(counter_value(&[1, 2, 3]).unwrap_err().contains("3 bytes"));
        assert_eq!(per_run(1_000, 3), 333);
        assert_eq!(per_run(1_000, 0), 1_000);
    }

    #[test]
    fn more_work_retires_more_instructions_where_perf_is_available() {
        let mut counter = match InstructionCounter::open() {
            Ok(c) => c,
            Err(reason) => {
                eprintln!("skipped: no hardware instruction counter here ({reason})");
                return;
            }
        };
        let work = |n: u64| (0..n).fold(0u64, |a, i| std::hint::black_box(a ^ i.wrapping_mul(31)));
        let (_, small) = counter.count(|| work(10_000)).unwrap();
        let (_, large) = counter.count(|| work(1_000_000)).unwrap();
        assert!(large > 50 * small, "{small} vs {large}");
    }
}
