//! The frame quality gate: too dark or over-exposed frames, and blurred
//! faces, never count toward acceptance (under harsh or dim light
//! embeddings of different people collapse together).

use crate::image::RgbImage;

/// How a frame is exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Usable.
    Ok,
    /// Most pixels in the darkest eighth.
    Dark,
    /// Most pixels in the brightest eighth.
    Bright,
}

/// Share of sampled pixels in the extreme eighth above which a frame is refused (Howdy uses 60 %).
const EXTREME_SHARE: f32 = 0.6;

/// Classifies a frame's exposure from the luma of every 4th pixel of every 4th row.
pub fn exposure(img: &RgbImage) -> Exposure {
    let (mut dark, mut bright, mut n) = (0u32, 0u32, 0u32);
    for y in (0..img.height).step_by(4) {
        let row = &img.data[y * img.width * 3..(y + 1) * img.width * 3];
        for px in row.chunks_exact(3).step_by(4) {
            let l = (77 * px[0] as u32 + 150 * px[1] as u32 + 29 * px[2] as u32) >> 8;
            dark += (l < 32) as u32;
            bright += (l >= 224) as u32;
            n += 1;
        }
    }
    let n = n.max(1) as f32;
    if dark as f32 / n > EXTREME_SHARE {
        Exposure::Dark
    } else if bright as f32 / n > EXTREME_SHARE {
        Exposure::Bright
    } else {
        Exposure::Ok
    }
}

/// Sharpness of an aligned face: the variance of the 4-neighbour Laplacian
/// of its luma (low = blurred).
pub fn sharpness(face: &RgbImage) -> f32 {
    let (w, h) = (face.width, face.height);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let luma = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        (77 * face.data[i] as i32 + 150 * face.data[i + 1] as i32 + 29 * face.data[i + 2] as i32)
            >> 8
    };
    let (mut sum, mut sum2, mut n) = (0f64, 0f64, 0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let l = (luma(x - 1, y) + luma(x + 1, y) + luma(x, y - 1) + luma(x, y + 1)
                - 4 * luma(x, y)) as f64;
            sum += l;
            sum2 += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum2 / n - mean * mean) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(v: u8) -> RgbImage {
        RgbImage {
            width: 64,
            height: 48,
            data: vec![v; 64 * 48 * 3],
        }
    }

    #[test]
    fn dark_bright_and_usable_frames() {
        assert_eq!(exposure(&flat(10)), Exposure::Dark);
        assert_eq!(exposure(&flat(250)), Exposure::Bright);
        assert_eq!(exposure(&flat(120)), Exposure::Ok);
    }

    #[test]
    fn a_checkerboard_is_sharper_than_a_flat_face() {
        let mut board = flat(0);
        for (i, px) in board.data.chunks_exact_mut(3).enumerate() {
            if (i % 64 + i / 64) % 2 == 0 {
                px.fill(255);
            }
        }
        assert!(sharpness(&board) > 1000.0);
        assert_eq!(sharpness(&flat(128)), 0.0);
    }
}
