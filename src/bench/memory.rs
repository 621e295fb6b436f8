//! Peak resident memory of this process, from `/proc/self/status` (Linux).

use std::fs;

/// Resets the peak-RSS mark so the next reading covers only what follows.
/// Returns false where the kernel does not allow it (the reading then covers
/// the whole process so far).
pub fn reset_peak_rss() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak resident set size (`VmHWM`) in MiB, if the platform reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm_kib(&status).map(|kib| kib as f64 / 1024.0)
}

fn parse_vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_high_water_mark_line() {
        let status = "Name:\tsiamedge\nVmPeak:\t  900 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(parse_vm_hwm_kib(status), Some(51200));
        assert_eq!(parse_vm_hwm_kib("VmRSS: 1 kB"), None);
    }

    #[test]
    fn the_peak_covers_touched_memory_and_is_in_mib() {
        reset_peak_rss();
        let block = vec![1u8; 64 << 20];
        let peak = peak_rss_mib().unwrap();
        assert!(block.iter().all(|&b| b == 1));
        assert!((64.0..65536.0).contains(&peak), "{peak} MiB");
    }
}
