//! The per-frame cost of turning camera frames into images: YUYV and MJPEG
//! (4:2:2, as USB cameras send it) to RGB and to grey, on synthetic frames
//! made here, so that a board needs no sample files.

use serde::{Deserialize, Serialize};

use super::{measure, Latency};
use crate::image::{FrameConverter, FrameInfo, GreyImage, PixelFormat, RgbImage};

/// Frame sizes timed: VGA and 720p.
pub const FRAME_SIZES: [(usize, usize); 2] = [(640, 480), (1280, 720)];

/// Latency of one conversion at one frame size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FrameCost {
    /// E.g. `YUYV -> RGB`.
    pub conversion: String,
    /// Frame width.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// Bytes of the source frame (compressed size for MJPEG).
    pub frame_bytes: usize,
    /// Its percentiles.
    pub latency: Latency,
}

/// A synthetic camera frame: a gradient with a bar and some texture, in `format`.
pub fn synthetic_frame(format: PixelFormat, width: usize, height: usize) -> Vec<u8> {
    let rgb: Vec<u8> = (0..width * height)
        .flat_map(|i| {
            let (x, y) = (i % width, i / width);
            let bar = if (x / 40) % 4 == 0 { 90 } else { 0 };
            let noise = ((x * 7919 + y * 104_729) % 23) as u8;
            [
                ((x * 255 / width) as u8).wrapping_add(noise),
                ((y * 255 / height) as u8).wrapping_add(bar),
                (((x + y) * 255 / (width + height)) as u8) ^ noise,
            ]
        })
        .collect();
    match format {
        PixelFormat::Rgb24 => rgb,
        PixelFormat::Grey => rgb.chunks_exact(3).map(|p| p[1]).collect(),
        PixelFormat::Yuyv => rgb
            .chunks_exact(6)
            .flat_map(|p| {
                let y = |r: u8, g: u8, b: u8| {
                    (16 + (66 * r as u32 + 129 * g as u32 + 25 * b as u32) / 256) as u8
                };
                let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
                let u = (128 + (-38 * r - 74 * g + 112 * b) / 256) as u8;
                let v = (128 + (112 * r - 94 * g - 18 * b) / 256) as u8;
                [y(p[0], p[1], p[2]), u, y(p[3], p[4], p[5]), v]
            })
            .collect(),
        PixelFormat::Mjpeg => {
            let mut jpeg = Vec::new();
            let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 85);
            enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_2);
            enc.encode(
                &rgb,
                width as u16,
                height as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .expect("encoding a synthetic frame into memory cannot fail");
            jpeg
        }
    }
}

/// Times YUYV and MJPEG to RGB and to grey at every size in [`FRAME_SIZES`].
pub fn frame_costs(warmup: usize, runs: usize) -> Vec<FrameCost> {
    let mut converter = FrameConverter::new();
    let (mut rgb, mut grey) = (RgbImage::default(), GreyImage::default());
    let mut costs = Vec::new();
    for (width, height) in FRAME_SIZES {
        for format in [PixelFormat::Yuyv, PixelFormat::Mjpeg] {
            let frame = synthetic_frame(format, width, height);
            let info = FrameInfo {
                format,
                width,
                height,
                sequence: 0,
                timestamp: std::time::Duration::ZERO,
            };
            for to_grey in [false, true] {
                let latency = measure(warmup, runs, || {
                    if to_grey {
                        converter.to_grey(&frame, &info, &mut grey)
                    } else {
                        converter.to_rgb(&frame, &info, &mut rgb)
                    }
                })
                .expect("synthetic frames always convert");
                costs.push(FrameCost {
                    conversion: format!("{format} -> {}", if to_grey { "grey" } else { "RGB" }),
                    width,
                    height,
                    frame_bytes: frame.len(),
                    latency,
                });
            }
        }
    }
    costs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_conversion_is_timed_at_both_sizes() {
        let costs = frame_costs(0, 2);
        assert_eq!(costs.len(), 8);
        for c in &costs {
            assert_eq!(c.latency.runs, 2, "{c:?}");
        }
        let mjpeg = costs
            .iter()
            .find(|c| c.conversion == "MJPG -> RGB")
            .unwrap();
        assert!(
            mjpeg.frame_bytes < 640 * 480 * 2,
            "compressed: {}",
            mjpeg.frame_bytes
        );
    }

    #[test]
    fn synthetic_mjpeg_decodes_as_the_reference_decoder_reads_it() {
        let jpeg = synthetic_frame(PixelFormat::Mjpeg, 64, 32);
        let rgb = crate::image::decode(&jpeg).unwrap().data;
        let info = FrameInfo {
            format: PixelFormat::Mjpeg,
            width: 64,
            height: 32,
            sequence: 0,
            timestamp: std::time::Duration::ZERO,
        };
        let mut out = RgbImage::default();
        FrameConverter::new()
            .to_rgb(&jpeg, &info, &mut out)
            .unwrap();
        let mean_err = out
            .data
            .iter()
            .zip(&rgb)
            .map(|(a, b)| (*a as f64 - *b as f64).abs())
            .sum::<f64>()
            / rgb.len() as f64;
        assert!(
            mean_err < 1.0,
            "mean abs difference to zune-jpeg {mean_err}"
        );
    }
}
