//! Frame sources: a V4L2 camera, or replayed images. Every source writes the
//! next frame's bytes into a buffer the caller owns and reuses, and says what
//! the bytes are ([`FrameInfo`]), so a camera loop allocates nothing per frame.

mod error;
mod record;
mod replay;
pub mod v4l2;

pub use error::CaptureError;
pub use record::{FrameRecord, Recorder, Recording, RECORDING_INDEX};
pub use replay::ImageReplay;
pub use v4l2::{CameraSettings, Negotiated, V4l2Camera};

use crate::image::FrameInfo;

/// Where frames come from: a camera, or a recording replayed.
pub trait FrameSource {
    /// Waits for the next frame, writes its bytes into `buf` (replacing what
    /// was there, reusing its allocation) and returns what they are. Rows of
    /// uncompressed formats are packed, with no padding.
    fn next_frame(&mut self, buf: &mut Vec<u8>) -> Result<FrameInfo, CaptureError>;

    /// A short description for logs and reports, e.g. `/dev/video0 YUYV 640x480`.
    fn describe(&self) -> String;
}
