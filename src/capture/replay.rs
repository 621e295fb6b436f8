//! Replayed frames: an image folder (a recording made by `siamedge capture`,
//! or any photos) or single images, in name order, optionally looped and paced.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::record::{Recording, RECORDING_INDEX};
use super::{CaptureError, FrameSource};
use crate::actuate::sleep_unless_shutdown;
use crate::image::{self, FrameInfo, ImageError, MjpegDecoder, PixelFormat};

/// Frames read from image files. JPEG files are delivered as MJPEG frames
/// (their bytes unchanged, as a camera sends them), binary PGM as GREY, and
/// PNG / PPM (and JPEGs the MJPEG decoder does not read, e.g. progressive
/// ones) decoded to RGB3.
#[derive(Debug)]
pub struct ImageReplay {
    files: Vec<PathBuf>,
    next: usize,
    looped: bool,
    interval: Option<Duration>,
    started: Option<Instant>,
    sequence: u64,
}

impl ImageReplay {
    /// A replay of `paths`: folders are expanded to their images in name order
    /// (a recording's `frames.toml` order when it has one), files are taken as given.
    /// `fps` paces the frames in real time; `looped` starts again after the last.
    pub fn open(
        paths: &[PathBuf],
        looped: bool,
        fps: Option<f64>,
    ) -> Result<ImageReplay, CaptureError> {
        let mut files = Vec::new();
        for p in paths {
            if p.is_dir() {
                files.extend(folder_images(p)?);
            } else if p.exists() {
                files.push(p.clone());
            } else {
                return Err(CaptureError::Exhausted(format!(
                    "no such image or folder: {}",
                    p.display()
                )));
            }
        }
        if files.is_empty() {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            return Err(CaptureError::Exhausted(format!(
                "no images (.jpg .png .pgm .ppm) in {}",
                names.join(", ")
            )));
        }
        let interval = match fps {
            Some(f) if f > 0.0 && f.is_finite() => Some(Duration::from_secs_f64(1.0 / f)),
            Some(f) => {
                return Err(CaptureError::Exhausted(format!(
                    "replay fps must be positive, got {f}"
                )))
            }
            None => None,
        };
        Ok(ImageReplay {
            files,
            next: 0,
            looped,
            interval,
            started: None,
            sequence: 0,
        })
    }

    /// The files replayed, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl FrameSource for ImageReplay {
    fn next_frame(&mut self, buf: &mut Vec<u8>) -> Result<FrameInfo, CaptureError> {
        if self.next == self.files.len() {
            if !self.looped {
                return Err(CaptureError::Exhausted(format!(
                    "replay ended after {} frames",
                    self.sequence
                )));
            }
            self.next = 0;
        }
        let started = *self.started.get_or_insert_with(Instant::now);
        if let Some(interval) = self.interval {
            let due = started + interval * self.sequence as u32;
            sleep_unless_shutdown(due.saturating_duration_since(Instant::now()));
        }
        let path = &self.files[self.next];
        let (format, width, height) = read_frame(path, buf)?;
        self.next += 1;
        let info = FrameInfo {
            format,
            width,
            height,
            sequence: self.sequence,
            timestamp: started.elapsed(),
        };
        self.sequence += 1;
        Ok(info)
    }

    fn describe(&self) -> String {
        match self.files.as_slice() {
            [one] => format!("replay of {}", one.display()),
            files => format!(
                "replay of {} images from {}",
                files.len(),
                files[0].parent().unwrap_or(Path::new(".")).display()
            ),
        }
    }
}

/// The images of a folder: a recording's in its index order, others by name.
fn folder_images(dir: &Path) -> Result<Vec<PathBuf>, CaptureError> {
    let index = dir.join(RECORDING_INDEX);
    if index.exists() {
        let recording = Recording::load(&index)?;
        return Ok(recording.frame.iter().map(|f| dir.join(&f.file)).collect());
    }
    let entries = std::fs::read_dir(dir).map_err(|error| CaptureError::Io {
        path: dir.to_path_buf(),
        op: "listing the folder",
        error,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| image::is_image_file(p))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads one image file into `buf` as the frame a camera would deliver.
fn read_frame(path: &Path, buf: &mut Vec<u8>) -> Result<(PixelFormat, usize, usize), CaptureError> {
    let io = |error| {
        CaptureError::Image(ImageError::Io {
            path: path.to_path_buf(),
            error,
        })
    };
    buf.clear();
    File::open(path)
        .and_then(|mut f| f.read_to_end(buf))
        .map_err(io)?;
    if buf.starts_with(&[0xFF, 0xD8]) {
        if let Ok(info) = MjpegDecoder::probe(buf) {
            return Ok((PixelFormat::Mjpeg, info.width, info.height));
        }
    }
    let grey = buf.starts_with(b"P5");
    let rgb = image::decode(buf).map_err(|e| match e {
        ImageError::Decode { reason, .. } => CaptureError::Image(ImageError::Decode {
            what: path.display().to_string(),
            reason,
        }),
        other => CaptureError::Image(other),
    })?;
    buf.clear();
    if grey {
        buf.extend(rgb.data.iter().step_by(3));
        Ok((PixelFormat::Grey, rgb.width, rgb.height))
    } else {
        buf.extend_from_slice(&rgb.data);
        Ok((PixelFormat::Rgb24, rgb.width, rgb.height))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pgm(dir: &Path, name: &str, value: u8) -> PathBuf {
        let p = dir.join(name);
        let mut bytes = b"P5\n2 2\n255\n".to_vec();
        bytes.extend_from_slice(&[value; 4]);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn a_folder_replays_in_name_order_and_loops() {
        let dir = tempfile::tempdir().unwrap();
        pgm(dir.path(), "b.pgm", 2);
        pgm(dir.path(), "a.pgm", 1);
        std::fs::write(dir.path().join("notes.txt"), "skipped").unwrap();
        let mut r = ImageReplay::open(&[dir.path().to_path_buf()], true, None).unwrap();
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let info = r.next_frame(&mut buf).unwrap();
            assert_eq!(
                (info.format, info.width, info.height),
                (PixelFormat::Grey, 2, 2)
            );
            seen.push((info.sequence, buf[0]));
        }
        assert_eq!(seen, [(0, 1), (1, 2), (2, 1)]);
    }

    #[test]
    fn the_end_of_a_replay_and_missing_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let one = pgm(dir.path(), "one.pgm", 9);
        let mut r = ImageReplay::open(&[one], false, None).unwrap();
        let mut buf = Vec::new();
        r.next_frame(&mut buf).unwrap();
        let e = r.next_frame(&mut buf).unwrap_err().to_string();
        assert!(e.contains("ended after 1 frames"), "{e}");
        let e = ImageReplay::open(&[dir.path().join("nope.jpg")], false, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.jpg"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = ImageReplay::open(&[empty.path().to_path_buf()], false, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no images"), "{e}");
    }

    #[test]
    fn pacing_holds_the_frame_rate() {
        let dir = tempfile::tempdir().unwrap();
        let one = pgm(dir.path(), "one.pgm", 9);
        let mut r = ImageReplay::open(&[one], true, Some(50.0)).unwrap();
        let mut buf = Vec::new();
        let start = Instant::now();
        for _ in 0..6 {
            r.next_frame(&mut buf).unwrap();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(100),
            "5 intervals of 20 ms"
        );
    }
}
