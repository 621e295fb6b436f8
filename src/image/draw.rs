//! Drawing on frames: box outlines for tracking overlays.

use super::RgbImage;

/// Draws the outline of the box `x, y, w, h` (`thickness` pixels, inside
/// the box) in `colour`, clipped to the image.
pub fn draw_box(
    img: &mut RgbImage,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    colour: [u8; 3],
    thickness: usize,
) {
    let (iw, ih) = (img.width as i64, img.height as i64);
    let x0 = x.round() as i64;
    let y0 = y.round() as i64;
    let x1 = (x + w).round() as i64 - 1;
    let y1 = (y + h).round() as i64 - 1;
    let t = thickness.max(1) as i64;
    let mut put = |px: i64, py: i64| {
        if px >= 0 && py >= 0 && px < iw && py < ih {
            let i = (py as usize * img.width + px as usize) * 3;
            img.data[i..i + 3].copy_from_slice(&colour);
        }
    };
    for py in y0..=y1 {
        for px in x0..=x1 {
            let edge = px - x0 < t || x1 - px < t || py - y0 < t || y1 - py < t;
            if edge {
                put(px, py);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outline_is_drawn_and_clipped() {
        let mut img = RgbImage::new(6, 6);
        draw_box(&mut img, 1.0, 1.0, 4.0, 4.0, [255, 0, 0], 1);
        let red = |x: usize, y: usize| img.data[(y * 6 + x) * 3] == 255;
        assert!(red(1, 1) && red(4, 4) && red(1, 3) && red(4, 2));
        assert!(!red(2, 2) && !red(0, 0) && !red(5, 5));
        draw_box(&mut img, -3.0, -3.0, 20.0, 20.0, [0, 255, 0], 2);
    }
}
