//! Calibration methods: the clipping range of an activation from its
//! histogram (min/max, percentile, minimum quantization MSE, minimum KL
//! divergence), and the int8 scale and zero point of a range.

use std::str::FromStr;

use super::stats::Histogram;

/// How an activation's clipping range is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// The observed minimum and maximum.
    MinMax,
    /// The given percentile at the top and its mirror at the bottom, e.g. 99.99.
    Percentile(f64),
    /// The range whose quantization has the least mean squared error.
    Mse,
    /// The range whose quantized distribution is closest in KL divergence (TensorRT's entropy calibration).
    Entropy,
}

impl FromStr for Method {
    type Err = String;

    fn from_str(s: &str) -> Result<Method, String> {
        match s {
            "minmax" => Ok(Method::MinMax),
            "mse" => Ok(Method::Mse),
            "entropy" => Ok(Method::Entropy),
            "percentile" => Ok(Method::Percentile(99.99)),
            other => match other.strip_prefix("percentile:").map(str::parse::<f64>) {
                Some(Ok(p)) if (50.0..=100.0).contains(&p) => Ok(Method::Percentile(p)),
                _ => Err(format!(
                    "calibration method {other:?}: expected minmax, percentile, percentile:P (50..100), mse or entropy"
                )),
            },
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::MinMax => write!(f, "minmax"),
            Method::Percentile(p) => write!(f, "percentile:{p}"),
            Method::Mse => write!(f, "mse"),
            Method::Entropy => write!(f, "entropy"),
        }
    }
}

/// Int8 quantization of an activation: `q = clamp(round(x / scale) + zero_point, -128, 127)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActQuant {
    /// Step between adjacent int8 values.
    pub scale: f32,
    /// The int8 value that stands for 0.
    pub zero_point: i8,
}

impl ActQuant {
    /// The asymmetric int8 quantization of `[lo, hi]` (widened to hold 0).
    pub fn for_range(lo: f32, hi: f32) -> ActQuant {
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let scale = ((hi - lo) / 255.0).max(1e-8);
        let zero_point = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i8;
        ActQuant { scale, zero_point }
    }
}

/// Candidate ranges shrink both ends of the observed range by these factors.
const SHRINK_STEPS: usize = 100;

/// The clipping range of a histogram under `method`.
pub fn choose_range(h: &Histogram, method: Method) -> (f32, f32) {
    match method {
        Method::MinMax => (h.lo, h.hi),
        Method::Percentile(p) => percentile_range(h, p),
        Method::Mse => best_shrink(h, quantization_mse),
        Method::Entropy => best_shrink(h, kl_divergence),
    }
}

fn percentile_range(h: &Histogram, p: f64) -> (f32, f32) {
    let total = h.total() as f64;
    let tail = total * (100.0 - p) / 100.0;
    let mut acc = 0.0;
    let mut lo_bin = 0;
    for (i, &c) in h.counts.iter().enumerate() {
        acc += c as f64;
        if acc > tail {
            lo_bin = i;
            break;
        }
    }
    acc = 0.0;
    let mut hi_bin = h.counts.len() - 1;
    for (i, &c) in h.counts.iter().enumerate().rev() {
        acc += c as f64;
        if acc > tail {
            hi_bin = i;
            break;
        }
    }
    let w = h.bin_width();
    (h.lo + lo_bin as f32 * w, h.lo + (hi_bin + 1) as f32 * w)
}

/// The range with the smallest `cost` among `[lo * f, hi * g]` (each end
/// shrunk towards 0 on its own), searched one end at a time.
fn best_shrink(h: &Histogram, cost: fn(&Histogram, f32, f32) -> f64) -> (f32, f32) {
    let (lo, hi) = (h.lo.min(0.0), h.hi.max(0.0));
    let factors = (1..=SHRINK_STEPS).map(|k| k as f32 / SHRINK_STEPS as f32);
    let best = |candidates: Vec<(f32, f32)>, current: (f32, f32)| {
        candidates
            .into_iter()
            .filter(|&(a, b)| b - a > 0.0)
            .map(|r| (cost(h, r.0, r.1), r))
            .min_by(|x, y| x.0.total_cmp(&y.0))
            .map_or(current, |(_, r)| r)
    };
    let mut range = (lo, hi);
    for _ in 0..2 {
        range = best(factors.clone().map(|f| (range.0, hi * f)).collect(), range);
        range = best(factors.clone().map(|f| (lo * f, range.1)).collect(), range);
    }
    range
}

/// Expected squared error of quantizing the histogram's values to 256 levels over `[a, b]`:
/// clipping error outside, uniform rounding noise `step^2 / 12` inside.
fn quantization_mse(h: &Histogram, a: f32, b: f32) -> f64 {
    let step = ((b - a) / 255.0) as f64;
    let mut err = 0.0;
    for (i, &c) in h.counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let x = h.centre(i);
        let clip = (x - x.clamp(a, b)) as f64;
        err += c as f64 * (clip * clip + step * step / 12.0);
    }
    err / h.total().max(1) as f64
}

/// KL divergence between the histogram clipped to `[a, b]` (outliers folded
/// into the edge bins) and the same clipped histogram merged into 256 levels.
fn kl_divergence(h: &Histogram, a: f32, b: f32) -> f64 {
    let w = h.bin_width();
    let first = (((a - h.lo) / w).floor().max(0.0) as usize).min(h.counts.len() - 1);
    let last = ((((b - h.lo) / w).ceil() as usize).max(first + 1)).min(h.counts.len());
    let mut p: Vec<f64> = h.counts[first..last].iter().map(|&c| c as f64).collect();
    if p.len() < 256 {
        return f64::INFINITY;
    }
    p[0] += h.counts[..first].iter().sum::<u64>() as f64;
    let n = p.len();
    p[n - 1] += h.counts[last..].iter().sum::<u64>() as f64;
    let mut q = vec![0.0; n];
    for level in 0..256 {
        let (s, e) = (
            level * n / 256,
            ((level + 1) * n / 256).max(level * n / 256 + 1),
        );
        let nonzero = p[s..e].iter().filter(|&&v| v > 0.0).count();
        if nonzero == 0 {
            continue;
        }
        let share = p[s..e].iter().sum::<f64>() / nonzero as f64;
        for j in s..e {
            if p[j] > 0.0 {
                q[j] = share;
            }
        }
    }
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    p.iter()
        .zip(&q)
        .filter(|(&pi, _)| pi > 0.0)
        .map(|(&pi, &qi)| {
            let (pi, qi) = (pi / sp, (qi / sq).max(1e-12));
            pi * (pi / qi).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram_with_outlier() -> Histogram {
        let mut h = Histogram::new(-1.0, 100.0, 2048);
        let values: Vec<f32> = (0..2_000_000)
            .map(|i| (i % 2000) as f32 / 1000.0 - 1.0)
            .collect();
        h.add(&values);
        h.add(&[100.0]);
        h
    }

    #[test]
    fn the_range_fits_the_int8_codes() {
        let q = ActQuant::for_range(-0.3, 5.7);
        assert!((q.scale - 6.0 / 255.0).abs() < 1e-7);
        let code = |x: f32| (x / q.scale).round() + q.zero_point as f32;
        assert!(code(-0.3) >= -128.0 && code(5.7) <= 127.0, "{q:?}");
        assert_eq!(ActQuant::for_range(0.0, 2.55).zero_point, -128);
        assert_eq!(ActQuant::for_range(0.5, 2.55).zero_point, -128);
    }

    #[test]
    fn minmax_keeps_the_outlier_and_the_others_clip_it() {
        let h = histogram_with_outlier();
        assert_eq!(choose_range(&h, Method::MinMax), (-1.0, 100.0));
        for m in [Method::Percentile(99.99), Method::Mse, Method::Entropy] {
            let (lo, hi) = choose_range(&h, m);
            assert!(hi <= 50.0, "{m}: {hi}");
            assert!(hi >= 0.9, "{m}: {hi}");
            assert!(lo <= 0.0, "{m}: {lo}");
        }
    }

    #[test]
    fn method_names_round_trip() {
        for m in ["minmax", "percentile:99.9", "mse", "entropy"] {
            assert_eq!(m.parse::<Method>().unwrap().to_string(), m);
        }
        assert!("percentile:20".parse::<Method>().is_err());
        assert!("kl".parse::<Method>().is_err());
    }
}
