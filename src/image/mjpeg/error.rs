//! Error type of the MJPEG decoder.

use thiserror::Error;

/// Why a JPEG frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JpegError {
    /// The input slice is empty.
    #[error("empty input: no JPEG data")]
    Empty,
    /// The input does not start with the JPEG SOI marker.
    #[error("not a JPEG: missing SOI marker (0xFFD8) at the start")]
    NotJpeg,
    /// The data ended before the named part was complete.
    #[error("truncated JPEG: data ended inside {0}")]
    Truncated(&'static str),
    /// The frame uses a JPEG feature this decoder does not implement.
    #[error("unsupported JPEG feature: {0}")]
    Unsupported(&'static str),
    /// The data violates the JPEG format.
    #[error("invalid JPEG data: {0}")]
    Invalid(&'static str),
    /// The frame declares a zero dimension or more pixels than the decoder accepts.
    #[error("invalid image size {width}x{height}: dimensions must be non-zero and width*height at most 8192*8192")]
    BadDimensions {
        /// Declared width in pixels.
        width: usize,
        /// Declared height in pixels.
        height: usize,
    },
}
