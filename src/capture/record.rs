//! Recordings: frames from any source written to a folder with an index,
//! `frames.toml`, so that a user records on the board and replays on the
//! desktop. MJPEG frames are kept as the JPEG bytes the camera sent, GREY
//! frames as PGM, YUYV and RGB3 frames as PNG (RGB).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CaptureError;
use crate::image::{fnv1a64, FrameConverter, FrameInfo, PixelFormat, RgbImage};
use crate::store::write_atomic;

/// The index file of a recording folder.
pub const RECORDING_INDEX: &str = "frames.toml";

/// One recorded frame in `frames.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameRecord {
    /// The image file, relative to the folder.
    pub file: String,
    /// The source's frame counter.
    pub sequence: u64,
    /// Capture time on the source's clock, in microseconds.
    pub timestamp_us: u64,
    /// Size of the raw frame as the source delivered it.
    pub bytes: usize,
    /// FNV-1a 64 of the raw frame bytes, 16 hex digits.
    pub fnv1a64: String,
}

/// The index of a recording folder (`frames.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// What was recorded, e.g. `/dev/video0 YUYV 640x480`.
    pub source: String,
    /// The source's pixel format (FourCC).
    pub format: String,
    /// Frame width.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// The frames, in capture order.
    #[serde(default)]
    pub frame: Vec<FrameRecord>,
}

impl Recording {
    /// Reads a recording's index.
    pub fn load(path: &Path) -> Result<Recording, CaptureError> {
        let text = std::fs::read_to_string(path).map_err(|error| CaptureError::Io {
            path: path.to_path_buf(),
            op: "reading the recording index",
            error,
        })?;
        toml::from_str(&text).map_err(|e| {
            CaptureError::Exhausted(format!(
                "{} is not a valid recording index: {e}",
                path.display()
            ))
        })
    }
}

/// Writes frames into a folder and keeps the index.
#[derive(Debug)]
pub struct Recorder {
    dir: PathBuf,
    index: Option<Recording>,
    source: String,
    converter: FrameConverter,
    rgb: RgbImage,
}

impl Recorder {
    /// A recorder writing into `dir` (created if missing; an existing
    /// recording there is refused, so nothing is overwritten).
    pub fn create(dir: &Path, source: &str) -> Result<Recorder, CaptureError> {
        let io = |op, error| CaptureError::Io {
            path: dir.to_path_buf(),
            op,
            error,
        };
        std::fs::create_dir_all(dir).map_err(|e| io("creating the folder", e))?;
        if dir.join(RECORDING_INDEX).exists() {
            return Err(CaptureError::Exhausted(format!(
                "{} already holds a recording ({RECORDING_INDEX}); choose another --out",
                dir.display()
            )));
        }
        Ok(Recorder {
            dir: dir.to_path_buf(),
            index: None,
            source: source.to_string(),
            converter: FrameConverter::new(),
            rgb: RgbImage::default(),
        })
    }

    /// Writes one frame and returns its index entry.
    pub fn write(&mut self, bytes: &[u8], info: &FrameInfo) -> Result<&FrameRecord, CaptureError> {
        let index = self.index.get_or_insert_with(|| Recording {
            source: self.source.clone(),
            format: info.format.name().to_string(),
            width: info.width,
            height: info.height,
            frame: Vec::new(),
        });
        let n = index.frame.len() + 1;
        let (file, contents) = match info.format {
            PixelFormat::Mjpeg => (format!("frame-{n:06}.jpg"), bytes.to_vec()),
            PixelFormat::Grey => {
                let mut pgm = format!("P5\n{} {}\n255\n", info.width, info.height).into_bytes();
                let n_px = info.width * info.height;
                pgm.extend_from_slice(bytes.get(..n_px).ok_or_else(|| {
                    CaptureError::Exhausted(format!(
                        "GREY frame {n} holds {} of {n_px} bytes",
                        bytes.len()
                    ))
                })?);
                (format!("frame-{n:06}.pgm"), pgm)
            }
            PixelFormat::Yuyv | PixelFormat::Rgb24 => {
                self.converter
                    .to_rgb(bytes, info, &mut self.rgb)
                    .map_err(|e| CaptureError::Exhausted(format!("frame {n}: {e}")))?;
                (format!("frame-{n:06}.png"), encode_png(&self.rgb)?)
            }
        };
        let path = self.dir.join(&file);
        std::fs::write(&path, contents).map_err(|error| CaptureError::Io {
            path,
            op: "writing a frame",
            error,
        })?;
        index.frame.push(FrameRecord {
            file,
            sequence: info.sequence,
            timestamp_us: info.timestamp.as_micros() as u64,
            bytes: bytes.len(),
            fnv1a64: format!("{:016x}", fnv1a64(bytes)),
        });
        self.save()?;
        Ok(self
            .index
            .as_ref()
            .and_then(|i| i.frame.last())
            .expect("a frame was just pushed"))
    }

    /// The index written so far (`None` before the first frame).
    pub fn recording(&self) -> Option<&Recording> {
        self.index.as_ref()
    }

    fn save(&self) -> Result<(), CaptureError> {
        let Some(index) = &self.index else {
            return Ok(());
        };
        let text = toml::to_string(index).expect("a recording index always serialises");
        let path = self.dir.join(RECORDING_INDEX);
        write_atomic(&path, text.as_bytes()).map_err(|e| CaptureError::Io {
            path,
            op: "writing the recording index",
            error: e.error,
        })
    }
}

fn encode_png(rgb: &RgbImage) -> Result<Vec<u8>, CaptureError> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, rgb.width as u32, rgb.height as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    enc.write_header()
        .and_then(|mut w| w.write_image_data(&rgb.data))
        .map_err(|e| CaptureError::Exhausted(format!("PNG encoding: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{FrameSource, ImageReplay};
    use std::time::Duration;

    #[test]
    fn a_recording_replays_the_same_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("rec");
        let mut rec = Recorder::create(&out, "test").unwrap();
        let yuyv_info = FrameInfo {
            format: PixelFormat::Yuyv,
            width: 4,
            height: 2,
            sequence: 7,
            timestamp: Duration::from_micros(1500),
        };
        let yuyv: Vec<u8> = (0..16).map(|i| (i * 16) as u8).collect();
        let entry = rec.write(&yuyv, &yuyv_info).unwrap().clone();
        assert_eq!(entry.file, "frame-000001.png");
        assert_eq!(
            (entry.sequence, entry.timestamp_us, entry.bytes),
            (7, 1500, 16)
        );
        assert_eq!(entry.fnv1a64, format!("{:016x}", fnv1a64(&yuyv)));
        let grey_info = FrameInfo {
            format: PixelFormat::Grey,
            ..yuyv_info
        };
        rec.write(&[5; 8], &grey_info).unwrap();

        let index = Recording::load(&out.join(RECORDING_INDEX)).unwrap();
        assert_eq!(
            (index.format.as_str(), index.width, index.height),
            ("YUYV", 4, 2)
        );
        assert_eq!(index.frame.len(), 2);

        let mut replay = ImageReplay::open(std::slice::from_ref(&out), false, None).unwrap();
        let mut buf = Vec::new();
        let info = replay.next_frame(&mut buf).unwrap();
        let mut expected = RgbImage::default();
        FrameConverter::new()
            .to_rgb(&yuyv, &yuyv_info, &mut expected)
            .unwrap();
        assert_eq!(info.format, PixelFormat::Rgb24);
        assert_eq!(buf, expected.data, "PNG keeps the converted pixels exactly");
        let info = replay.next_frame(&mut buf).unwrap();
        assert_eq!(
            (info.format, buf.as_slice()),
            (PixelFormat::Grey, &[5u8; 8][..])
        );
        assert!(Recorder::create(&out, "again").is_err(), "never overwrites");
    }
}
