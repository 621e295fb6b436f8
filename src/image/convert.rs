//! Camera frames to RGB or grey images: YUYV (BT.601 video range), MJPEG,
//! GREY and RGB3, each into an image made once and reused, so that a camera
//! loop allocates nothing per frame.

use super::frame::{FrameInfo, PixelFormat};
use super::mjpeg::{JpegError, MjpegDecoder};
use super::{GreyImage, RgbImage};

/// Why a frame could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// An uncompressed frame holds fewer bytes than its size needs.
    #[error("{format} frame {width}x{height} needs {expected} bytes, got {got} (truncated frame)")]
    Truncated {
        /// The frame's pixel format.
        format: PixelFormat,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Bytes the size needs.
        expected: usize,
        /// Bytes the frame holds.
        got: usize,
    },
    /// YUYV packs two pixels per 4 bytes: the width must be even.
    #[error("YUYV frame width {0} is odd")]
    OddWidth(usize),
    /// An MJPEG frame is not a JPEG this decoder reads.
    #[error("MJPEG frame: {0}")]
    Jpeg(#[from] JpegError),
}

/// Converts frames of any [`PixelFormat`]; holds the JPEG decoder's buffers between frames.
#[derive(Default)]
pub struct FrameConverter {
    jpeg: MjpegDecoder,
}

impl std::fmt::Debug for FrameConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameConverter").finish_non_exhaustive()
    }
}

impl FrameConverter {
    /// A converter with empty buffers (they grow on the first frame).
    pub fn new() -> FrameConverter {
        FrameConverter::default()
    }

    /// Converts one frame to RGB into `out`, reusing its allocation.
    pub fn to_rgb(
        &mut self,
        bytes: &[u8],
        info: &FrameInfo,
        out: &mut RgbImage,
    ) -> Result<(), ConvertError> {
        let (w, h) = (info.width, info.height);
        match info.format {
            PixelFormat::Mjpeg => {
                let got = self.jpeg.decode_rgb(bytes, &mut out.data)?;
                out.width = got.width;
                out.height = got.height;
            }
            PixelFormat::Yuyv => {
                let src = packed(bytes, info)?;
                out.reshape(w, h);
                yuyv_to_rgb(src, &mut out.data);
            }
            PixelFormat::Grey => {
                let src = packed(bytes, info)?;
                out.reshape(w, h);
                for (px, &g) in out.data.chunks_exact_mut(3).zip(src) {
                    px.fill(g);
                }
            }
            PixelFormat::Rgb24 => {
                let src = packed(bytes, info)?;
                out.reshape(w, h);
                out.data.copy_from_slice(src);
            }
        }
        Ok(())
    }

    /// Converts one frame to grey (full-range luminance) into `out`, reusing its allocation.
    /// MJPEG frames decode their luma plane only.
    pub fn to_grey(
        &mut self,
        bytes: &[u8],
        info: &FrameInfo,
        out: &mut GreyImage,
    ) -> Result<(), ConvertError> {
        let (w, h) = (info.width, info.height);
        match info.format {
            PixelFormat::Mjpeg => {
                let got = self.jpeg.decode_grey(bytes, &mut out.data)?;
                out.width = got.width;
                out.height = got.height;
            }
            PixelFormat::Yuyv => {
                let src = packed(bytes, info)?;
                out.reshape(w, h);
                for (g, pair) in out.data.chunks_exact_mut(2).zip(src.chunks_exact(4)) {
                    g[0] = video_luma(pair[0]);
                    g[1] = video_luma(pair[2]);
                }
            }
            PixelFormat::Grey => {
                let src = packed(bytes, info)?;
                out.reshape(w, h);
                out.data.copy_from_slice(src);
            }
            PixelFormat::Rgb24 => {
                let src = packed(bytes, info)?;
                out.reshape(w, h);
                for (g, px) in out.data.iter_mut().zip(src.chunks_exact(3)) {
                    *g = rgb_luma(px[0], px[1], px[2]);
                }
            }
        }
        Ok(())
    }
}

/// The bytes of an uncompressed frame, checked against its declared size.
fn packed<'a>(bytes: &'a [u8], info: &FrameInfo) -> Result<&'a [u8], ConvertError> {
    if info.format == PixelFormat::Yuyv && info.width % 2 == 1 {
        return Err(ConvertError::OddWidth(info.width));
    }
    let expected = info
        .format
        .frame_bytes(info.width, info.height)
        .unwrap_or(0);
    bytes.get(..expected).ok_or(ConvertError::Truncated {
        format: info.format,
        width: info.width,
        height: info.height,
        expected,
        got: bytes.len(),
    })
}

/// BT.601 video-range YUYV to full-range RGB (8-bit fixed point, rounded).
fn yuyv_to_rgb(src: &[u8], rgb: &mut [u8]) {
    for (px, q) in rgb.chunks_exact_mut(6).zip(src.chunks_exact(4)) {
        let (d, e) = (q[1] as i32 - 128, q[3] as i32 - 128);
        let (rv, guv, bu) = (409 * e + 128, -100 * d - 208 * e + 128, 516 * d + 128);
        for (k, y) in [q[0], q[2]].into_iter().enumerate() {
            let c = 298 * (y as i32 - 16);
            px[3 * k] = clamp8((c + rv) >> 8);
            px[3 * k + 1] = clamp8((c + guv) >> 8);
            px[3 * k + 2] = clamp8((c + bu) >> 8);
        }
    }
}

/// Video-range luma (16..235) stretched to full range, as [`yuyv_to_rgb`] does for grey pixels.
fn video_luma(y: u8) -> u8 {
    clamp8((298 * (y as i32 - 16) + 128) >> 8)
}

/// BT.601 luma of a full-range RGB pixel.
fn rgb_luma(r: u8, g: u8, b: u8) -> u8 {
    ((77 * r as u32 + 150 * g as u32 + 29 * b as u32 + 128) >> 8) as u8
}

fn clamp8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn info(format: PixelFormat, width: usize, height: usize) -> FrameInfo {
        FrameInfo {
            format,
            width,
            height,
            sequence: 0,
            timestamp: Duration::ZERO,
        }
    }

    /// Reference colours: BT.601 video-range YCbCr of black, white and the
    /// 75 % colour bars (ITU-R BT.601 / SMPTE EG 1 values) and their RGB.
    const BARS: [([u8; 3], [u8; 3]); 5] = [
        ([16, 128, 128], [0, 0, 0]),
        ([235, 128, 128], [255, 255, 255]),
        ([65, 100, 212], [191, 0, 0]),
        ([112, 72, 58], [0, 191, 0]),
        ([35, 212, 114], [0, 0, 191]),
    ];

    #[test]
    fn yuyv_colour_bars_convert_to_their_rgb() {
        let mut src = Vec::new();
        for ([y, u, v], _) in BARS {
            src.extend_from_slice(&[y, u, y, v]);
        }
        let mut out = RgbImage::default();
        let mut c = FrameConverter::new();
        c.to_rgb(&src, &info(PixelFormat::Yuyv, 10, 1), &mut out)
            .unwrap();
        for (i, (_, rgb)) in BARS.iter().enumerate() {
            for k in [2 * i, 2 * i + 1] {
                let got = out.pixel(k, 0);
                for ch in 0..3 {
                    assert!(
                        (got[ch] as i32 - rgb[ch] as i32).abs() <= 2,
                        "bar {i}: {got:?} vs {rgb:?}"
                    );
                }
            }
        }
        let mut grey = GreyImage::default();
        c.to_grey(&src, &info(PixelFormat::Yuyv, 10, 1), &mut grey)
            .unwrap();
        assert_eq!(&grey.data[..4], &[0, 0, 255, 255]);
    }

    #[test]
    fn grey_and_rgb_frames_convert_both_ways() {
        let mut c = FrameConverter::new();
        let mut rgb = RgbImage::default();
        c.to_rgb(&[7, 200], &info(PixelFormat::Grey, 2, 1), &mut rgb)
            .unwrap();
        assert_eq!(rgb.data, [7, 7, 7, 200, 200, 200]);
        let mut grey = GreyImage::default();
        c.to_grey(&rgb.data, &info(PixelFormat::Rgb24, 2, 1), &mut grey)
            .unwrap();
        assert_eq!(grey.data, [7, 200]);
        c.to_grey(&[255, 0, 0], &info(PixelFormat::Rgb24, 1, 1), &mut grey)
            .unwrap();
        assert_eq!(grey.data, [77], "BT.601 weight of red: 0.299 * 255");
    }

    #[test]
    fn short_and_odd_frames_are_errors() {
        let mut c = FrameConverter::new();
        let mut rgb = RgbImage::default();
        let e = c
            .to_rgb(&[0; 10], &info(PixelFormat::Yuyv, 4, 2), &mut rgb)
            .unwrap_err();
        assert!(e.to_string().contains("needs 16 bytes, got 10"), "{e}");
        let e = c
            .to_rgb(&[0; 12], &info(PixelFormat::Yuyv, 3, 2), &mut rgb)
            .unwrap_err();
        assert!(e.to_string().contains("odd"), "{e}");
        assert!(c
            .to_rgb(b"not a jpeg", &info(PixelFormat::Mjpeg, 4, 2), &mut rgb)
            .is_err());
    }
}
