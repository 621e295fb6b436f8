//! Shared helpers for the integration tests: synthetic images, encoding, reference decoding.
#![allow(dead_code)]

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// Kinds of synthetic test pictures.
#[derive(Debug, Clone, Copy)]
pub enum Pattern {
    Gradient,
    Noise,
    Shapes,
}

/// Chroma sampling of an encoded test frame (`Grey` has no chroma).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    Grey,
    S444,
    S422,
    S420,
    S440,
}

pub const ALL_SAMPLINGS: [Sampling; 5] = [
    Sampling::Grey,
    Sampling::S444,
    Sampling::S422,
    Sampling::S420,
    Sampling::S440,
];

/// Tiny deterministic xorshift generator.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// An RGB picture of `pattern` at `w`x`h`; `seed` varies the content.
pub fn rgb_image(pattern: Pattern, w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x1234_5678_9ABC_DEF1) | 1);
    let mut px = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let rgb = match pattern {
                Pattern::Gradient => {
                    let fx = x * 255 / w.max(2).saturating_sub(1).max(1);
                    let fy = y * 255 / h.max(2).saturating_sub(1).max(1);
                    [
                        fx as u8,
                        fy as u8,
                        ((fx + fy + seed as usize * 40) / 2) as u8,
                    ]
                }
                Pattern::Noise => {
                    let r = rng.next();
                    [r as u8, (r >> 8) as u8, (r >> 16) as u8]
                }
                Pattern::Shapes => shapes(x, y, w, h, seed),
            };
            px.extend_from_slice(&rgb);
        }
    }
    px
}

/// Coloured disc and rectangle on a two-tone background.
fn shapes(x: usize, y: usize, w: usize, h: usize, seed: u64) -> [u8; 3] {
    let (cx, cy, r) = (
        w as i64 / 3 + seed as i64,
        h as i64 / 2,
        (w.min(h) as i64 / 3).max(1),
    );
    let (dx, dy) = (x as i64 - cx, y as i64 - cy);
    if dx * dx + dy * dy <= r * r {
        [220, 30, 40]
    } else if x > w * 5 / 8 && x < w * 7 / 8 && y > h / 5 && y < h * 4 / 5 {
        [30, 60, 210]
    } else if (x / 8 + y / 8) % 2 == 0 {
        [240, 230, 60]
    } else {
        [20, 140, 70]
    }
}

/// Encodes `rgb` with jpeg-encoder (standard Annex K Huffman tables unless `optimize`).
pub fn encode(
    rgb: &[u8],
    w: usize,
    h: usize,
    sampling: Sampling,
    quality: u8,
    restart: u16,
    optimize: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_restart_interval(restart);
    enc.set_optimized_huffman_tables(optimize);
    let (data, color) = match sampling {
        Sampling::Grey => (to_grey(rgb), ColorType::Luma),
        _ => (rgb.to_vec(), ColorType::Rgb),
    };
    enc.set_sampling_factor(match sampling {
        Sampling::Grey | Sampling::S444 => SamplingFactor::R_4_4_4,
        Sampling::S422 => SamplingFactor::R_4_2_2,
        Sampling::S420 => SamplingFactor::R_4_2_0,
        Sampling::S440 => SamplingFactor::R_4_4_0,
    });
    enc.encode(&data, w as u16, h as u16, color)
        .expect("encode");
    out
}

/// BT.601 luma of an RGB picture.
pub fn to_grey(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| ((77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32 + 128) >> 8) as u8)
        .collect()
}

/// Decodes with zune-jpeg into `space` (RGB or Luma).
pub fn zune_decode(jpeg: &[u8], space: ColorSpace) -> Vec<u8> {
    let opts = DecoderOptions::default().jpeg_set_out_colorspace(space);
    JpegDecoder::new_with_options(jpeg, opts)
        .decode()
        .expect("zune decode")
}

/// (max, mean) absolute difference of two equally long byte slices.
pub fn diff(a: &[u8], b: &[u8]) -> (u8, f64) {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let mut max = 0u8;
    let mut sum = 0u64;
    for (&x, &y) in a.iter().zip(b) {
        let d = x.abs_diff(y);
        max = max.max(d);
        sum += u64::from(d);
    }
    (max, sum as f64 / a.len().max(1) as f64)
}

/// Like [`diff`] for RGB pictures `w` pixels wide, ignoring pixel column `skip_col`.
pub fn diff_rgb_skipping(a: &[u8], b: &[u8], w: usize, skip_col: Option<usize>) -> (u8, f64) {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let keep = |i: &usize| Some(i / 3 % w) != skip_col;
    let a: Vec<u8> = a
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(i))
        .map(|(_, &v)| v)
        .collect();
    let b: Vec<u8> = b
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(i))
        .map(|(_, &v)| v)
        .collect();
    diff(&a, &b)
}

/// Removes every DHT segment from a JPEG stream.
pub fn strip_dht(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF {
        let marker = jpeg[pos + 1];
        let len = u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]) as usize;
        if marker != 0xC4 {
            out.extend_from_slice(&jpeg[pos..pos + 2 + len]);
        }
        pos += 2 + len;
        if marker == 0xDA {
            break;
        }
    }
    out.extend_from_slice(&jpeg[pos..]);
    out
}
