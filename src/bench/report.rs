//! The benchmark report (JSON and Markdown) and the comparison of two reports.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::{FrameCost, Latency};

/// The machine a report was measured on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostInfo {
    /// CPU architecture (`x86_64`, `aarch64`, `arm`).
    pub arch: String,
    /// CPU or board model as the kernel names it.
    pub cpu: String,
    /// Logical CPUs available to this process.
    pub cores: usize,
}

impl HostInfo {
    /// Describes this machine.
    pub fn detect() -> HostInfo {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |key: &str| {
            cpuinfo.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == key).then(|| v.trim().to_string())
            })
        };
        let cpu = field("model name")
            .or_else(|| field("Model"))
            .or_else(|| field("Hardware"))
            .or_else(|| field("CPU part").map(|p| format!("CPU part {p}")))
            .unwrap_or_else(|| "unknown".into());
        HostInfo {
            arch: std::env::consts::ARCH.into(),
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Latency of one stage of the face pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageLatency {
    /// `decode`, `detect` (and its parts `detect: P-Net`, `detect: R-Net`,
    /// `detect: O-Net`), `align`, `liveness`, `embed` or `total`.
    pub stage: String,
    /// Its percentiles.
    pub latency: Latency,
}

/// The detector's runs per frame: pyramid scales, R-Net and O-Net crops
/// (summed while measuring, then the mean per frame).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct DetectorRuns {
    /// Frames counted.
    pub frames: usize,
    /// P-Net pyramid scales per frame.
    pub scales: f64,
    /// R-Net crops per frame.
    pub rnet_crops: f64,
    /// O-Net crops per frame.
    pub onet_crops: f64,
}

impl DetectorRuns {
    /// Counts one frame's detection.
    pub fn add(&mut self, d: &crate::face::DetectStats) {
        self.frames += 1;
        self.scales += d.scales as f64;
        self.rnet_crops += d.rnet_crops as f64;
        self.onet_crops += d.onet_crops as f64;
    }

    /// The sums turned into means per frame.
    pub fn mean(&self) -> DetectorRuns {
        let n = self.frames.max(1) as f64;
        DetectorRuns {
            frames: self.frames,
            scales: self.scales / n,
            rnet_crops: self.rnet_crops / n,
            onet_crops: self.onet_crops / n,
        }
    }
}

/// Everything measured for one model variant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VariantBench {
    /// `fp32`, `int8` or `pruned-int8`.
    pub variant: String,
    /// The embedding model file.
    pub model: String,
    /// The engine that ran it, and why the integer engine declined it if it did.
    #[serde(default)]
    pub engine: String,
    /// Size of that file.
    pub model_bytes: u64,
    /// Loading (read, hash check, optimise, plan) of the embedding model.
    pub load_ms: f64,
    /// All warm-up runs together.
    pub warmup_ms: f64,
    /// The embedding model alone, on a synthetic aligned face.
    pub embed: Latency,
    /// Instructions retired per embedding, where perf counters are available.
    pub instructions_per_embed: Option<u64>,
    /// Embeddings per second with `threads` model instances running at once.
    pub throughput_per_s: f64,
    /// Per-stage latency of the whole pipeline on the replayed frames (empty
    /// when only synthetic input was timed).
    pub pipeline: Vec<StageLatency>,
    /// The detector's mean runs per replayed frame (absent without frames
    /// and in older reports).
    #[serde(default)]
    pub detector: Option<DetectorRuns>,
    /// Peak resident memory while this variant was loaded and run.
    pub peak_rss_mib: Option<f64>,
}

/// A whole `siamedge bench` run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BenchReport {
    /// Where it ran.
    pub host: HostInfo,
    /// Timed runs per measurement.
    pub runs: usize,
    /// Untimed warm-up runs per measurement.
    pub warmup: usize,
    /// Model instances (one thread each) in the throughput measurement.
    pub threads: usize,
    /// What the pipeline was fed: `synthetic` or the replayed frames.
    pub input: String,
    /// One entry per model variant.
    pub variants: Vec<VariantBench>,
    /// Per-frame cost of the camera-frame conversions (absent in older reports).
    #[serde(default)]
    pub frames: Vec<FrameCost>,
    /// The tracker's stages per backbone variant (absent in older reports).
    #[serde(default)]
    pub tracker: Vec<super::TrackerBench>,
    /// The binary was built with debug assertions: siamedge's own kernels
    /// (integer engine, conversions, MTCNN) run slower than in a release build.
    #[serde(default)]
    pub debug_build: bool,
}

/// Said by every report of a build with debug assertions.
pub const DEBUG_BUILD_WARNING: &str = "**Warning: this binary was built with debug assertions**, so the timings of siamedge's own kernels (integer engine, frame conversions, MTCNN post-processing) are not representative; tract's are. Time a release build: `cargo build --release` and run `target/release/siamedge bench`.";

fn ms(v: f64) -> String {
    format!("{v:.2}")
}

/// A Markdown table row: `cells`, then the p50, p90, p99 and mean of `l`.
fn latency_row(s: &mut String, cells: &[&str], l: &Latency) {
    for c in cells {
        let _ = write!(s, "| {c} ");
    }
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} |",
        ms(l.p50_ms),
        ms(l.p90_ms),
        ms(l.p99_ms),
        ms(l.mean_ms)
    );
}

impl BenchReport {
    /// The report as Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        if self.debug_build {
            s.push_str(DEBUG_BUILD_WARNING);
            s.push_str("\n\n");
        }
        let h = &self.host;
        let _ = writeln!(
            s,
            "{} ({}, {} cores): {} runs after {} warm-up, single-thread inference; throughput with {} thread(s); input: {}\n",
            h.cpu, h.arch, h.cores, self.runs, self.warmup, self.threads, self.input
        );
        s.push_str("| variant | engine | MiB on disk | load ms | embed p50 | p90 | p99 | embeds/s | Minstr/embed | peak RSS MiB |\n");
        s.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
        for v in &self.variants {
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | {} | {} | {} | {} | {:.1} | {} | {} |",
                v.variant,
                v.engine,
                v.model_bytes as f64 / (1 << 20) as f64,
                ms(v.load_ms),
                ms(v.embed.p50_ms),
                ms(v.embed.p90_ms),
                ms(v.embed.p99_ms),
                v.throughput_per_s,
                v.instructions_per_embed
                    .map_or("n/a".into(), |i| format!("{:.1}", i as f64 / 1e6)),
                v.peak_rss_mib.map_or("n/a".into(), |m| format!("{m:.0}")),
            );
        }
        if self.variants.iter().any(|v| !v.pipeline.is_empty()) {
            s.push_str("\n| variant | stage | p50 ms | p90 ms | p99 ms | mean ms |\n|---|---|---|---|---|---|\n");
            for v in &self.variants {
                for st in &v.pipeline {
                    latency_row(&mut s, &[&v.variant, &st.stage], &st.latency);
                }
            }
            for v in &self.variants {
                if let Some(d) = &v.detector {
                    let _ = writeln!(
                        s,
                        "\n{}: per frame, P-Net on {:.1} pyramid scales, R-Net on {:.1} crops, O-Net on {:.1} (mean of {} frames)",
                        v.variant, d.scales, d.rnet_crops, d.onet_crops, d.frames
                    );
                }
            }
        }
        if !self.tracker.is_empty() {
            s.push_str("\n| tracker variant | engine | stage | p50 ms | p90 ms | p99 ms | mean ms |\n|---|---|---|---|---|---|---|\n");
            for t in &self.tracker {
                for st in &t.stages {
                    latency_row(&mut s, &[&t.variant, &t.engine, &st.stage], &st.latency);
                }
            }
        }
        if !self.frames.is_empty() {
            s.push_str("\n| frame conversion | size | frame KiB | p50 ms | p90 ms | p99 ms |\n|---|---|---|---|---|---|\n");
            for f in &self.frames {
                let l = &f.latency;
                let _ = writeln!(
                    s,
                    "| {} | {}x{} | {:.0} | {} | {} | {} |",
                    f.conversion,
                    f.width,
                    f.height,
                    f.frame_bytes as f64 / 1024.0,
                    ms(l.p50_ms),
                    ms(l.p90_ms),
                    ms(l.p99_ms)
                );
            }
        }
        s
    }
}

/// One compared figure: `b / a` (below 1: B is smaller, i.e. faster for times).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ratio {
    /// Model variant.
    pub variant: String,
    /// What was compared.
    pub metric: String,
    /// Value in A.
    pub a: f64,
    /// Value in B.
    pub b: f64,
    /// `b / a`.
    pub ratio: f64,
}

/// Two reports side by side, for the variants and stages both measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
    /// Host of A.
    pub a: HostInfo,
    /// Host of B.
    pub b: HostInfo,
    /// Every figure both reports have.
    pub ratios: Vec<Ratio>,
}

/// Compares report `b` with report `a`.
pub fn compare(a: &BenchReport, b: &BenchReport) -> Comparison {
    let mut ratios = Vec::new();
    for va in &a.variants {
        let Some(vb) = b.variants.iter().find(|v| v.variant == va.variant) else {
            continue;
        };
        let mut push = |metric: &str, x: f64, y: f64| {
            ratios.push(Ratio {
                variant: va.variant.clone(),
                metric: metric.into(),
                a: x,
                b: y,
                ratio: y / x,
            })
        };
        push("load ms", va.load_ms, vb.load_ms);
        push("embed p50 ms", va.embed.p50_ms, vb.embed.p50_ms);
        push("embed p90 ms", va.embed.p90_ms, vb.embed.p90_ms);
        push("embed p99 ms", va.embed.p99_ms, vb.embed.p99_ms);
        push("embeds/s", va.throughput_per_s, vb.throughput_per_s);
        if let (Some(x), Some(y)) = (va.peak_rss_mib, vb.peak_rss_mib) {
            push("peak RSS MiB", x, y);
        }
        if let (Some(x), Some(y)) = (va.instructions_per_embed, vb.instructions_per_embed) {
            push("instructions/embed", x as f64, y as f64);
        }
        for sa in &va.pipeline {
            if let Some(sb) = vb.pipeline.iter().find(|s| s.stage == sa.stage) {
                push(
                    &format!("{} p50 ms", sa.stage),
                    sa.latency.p50_ms,
                    sb.latency.p50_ms,
                );
            }
        }
    }
    Comparison {
        a: a.host.clone(),
        b: b.host.clone(),
        ratios,
    }
}

impl Comparison {
    /// The comparison as a Markdown table.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "A: {} ({})\nB: {} ({})\n\n| variant | metric | A | B | B/A |\n|---|---|---|---|---|\n",
            self.a.cpu, self.a.arch, self.b.cpu, self.b.arch
        );
        for r in &self.ratios {
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | {:.2} | {:.3} |",
                r.variant, r.metric, r.a, r.b, r.ratio
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency(p50: f64) -> Latency {
        Latency {
            runs: 10,
            p50_ms: p50,
            p90_ms: p50 * 1.5,
            p99_ms: p50 * 2.0,
            min_ms: p50 * 0.9,
            mean_ms: p50 * 1.1,
        }
    }

    fn report(cpu: &str, variants: &[(&str, f64)]) -> BenchReport {
        BenchReport {
            host: HostInfo {
                arch: "aarch64".into(),
                cpu: cpu.into(),
                cores: 4,
            },
            runs: 10,
            warmup: 2,
            threads: 4,
            input: "synthetic".into(),
            variants: variants
                .iter()
                .map(|&(name, p50)| VariantBench {
                    variant: name.into(),
                    model: format!("{name}.onnx"),
                    engine: "tract".into(),
                    model_bytes: 4 << 20,
                    load_ms: 100.0,
                    warmup_ms: 10.0,
                    embed: latency(p50),
                    instructions_per_embed: None,
                    throughput_per_s: 4000.0 / p50,
                    pipeline: vec![StageLatency {
                        stage: "total".into(),
                        latency: latency(3.0 * p50),
                    }],
                    detector: None,
                    peak_rss_mib: Some(50.0),
                })
                .collect(),
            frames: Vec::new(),
            tracker: Vec::new(),
            debug_build: false,
        }
    }

    #[test]
    fn ratios_cover_shared_variants_only() {
        let a = report("Raspberry Pi 4", &[("fp32", 40.0), ("int8", 20.0)]);
        let b = report("Raspberry Pi 5", &[("fp32", 20.0)]);
        let c = compare(&a, &b);
        assert!(c.ratios.iter().all(|r| r.variant == "fp32"));
        let p50 = c
            .ratios
            .iter()
            .find(|r| r.metric == "embed p50 ms")
            .unwrap();
        assert_eq!((p50.a, p50.b, p50.ratio), (40.0, 20.0, 0.5));
        let tput = c.ratios.iter().find(|r| r.metric == "embeds/s").unwrap();
        assert_eq!(tput.ratio, 2.0);
        assert!(c.ratios.iter().any(|r| r.metric == "total p50 ms"));
        assert!(c
            .to_markdown()
            .contains("| fp32 | embed p50 ms | 40.00 | 20.00 | 0.500 |"));
    }

    #[test]
    fn a_report_survives_json_and_renders_both_tables() {
        let a = report("Raspberry Pi 4", &[("fp32", 40.0)]);
        let back: BenchReport = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        let md = a.to_markdown();
        assert!(
            md.contains(
                "| fp32 | tract | 4.00 | 100.00 | 40.00 | 60.00 | 80.00 | 100.0 | n/a | 50 |"
            ),
            "{md}"
        );
        assert!(md.contains("| fp32 | total | 120.00 |"), "{md}");
    }
}
