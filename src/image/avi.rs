//! A Motion-JPEG AVI writer: each frame one JPEG, playable by any video
//! player (for tracking overlays). Sizes and counts are patched in when it is finished.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why the video could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AviError {
    /// Writing the file failed.
    #[error("writing the video {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A frame is not the size of the first.
    #[error("video {path}: frame {frame} is {got:?}, the video is {want:?}")]
    Size {
        /// The file.
        path: PathBuf,
        /// Frame index.
        frame: usize,
        /// Its size.
        got: (usize, usize),
        /// The video's.
        want: (usize, usize),
    },
}

/// Writes JPEG frames as an MJPEG AVI.
pub struct AviWriter {
    path: PathBuf,
    file: BufWriter<File>,
    size: (usize, usize),
    fps: u32,
    index: Vec<(u32, u32)>,
    movi_len: u32,
}

impl std::fmt::Debug for AviWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AviWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

const HEADER_LEN: u64 = 224;

impl AviWriter {
    /// Starts a video of `width x height` frames at `fps` at `path`.
    pub fn create(
        path: &Path,
        width: usize,
        height: usize,
        fps: u32,
    ) -> Result<AviWriter, AviError> {
        let io = |error| AviError::Io {
            path: path.to_path_buf(),
            error,
        };
        let file = File::create(path).map_err(io)?;
        let mut w = AviWriter {
            path: path.to_path_buf(),
            file: BufWriter::new(file),
            size: (width, height),
            fps: fps.max(1),
            index: Vec::new(),
            movi_len: 4,
        };
        w.write_header(4, 0).map_err(io)?;
        Ok(w)
    }

    /// Appends one frame of `width x height`, already JPEG-encoded.
    pub fn push_jpeg(&mut self, jpeg: &[u8], width: usize, height: usize) -> Result<(), AviError> {
        let frame = self.index.len();
        if (width, height) != self.size {
            return Err(AviError::Size {
                path: self.path.clone(),
                frame,
                got: (width, height),
                want: self.size,
            });
        }
        let offset = self.movi_len;
        let len = jpeg.len() as u32;
        let io = |error| AviError::Io {
            path: self.path.clone(),
            error,
        };
        self.file.write_all(b"00dc").map_err(io)?;
        self.file.write_all(&len.to_le_bytes()).map_err(io)?;
        self.file.write_all(jpeg).map_err(io)?;
        if len % 2 == 1 {
            self.file.write_all(&[0]).map_err(io)?;
        }
        self.index.push((offset, len));
        self.movi_len += 8 + even(len);
        Ok(())
    }

    /// Writes the index, patches the header and flushes to disk.
    pub fn finish(mut self) -> Result<PathBuf, AviError> {
        let path = self.path.clone();
        let io = |error| AviError::Io {
            path: path.clone(),
            error,
        };
        let movi_len = self.movi_len;
        self.file.write_all(b"idx1").map_err(io)?;
        self.file
            .write_all(&(16 * self.index.len() as u32).to_le_bytes())
            .map_err(io)?;
        for &(offset, len) in &self.index {
            self.file.write_all(b"00dc").map_err(io)?;
            self.file.write_all(&0x10u32.to_le_bytes()).map_err(io)?;
            self.file.write_all(&offset.to_le_bytes()).map_err(io)?;
            self.file.write_all(&len.to_le_bytes()).map_err(io)?;
        }
        let largest = self.index.iter().map(|&(_, l)| l).max().unwrap_or(0);
        self.file.seek(SeekFrom::Start(0)).map_err(io)?;
        self.write_header(movi_len, largest).map_err(io)?;
        let file = self.file.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(path)
    }

    fn write_header(&mut self, movi_len: u32, largest: u32) -> std::io::Result<()> {
        let frames = self.index.len() as u32;
        let (w, h) = (self.size.0 as u32, self.size.1 as u32);
        let riff_len = (HEADER_LEN as u32 - 8) + (movi_len - 4) + 8 + 16 * frames;
        let mut b: Vec<u8> = Vec::with_capacity(HEADER_LEN as usize);
        let u32s = |b: &mut Vec<u8>, vs: &[u32]| {
            vs.iter()
                .for_each(|v| b.extend_from_slice(&v.to_le_bytes()))
        };
        b.extend_from_slice(b"RIFF");
        u32s(&mut b, &[riff_len]);
        b.extend_from_slice(b"AVI LIST");
        u32s(&mut b, &[192]);
        b.extend_from_slice(b"hdrlavih");
        u32s(
            &mut b,
            &[
                56,
                1_000_000 / self.fps,
                0,
                0,
                0x10,
                frames,
                0,
                1,
                largest,
                w,
                h,
                0,
                0,
                0,
                0,
            ],
        );
        b.extend_from_slice(b"LIST");
        u32s(&mut b, &[116]);
        b.extend_from_slice(b"strlstrh");
        u32s(&mut b, &[56]);
        b.extend_from_slice(b"vidsMJPG");
        u32s(
            &mut b,
            &[0, 0, 0, 1, self.fps, 0, frames, largest, u32::MAX, 0],
        );
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(&(w as u16).to_le_bytes());
        b.extend_from_slice(&(h as u16).to_le_bytes());
        b.extend_from_slice(b"strf");
        u32s(&mut b, &[40, 40, w, h]);
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&24u16.to_le_bytes());
        b.extend_from_slice(b"MJPG");
        u32s(&mut b, &[w * h * 3, 0, 0, 0, 0]);
        b.extend_from_slice(b"LIST");
        u32s(&mut b, &[movi_len]);
        b.extend_from_slice(b"movi");
        debug_assert_eq!(b.len() as u64, HEADER_LEN);
        self.file.write_all(&b)
    }
}

fn even(n: u32) -> u32 {
    n + n % 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_has_consistent_chunk_sizes_and_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.avi");
        let mut w = AviWriter::create(&path, 16, 8, 25).unwrap();
        let mut frame = crate::image::RgbImage::new(16, 8);
        frame.data.fill(100);
        let mut jpeg = Vec::new();
        crate::image::encode_jpeg(&frame, 80, &mut jpeg).unwrap();
        w.push_jpeg(&jpeg, 16, 8).unwrap();
        w.push_jpeg(&jpeg, 16, 8).unwrap();
        assert!(w.push_jpeg(&jpeg, 4, 4).is_err());
        w.finish().unwrap();
        let b = std::fs::read(&path).unwrap();
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        assert_eq!(&b[0..4], b"RIFF");
        assert_eq!(u32_at(4) as usize + 8, b.len());
        assert_eq!(&b[220..224], b"movi");
        let movi_len = u32_at(216) as usize;
        assert_eq!(&b[216 + 4 + movi_len..][..4], b"idx1");
        assert_eq!(u32_at(228), u32_at(220 + movi_len + 8 + 12));
        assert_eq!(&b[224..228], b"00dc");
        assert_eq!(&b[232..234], &[0xFF, 0xD8]);
    }
}
