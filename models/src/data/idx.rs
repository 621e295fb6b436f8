//! The IDX format of MNIST and Fashion-MNIST (`*-images-idx3-ubyte[.gz]`,
//! `*-labels-idx1-ubyte[.gz]`; Debian's `dataset-fashion-mnist` installs them
//! under `/usr/share/datasets/fashion-mnist/`).

use std::io::Read;
use std::path::Path;

use siamedge::image::RgbImage;

use super::{ImageSet, Preprocess};
use crate::TrainError;

/// A decoded IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Parses IDX bytes (unsigned-byte element type only).
pub fn parse_idx(bytes: &[u8], what: &str) -> Result<IdxArray, TrainError> {
    let err = |reason: String| TrainError::Data {
        what: what.into(),
        reason,
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(err("not an IDX file (bad magic number)".into()));
    }
    if bytes[2] != 0x08 {
        return Err(err(format!(
            "element type 0x{:02x} is not unsigned byte (0x08)",
            bytes[2]
        )));
    }
    let rank = bytes[3] as usize;
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(err("truncated header".into()));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|i| {
            u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
        })
        .collect();
    let count: usize = dims.iter().product();
    if bytes.len() != header + count {
        return Err(err(format!(
            "dimensions {dims:?} need {count} bytes of data, found {}",
            bytes.len() - header
        )));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads an IDX file, gunzipping it when the name ends in `.gz`.
pub fn read_idx(path: &Path) -> Result<IdxArray, TrainError> {
    let raw = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| TrainError::io(path, e))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes, &path.display().to_string())
}

/// An image set from an IDX image file and its label file, resized to the input size.
pub fn load_idx(images: &Path, labels: &Path, prep: &Preprocess) -> Result<ImageSet, TrainError> {
    let imgs = read_idx(images)?;
    let labs = read_idx(labels)?;
    if imgs.dims.len() != 3 || labs.dims.len() != 1 || imgs.dims[0] != labs.dims[0] {
        return Err(TrainError::Data {
            what: images.display().to_string(),
            reason: format!(
                "image dims {:?} and label dims {:?} do not match",
                imgs.dims, labs.dims
            ),
        });
    }
    let (h, w) = (imgs.dims[1], imgs.dims[2]);
    let classes = labs.data.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut set = ImageSet {
        classes: (0..classes).map(|c| c.to_string()).collect(),
        ..ImageSet::default()
    };
    let mut scratch = siamedge::image::ResizeScratch::default();
    for (pixels, &l) in imgs.data.chunks(h * w).zip(&labs.data) {
        let img = RgbImage::from_grey(w, h, pixels);
        set.images.push(prep.fit(&img, &mut scratch));
        set.labels.push(l as usize);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_tiny_array_and_refuses_bad_ones() {
        let bytes = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
        let a = parse_idx(&bytes, "t").unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
        assert!(parse_idx(&bytes[..17], "t").is_err());
        assert!(parse_idx(&[0, 0, 0x0D, 1, 0, 0, 0, 0], "t").is_err());
    }
}
