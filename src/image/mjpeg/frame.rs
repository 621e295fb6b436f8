//! Parses the frame header (SOFn) and derives the MCU layout.

use super::error::JpegError;
use super::markers::{SOF0, SOF1};

use crate::image::MAX_PIXELS;

/// One image component as declared in the frame header.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Component {
    /// Component identifier referenced by scan headers.
    pub id: u8,
    /// Horizontal sampling factor.
    pub h: usize,
    /// Vertical sampling factor.
    pub v: usize,
    /// Quantization table selector.
    pub tq: usize,
}

/// Frame geometry of a supported baseline/extended sequential JPEG.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Frame {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Number of components (1 or 3).
    pub count: usize,
    /// Components in frame order; only the first `count` are used.
    pub comps: [Component; 3],
    /// Largest horizontal sampling factor.
    pub hmax: usize,
    /// Largest vertical sampling factor.
    pub vmax: usize,
    /// MCUs per row in an interleaved scan.
    pub mcus_x: usize,
    /// MCU rows in an interleaved scan.
    pub mcus_y: usize,
}

impl Frame {
    /// Parses an SOFn segment with marker `marker` and `payload`.
    pub(crate) fn parse(marker: u8, payload: &[u8]) -> Result<Frame, JpegError> {
        check_process(marker)?;
        let header = payload
            .get(..6)
            .ok_or(JpegError::Truncated("frame header"))?;
        if header[0] != 8 {
            return Err(JpegError::Unsupported("sample precision other than 8 bits"));
        }
        let height = usize::from(u16::from_be_bytes([header[1], header[2]]));
        let width = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if width == 0 || height == 0 || width * height > MAX_PIXELS {
            return Err(JpegError::BadDimensions { width, height });
        }
        let count = usize::from(header[5]);
        if count != 1 && count != 3 {
            return Err(JpegError::Unsupported(
                "component count other than 1 (grey) or 3 (YCbCr)",
            ));
        }
        let specs = payload
            .get(6..6 + 3 * count)
            .ok_or(JpegError::Truncated("frame header"))?;
        let mut frame = Frame {
            width,
            height,
            count,
            ..Frame::default()
        };
        for (i, spec) in specs.chunks_exact(3).enumerate() {
            let comp = Component {
                id: spec[0],
                h: usize::from(spec[1] >> 4),
                v: usize::from(spec[1] & 0x0F),
                tq: usize::from(spec[2]),
            };
            if !(1..=4).contains(&comp.h) || !(1..=4).contains(&comp.v) {
                return Err(JpegError::Invalid("sampling factor outside 1..=4"));
            }
            if comp.tq > 3 {
                return Err(JpegError::Invalid("quantization table selector above 3"));
            }
            if frame.comps[..i].iter().any(|c| c.id == comp.id) {
                return Err(JpegError::Invalid("duplicate component identifier"));
            }
            frame.comps[i] = comp;
        }
        frame.hmax = frame.comps[..count].iter().map(|c| c.h).max().unwrap_or(1);
        frame.vmax = frame.comps[..count].iter().map(|c| c.v).max().unwrap_or(1);
        frame.check_sampling()?;
        frame.mcus_x = width.div_ceil(8 * frame.hmax);
        frame.mcus_y = height.div_ceil(8 * frame.vmax);
        Ok(frame)
    }

    /// Width in samples of component `i` (before padding to whole blocks).
    pub(crate) fn comp_width(&self, i: usize) -> usize {
        (self.width * self.comps[i].h).div_ceil(self.hmax)
    }

    /// Height in samples of component `i` (before padding to whole blocks).
    pub(crate) fn comp_height(&self, i: usize) -> usize {
        (self.height * self.comps[i].v).div_ceil(self.vmax)
    }

    /// Row stride of component `i`'s plane, padded to whole MCUs.
    pub(crate) fn plane_stride(&self, i: usize) -> usize {
        self.mcus_x * self.comps[i].h * 8
    }

    /// Row count of component `i`'s plane, padded to whole MCUs.
    pub(crate) fn plane_rows(&self, i: usize) -> usize {
        self.mcus_y * self.comps[i].v * 8
    }

    /// Upsampling ratio (horizontal, vertical) of component `i` to full resolution.
    pub(crate) fn ratio(&self, i: usize) -> (usize, usize) {
        (self.hmax / self.comps[i].h, self.vmax / self.comps[i].v)
    }

    /// Accepts full-resolution luma and chroma at full or half resolution per axis.
    fn check_sampling(&self) -> Result<(), JpegError> {
        let luma = self.comps[0];
        if luma.h != self.hmax || luma.v != self.vmax {
            return Err(JpegError::Unsupported(
                "luma sampled below chroma resolution",
            ));
        }
        for c in &self.comps[1..self.count] {
            let exact = self.hmax % c.h == 0 && self.vmax % c.v == 0;
            let (rh, rv) = (self.hmax / c.h, self.vmax / c.v);
            if !exact || rh > 2 || rv > 2 {
                return Err(JpegError::Unsupported(
                    "chroma subsampling other than 4:4:4, 4:2:2, 4:2:0 or 4:4:0",
                ));
            }
        }
        Ok(())
    }
}

/// Rejects every SOFn other than SOF0/SOF1 with a message naming the process.
fn check_process(marker: u8) -> Result<(), JpegError> {
    match marker {
        SOF0 | SOF1 => Ok(()),
        0xC2 | 0xC6 => Err(JpegError::Unsupported("progressive DCT")),
        0xC3 | 0xC7 => Err(JpegError::Unsupported("lossless JPEG")),
        0xC5 => Err(JpegError::Unsupported("hierarchical JPEG")),
        0xC9..=0xCB | 0xCD..=0xCF => Err(JpegError::Unsupported("arithmetic coding")),
        _ => Err(JpegError::Invalid("not a start-of-frame marker")),
    }
}

/// True for every SOFn marker (SOF0..SOF15 except DHT, JPG and DAC).
pub(crate) fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}
