//! JPEG encoding of RGB images (tracking overlays, their video, snapshots of
//! failed attempts): one encoder, one error.

use super::RgbImage;

/// Encodes `img` as a baseline JPEG at `quality` into `out` (replacing what
/// was there, reusing its allocation).
pub fn encode_jpeg(img: &RgbImage, quality: u8, out: &mut Vec<u8>) -> Result<(), String> {
    let (Ok(w), Ok(h)) = (u16::try_from(img.width), u16::try_from(img.height)) else {
        return Err(format!(
            "{}x{} is larger than JPEG's 65535x65535",
            img.width, img.height
        ));
    };
    out.clear();
    jpeg_encoder::Encoder::new(&mut *out, quality)
        .encode(&img.data, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| e.to_string())
}
