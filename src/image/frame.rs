//! Camera frames as they arrive: pixel formats (V4L2 FourCCs) and per-frame facts.

use std::fmt;
use std::time::Duration;

/// The pixel formats siamedge captures and converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Motion JPEG: each frame one JPEG image (`MJPG`).
    Mjpeg,
    /// Packed 4:2:2 `Y0 U Y1 V`, BT.601 video range (`YUYV`).
    Yuyv,
    /// 8-bit luminance, full range, as IR cameras deliver (`GREY`).
    Grey,
    /// Packed 8-bit `R G B` (`RGB3`).
    Rgb24,
}

impl PixelFormat {
    /// Every format, in the order a camera is asked for them when the configured one is missing.
    pub const ALL: [PixelFormat; 4] = [
        PixelFormat::Mjpeg,
        PixelFormat::Yuyv,
        PixelFormat::Grey,
        PixelFormat::Rgb24,
    ];

    /// The V4L2 FourCC code.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            PixelFormat::Mjpeg => *b"MJPG",
            PixelFormat::Yuyv => *b"YUYV",
            PixelFormat::Grey => *b"GREY",
            PixelFormat::Rgb24 => *b"RGB3",
        }
    }

    /// The format with this FourCC, if siamedge handles it.
    pub fn from_fourcc(code: &[u8]) -> Option<PixelFormat> {
        PixelFormat::ALL.into_iter().find(|f| f.fourcc() == code)
    }

    /// The FourCC as text, e.g. `"YUYV"`.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Mjpeg => "MJPG",
            PixelFormat::Yuyv => "YUYV",
            PixelFormat::Grey => "GREY",
            PixelFormat::Rgb24 => "RGB3",
        }
    }

    /// Bytes of one uncompressed frame, or `None` for a compressed format.
    pub fn frame_bytes(self, width: usize, height: usize) -> Option<usize> {
        match self {
            PixelFormat::Mjpeg => None,
            PixelFormat::Yuyv => Some(width * height * 2),
            PixelFormat::Grey => Some(width * height),
            PixelFormat::Rgb24 => Some(width * height * 3),
        }
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for PixelFormat {
    type Err = String;

    /// Parses a FourCC name: `MJPG`, `YUYV`, `GREY` or `RGB3`.
    fn from_str(s: &str) -> Result<PixelFormat, String> {
        PixelFormat::from_fourcc(s.as_bytes())
            .ok_or_else(|| format!("unknown pixel format {s:?}: use MJPG, YUYV, GREY or RGB3"))
    }
}

/// What a frame source says about one frame; the bytes travel separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// How the bytes encode the pixels.
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The source's frame counter (the driver's sequence number for a camera).
    pub sequence: u64,
    /// When the frame was captured, on the source's clock (the driver's
    /// monotonic timestamp for a camera; time since the first frame in a replay).
    pub timestamp: Duration,
}

/// A 64-bit FNV-1a checksum of raw frame bytes (offset basis
/// `0xcbf29ce484222325`, prime `0x100000001b3`): recorded with every captured
/// frame so that a test can tell which frame it is.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourcc_names_round_trip() {
        for f in PixelFormat::ALL {
            assert_eq!(f.name().parse::<PixelFormat>(), Ok(f));
            assert_eq!(&f.fourcc(), f.name().as_bytes());
        }
        assert!("H264".parse::<PixelFormat>().unwrap_err().contains("YUYV"));
    }

    #[test]
    fn fnv1a64_matches_published_values() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }
}
