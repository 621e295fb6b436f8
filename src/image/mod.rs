//! Frames and pixels: decoding, resizing, cropping and affine warps of 8-bit RGB images.

mod avi;
mod convert;
mod decode;
mod draw;
mod encode;
mod frame;
mod mjpeg;
mod resize;
mod warp;

pub use avi::{AviError, AviWriter};

/// The largest image any decoder accepts, in pixels (8192 x 8192): a file
/// that claims more is refused before its pixels are allocated.
pub const MAX_PIXELS: usize = 8192 * 8192;
pub use convert::{ConvertError, FrameConverter};
pub use decode::{decode, load, ImageError};
pub use draw::draw_box;
pub use encode::encode_jpeg;
pub use frame::{fnv1a64, FrameInfo, PixelFormat};
pub use mjpeg::{JpegError, JpegInfo, MjpegDecoder};
pub use resize::{crop_resize, resize, ResizeScratch};
pub use warp::{warp_affine, Affine};

/// The image files siamedge reads (replays, evaluation folders), by extension.
pub const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "pgm", "ppm"];

/// Whether `path` names an image file by its extension (any case).
pub fn is_image_file(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// An interleaved 8-bit RGB image (`width * height * 3` bytes, row-major).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Pixel bytes, `R G B` per pixel, rows top to bottom.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// A black image of the given size.
    pub fn new(width: usize, height: usize) -> RgbImage {
        RgbImage {
            width,
            height,
            data: vec![0; width * height * 3],
        }
    }

    /// Resizes this image's buffer in place to `width x height`, reusing its allocation.
    pub fn reshape(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
        self.data.resize(width * height * 3, 0);
    }

    /// Builds an RGB image from one grey channel by replicating it.
    pub fn from_grey(width: usize, height: usize, grey: &[u8]) -> RgbImage {
        let data = grey.iter().flat_map(|&g| [g, g, g]).collect();
        RgbImage {
            width,
            height,
            data,
        }
    }

    /// The pixel at `(x, y)`.
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

/// An 8-bit grey image (`width * height` bytes, row-major).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GreyImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// One byte per pixel, rows top to bottom.
    pub data: Vec<u8>,
}

impl GreyImage {
    /// Resizes this image's buffer in place to `width x height`, reusing its allocation.
    pub fn reshape(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
        self.data.resize(width * height, 0);
    }
}
