//! The threshold an attempt policy applies: the embedder manifest's
//! per-attempt threshold for the policy's FAR and k-of-n rule, else (with
//! `calibrated` false, for a warning) the manifest's strictest pair threshold.

use crate::model::Manifest;

/// A policy's threshold and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyThreshold {
    /// The cosine threshold.
    pub value: f32,
    /// Enrolled faces an attempt may be compared with.
    pub gallery: usize,
    /// Where it comes from, in words.
    pub source: String,
    /// False when no attempt threshold matched and a pair threshold stands in.
    pub calibrated: bool,
}

/// Galleries assumed for a pair threshold standing in for an attempt threshold.
const UNCALIBRATED_GALLERY: usize = 3;

/// The threshold for FAR `far` under the `k`-of-`n` rule; `None` when the
/// manifest has no threshold at all.
pub fn policy_threshold(
    manifest: &Manifest,
    far: f64,
    k: usize,
    n: usize,
) -> Option<PolicyThreshold> {
    if let Some(t) = manifest.attempt_threshold(far, k, n) {
        return Some(PolicyThreshold {
            value: t.value,
            gallery: t.gallery,
            source: format!(
                "attempt threshold at FAR {:e} for {} of {} frames and galleries of {} ({})",
                t.far, t.k, t.n, t.gallery, t.calibrated_on
            ),
            calibrated: true,
        });
    }
    let strictest = manifest
        .thresholds
        .iter()
        .min_by(|a, b| a.far.total_cmp(&b.far))?;
    Some(PolicyThreshold {
        value: strictest.value,
        gallery: UNCALIBRATED_GALLERY,
        source: format!(
            "pair threshold at FAR {:e} (no attempt calibration)",
            strictest.far
        ),
        calibrated: false,
    })
}
