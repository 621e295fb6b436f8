//! Preprocessing defined once: an RGB image into a network input tensor, as the
//! manifest says. The runtime, calibration and every evaluation use this.

use super::{ColorOrder, InputLayout, InputSpec};

/// Writes an interleaved 8-bit RGB image (`width * height * 3` bytes) into
/// `out` (`channels * width * height` floats) with the manifest's layout,
/// channel order and normalisation. `out` is a caller-owned, reused buffer.
pub fn fill_input(spec: &InputSpec, rgb: &[u8], width: usize, height: usize, out: &mut [f32]) {
    let plane = width * height;
    debug_assert_eq!(rgb.len(), plane * 3);
    let channels = if spec.color == ColorOrder::Grey { 1 } else { 3 };
    debug_assert_eq!(out.len(), plane * channels);
    for y in 0..height {
        for x in 0..width {
            let p = &rgb[(y * width + x) * 3..][..3];
            let at = match spec.layout {
                InputLayout::Nchw => y * width + x,
                InputLayout::Ncwh => x * height + y,
            };
            match spec.color {
                ColorOrder::Rgb => {
                    for c in 0..3 {
                        out[c * plane + at] = (p[c] as f32 - spec.mean[c]) * spec.scale;
                    }
                }
                ColorOrder::Bgr => {
                    for c in 0..3 {
                        out[c * plane + at] = (p[2 - c] as f32 - spec.mean[c]) * spec.scale;
                    }
                }
                ColorOrder::Grey => {
                    let g = (p[0] as f32 * 0.299 + p[1] as f32 * 0.587 + p[2] as f32 * 0.114)
                        - spec.mean[0];
                    out[at] = g * spec.scale;
                }
            }
        }
    }
}
