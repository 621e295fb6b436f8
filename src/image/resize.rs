//! Bilinear resizing and crop-and-resize, into caller-owned buffers.

use super::RgbImage;

/// What a sample outside the image reads.
#[derive(Clone, Copy)]
pub(super) enum Border {
    /// The nearest edge pixel.
    Clamp,
    /// Black.
    Zero,
}

/// Bilinear sample at continuous pixel coordinates (pixel centres at integers).
pub(super) fn sample(src: &RgbImage, x: f32, y: f32, border: Border) -> [f32; 3] {
    let x0 = x.floor();
    let y0 = y.floor();
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let mut acc = [0f32; 3];
    for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
        for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
            let w = wx * wy;
            if w == 0.0 {
                continue;
            }
            let (mut px, mut py) = (x0 + dx, y0 + dy);
            let inside = px >= 0 && py >= 0 && px < src.width as i64 && py < src.height as i64;
            if !inside {
                match border {
                    Border::Zero => continue,
                    Border::Clamp => {
                        px = px.clamp(0, src.width as i64 - 1);
                        py = py.clamp(0, src.height as i64 - 1);
                    }
                }
            }
            let i = (py as usize * src.width + px as usize) * 3;
            for c in 0..3 {
                acc[c] += w * src.data[i + c] as f32;
            }
        }
    }
    acc
}

fn store(out: &mut [u8], v: [f32; 3]) {
    for c in 0..3 {
        out[c] = (v[c] + 0.5).clamp(0.0, 255.0) as u8;
    }
}

/// Resizes `src` to `width x height` into `out` (half-pixel-centre bilinear;
/// a 2x2 box pre-filter is applied per halving so large reductions do not alias).
pub fn resize_bilinear(src: &RgbImage, width: usize, height: usize, out: &mut RgbImage) {
    out.reshape(width, height);
    let sx = src.width as f32 / width as f32;
    let sy = src.height as f32 / height as f32;
    for v in 0..height {
        let y = (v as f32 + 0.5) * sy - 0.5;
        for u in 0..width {
            let x = (u as f32 + 0.5) * sx - 0.5;
            let p = if sx >= 2.0 || sy >= 2.0 {
                box_sample(src, x, y, sx, sy)
            } else {
                sample(src, x, y, Border::Clamp)
            };
            store(&mut out.data[(v * width + u) * 3..][..3], p);
        }
    }
}

/// Averages bilinear samples over the footprint of one output pixel.
fn box_sample(src: &RgbImage, x: f32, y: f32, sx: f32, sy: f32) -> [f32; 3] {
    let nx = sx.ceil() as usize;
    let ny = sy.ceil() as usize;
    let mut acc = [0f32; 3];
    for j in 0..ny {
        let yy = y - sy / 2.0 + (j as f32 + 0.5) * sy / ny as f32;
        for i in 0..nx {
            let xx = x - sx / 2.0 + (i as f32 + 0.5) * sx / nx as f32;
            let p = sample(src, xx, yy, Border::Clamp);
            for c in 0..3 {
                acc[c] += p[c];
            }
        }
    }
    let n = (nx * ny) as f32;
    [acc[0] / n, acc[1] / n, acc[2] / n]
}

/// Cuts the box `[x1, y1, x2, y2]` (inclusive pixel corners, may reach outside
/// the image, which reads black) and resizes it to `size x size` into `out`.
pub fn crop_resize(src: &RgbImage, b: [f32; 4], size: usize, out: &mut RgbImage) {
    out.reshape(size, size);
    let bw = b[2] - b[0] + 1.0;
    let bh = b[3] - b[1] + 1.0;
    let (sx, sy) = (bw / size as f32, bh / size as f32);
    for v in 0..size {
        let y = b[1] + (v as f32 + 0.5) * sy - 0.5;
        for u in 0..size {
            let x = b[0] + (u as f32 + 0.5) * sx - 0.5;
            store(
                &mut out.data[(v * size + u) * 3..][..3],
                sample(src, x, y, Border::Zero),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> RgbImage {
        let mut img = RgbImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 3;
                img.data[i] = (x * 10) as u8;
                img.data[i + 1] = (y * 10) as u8;
            }
        }
        img
    }

    #[test]
    fn identity_resize_keeps_pixels() {
        let src = gradient(8, 6);
        let mut out = RgbImage::default();
        resize_bilinear(&src, 8, 6, &mut out);
        assert_eq!(out, src);
    }

    #[test]
    fn downscale_by_two_averages_neighbours() {
        let src = gradient(8, 8);
        let mut out = RgbImage::default();
        resize_bilinear(&src, 4, 4, &mut out);
        // output pixel 1 covers source columns 2 and 3: red 20 and 30.
        assert_eq!(out.pixel(1, 0)[0], 25);
    }

    #[test]
    fn crop_outside_reads_black() {
        let src = gradient(4, 4);
        let mut out = RgbImage::default();
        crop_resize(&src, [-4.0, -4.0, -1.0, -1.0], 4, &mut out);
        assert!(out.data.iter().all(|&v| v == 0));
        crop_resize(&src, [0.0, 0.0, 3.0, 3.0], 4, &mut out);
        assert_eq!(out, src);
    }
}
