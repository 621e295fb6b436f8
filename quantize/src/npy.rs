//! A minimal reader for `.npy` files holding little-endian float32 arrays in C order.

use std::path::{Path, PathBuf};

/// A float32 array read from a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f32>,
}

/// Errors reading a `.npy` file.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is not a float32 C-order `.npy`.
    #[error("{}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Reads a `.npy` file of dtype `<f4`, C order.
pub fn read(path: &Path) -> Result<NpyArray, NpyError> {
    let bytes = std::fs::read(path).map_err(|error| NpyError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    parse(&bytes).map_err(|reason| NpyError::Format {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses the bytes of a `.npy` file of dtype `<f4`, C order.
pub fn parse(bytes: &[u8]) -> Result<NpyArray, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (bad magic)".into());
    }
    let (header_len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or("truncated header")?;
    let header = std::str::from_utf8(&bytes[start..end]).map_err(|_| "header is not text")?;
    let descr = field(header, "descr").ok_or("header has no 'descr'")?;
    if !matches!(descr.trim_matches(|c| c == '\'' || c == '"'), "<f4" | "=f4") {
        return Err(format!(
            "dtype {descr} is not little-endian float32 ('<f4')"
        ));
    }
    if field(header, "fortran_order").map(str::trim) != Some("False") {
        return Err("array is not in C order".into());
    }
    let shape = parse_shape(header).ok_or("header has no readable 'shape'")?;
    let count: usize = shape.iter().product();
    let data = &bytes[end..];
    if data.len() != count * 4 {
        return Err(format!(
            "shape {shape:?} needs {} data bytes, file has {}",
            count * 4,
            data.len()
        ));
    }
    let data = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(NpyArray { shape, data })
}

/// The text after `'key':` up to the next comma at depth 0.
fn field<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?;
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn parse_shape(header: &str) -> Option<Vec<usize>> {
    let at = header.find("'shape'")?;
    let rest = &header[at..];
    let open = rest.find('(')?;
    let close = rest.find(')')?;
    rest[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, values: &[f32]) -> Vec<u8> {
        let mut h = header.to_string();
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        out
    }

    #[test]
    fn reads_float32_arrays() {
        let a = parse(&npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            &[1., 2., 3., 4., 5., 6.],
        ))
        .unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data[5], 6.0);
        let s = parse(&npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
            &[0.; 4],
        ))
        .unwrap();
        assert_eq!(s.shape, vec![4]);
    }

    #[test]
    fn rejects_other_dtypes_order_and_truncation() {
        assert!(parse(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
            &[0., 0.]
        ))
        .is_err());
        assert!(parse(&npy(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
            &[0.]
        ))
        .is_err());
        let mut b = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
            &[0.; 3],
        );
        b.pop();
        assert!(parse(&b).unwrap_err().contains("data bytes"));
        assert!(parse(b"not numpy").is_err());
    }
}
