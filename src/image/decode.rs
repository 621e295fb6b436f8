//! Image decoding with pure-Rust decoders: JPEG (zune-jpeg), PNG (png) and
//! binary PGM/PPM (P5/P6, as in the ORL face set).

use std::path::{Path, PathBuf};

use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::{RgbImage, MAX_PIXELS};

/// Refuses a claimed size of more than [`MAX_PIXELS`] (or one whose product overflows).
fn check_size(format: &str, width: usize, height: usize) -> Result<(), String> {
    match width.checked_mul(height) {
        Some(n) if n <= MAX_PIXELS => Ok(()),
        _ => Err(format!(
            "{format}: {width}x{height} is larger than the {MAX_PIXELS} pixels an image may have"
        )),
    }
}

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The file could not be read.
    #[error("cannot read image {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The bytes are not a supported or valid image.
    #[error("cannot decode image {what}: {reason}")]
    Decode { what: String, reason: String },
}

/// Reads and decodes the image at `path`.
pub fn load(path: &Path) -> Result<RgbImage, ImageError> {
    let bytes = std::fs::read(path).map_err(|error| ImageError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    decode(&bytes).map_err(|e| match e {
        ImageError::Decode { reason, .. } => ImageError::Decode {
            what: path.display().to_string(),
            reason,
        },
        other => other,
    })
}

/// Decodes JPEG, PNG or PGM/PPM bytes, recognised by their magic numbers.
pub fn decode(bytes: &[u8]) -> Result<RgbImage, ImageError> {
    let err = |reason: String| ImageError::Decode {
        what: "<bytes>".into(),
        reason,
    };
    match bytes {
        [0xFF, 0xD8, ..] => decode_jpeg(bytes).map_err(err),
        [0x89, b'P', b'N', b'G', ..] => decode_png(bytes).map_err(err),
        [b'P', b'5' | b'6', ..] => decode_pnm(bytes).map_err(err),
        _ => Err(err("not a JPEG, PNG or binary PGM/PPM file".into())),
    }
}

/// Refuses the chroma layouts zune-jpeg 0.4 cannot decode and panics on
/// (found by fuzzing: a chroma component sampled more finely than luma):
/// every factor 1 or 2, chroma no finer than luma and all chroma alike.
fn check_sampling(bytes: &[u8]) -> Result<(), String> {
    let Some(factors) = super::mjpeg::sampling_factors(bytes) else {
        return Ok(());
    };
    let supported = match factors.as_slice() {
        [(h, v)] => (1..=2).contains(h) && (1..=2).contains(v),
        [(lh, lv), chroma @ ..] => {
            (1..=2).contains(lh)
                && (1..=2).contains(lv)
                && chroma.iter().all(|&(h, v)| {
                    (h, v) == chroma[0]
                        && h >= 1
                        && v >= 1
                        && h <= *lh
                        && v <= *lv
                        && lh % h == 0
                        && lv % v == 0
                })
        }
        [] => false,
    };
    if supported {
        Ok(())
    } else {
        Err(format!("JPEG: unsupported component sampling {factors:?}"))
    }
}

fn decode_jpeg(bytes: &[u8]) -> Result<RgbImage, String> {
    check_sampling(bytes)?;
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(8192)
        .set_max_height(8192);
    let mut decoder = JpegDecoder::new_with_options(bytes, options);
    decoder
        .decode_headers()
        .map_err(|e| format!("JPEG: {e:?}"))?;
    let header = decoder.info().ok_or("JPEG: no header")?;
    check_size("JPEG", header.width as usize, header.height as usize)?;
    let data = decoder.decode().map_err(|e| format!("JPEG: {e:?}"))?;
    let info = decoder.info().ok_or("JPEG: no header")?;
    let (width, height) = (info.width as usize, info.height as usize);
    match data.len() / (width * height).max(1) {
        3 => Ok(RgbImage {
            width,
            height,
            data,
        }),
        1 => Ok(RgbImage::from_grey(width, height, &data)),
        _ => Err(format!("JPEG: {} bytes for {width}x{height}", data.len())),
    }
}

fn decode_png(bytes: &[u8]) -> Result<RgbImage, String> {
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("PNG: {e}"))?;
    let header = reader.info();
    check_size("PNG", header.width as usize, header.height as usize)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("PNG: {e}"))?;
    let (width, height) = (frame.width as usize, frame.height as usize);
    let pixels = &buf[..frame.buffer_size()];
    let data = match frame.color_type {
        png::ColorType::Grayscale => pixels.iter().flat_map(|&g| [g, g, g]).collect(),
        png::ColorType::GrayscaleAlpha => {
            pixels.chunks(2).flat_map(|p| [p[0], p[0], p[0]]).collect()
        }
        png::ColorType::Rgb => pixels.to_vec(),
        png::ColorType::Rgba => pixels.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Indexed => return Err("PNG: palette left unexpanded".into()),
    };
    Ok(RgbImage {
        width,
        height,
        data,
    })
}

fn decode_pnm(bytes: &[u8]) -> Result<RgbImage, String> {
    let channels = if bytes[1] == b'5' { 1 } else { 3 };
    let mut fields = Vec::with_capacity(3);
    let mut i = 2;
    while fields.len() < 3 {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err("PNM: truncated header".into());
        }
        let text = std::str::from_utf8(&bytes[start..i]).map_err(|e| e.to_string())?;
        fields.push(
            text.parse::<usize>()
                .map_err(|e| format!("PNM header: {e}"))?,
        );
    }
    let (width, height, maxval) = (fields[0], fields[1], fields[2]);
    if maxval == 0 || maxval > 255 {
        return Err(format!("PNM: maxval {maxval} unsupported (8-bit only)"));
    }
    check_size("PNM", width, height)?;
    let body = bytes.get(i + 1..).ok_or("PNM: no pixel data")?;
    let n = width * height * channels;
    if body.len() < n {
        return Err(format!("PNM: truncated: {} of {n} pixel bytes", body.len()));
    }
    let body = &body[..n];
    let stretch = |v: u8| ((v as usize * 255 + maxval / 2) / maxval) as u8;
    Ok(if channels == 1 {
        let grey: Vec<u8> = body.iter().map(|&v| stretch(v)).collect();
        RgbImage::from_grey(width, height, &grey)
    } else {
        RgbImage {
            width,
            height,
            data: body.iter().map(|&v| stretch(v)).collect(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_size_beyond_the_limit_is_refused_before_allocating() {
        for header in [&b"P5\n100000 100000\n255\n"[..], b"P6\n4294967295 2\n255\n"] {
            let e = decode(header).unwrap_err().to_string();
            assert!(e.contains("larger than the 67108864 pixels"), "{e}");
        }
        let mut png = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png, 9000, 9000);
            enc.set_color(png::ColorType::Grayscale);
            let mut w = enc.write_header().unwrap();
            w.write_chunk(png::chunk::IDAT, &[0x78, 0x9c, 0x03, 0x00])
                .unwrap();
        }
        let e = decode(&png).unwrap_err().to_string();
        assert!(e.contains("9000x9000 is larger"), "{e}");
    }

    #[test]
    fn pgm_with_comment_decodes_to_grey_rgb() {
        let mut bytes = b"P5\n# a comment\n2 1\n255\n".to_vec();
        bytes.extend_from_slice(&[10, 200]);
        let img = decode(&bytes).unwrap();
        assert_eq!((img.width, img.height), (2, 1));
        assert_eq!(img.data, vec![10, 10, 10, 200, 200, 200]);
    }

    #[test]
    fn truncated_pgm_is_an_error() {
        let bytes = b"P5 4 4 255\n\x01\x02".to_vec();
        let e = decode(&bytes).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn unknown_bytes_are_refused() {
        assert!(decode(b"GIF89a....").is_err());
    }

    #[test]
    fn png_round_trip() {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 2, 2);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
                .unwrap();
        }
        let img = decode(&out).unwrap();
        assert_eq!(img.data, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    }
}
