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
        let attr = PerfEventAttr {
            kind: PERF_TYPE_HARDWARE,
            size: std::mem::size_of::<PerfEventAttr>() as u32,
            config: PERF_COUNT_HW_INSTRUCTIONS,
            flags: FLAG_DISABLED | FLAG_EXCLUDE_KERNEL | FLAG_EXCLUDE_HV,
            ..PerfEventAttr::default()
        };
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
        let mut buf = [0u8; 8];
        File::from(self.fd.try_clone().map_err(|e| e.to_string())?)
            .read_exact(&mut buf)
            .map_err(|e| format!("reading the perf counter: {e}"))?;
        Ok((value, u64::from_ne_bytes(buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attribute_struct_has_the_kernel_v0_size() {
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), 64);
    }

    #[test]
    fn more_work_retires_more_instructions_where_perf_is_available() {
        let Ok(mut counter) = InstructionCounter::open() else {
            eprintln!("perf_event_open is not available here; nothing to count");
            return;
        };
        let work = |n: u64| (0..n).fold(0u64, |a, i| std::hint::black_box(a ^ i.wrapping_mul(31)));
        let (_, small) = counter.count(|| work(10_000)).unwrap();
        let (_, large) = counter.count(|| work(1_000_000)).unwrap();
        assert!(large > 50 * small, "{small} vs {large}");
    }
}
