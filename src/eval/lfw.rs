//! The LFW pair protocol: `pairs.txt` (header `folds n`, then per fold `n`
//! same-person lines `name i j` and `n` different-person lines `a i b j`)
//! over `images/<Name>/<Name>_NNNN.jpg`.

use std::path::{Path, PathBuf};

/// Why the LFW data could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LfwError {
    /// `pairs.txt` could not be read.
    #[error("cannot read {path}: {error}. Pass --data pointing at an LFW folder holding pairs.txt and images/")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// `pairs.txt` is malformed.
    #[error("{path} line {line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// One LFW pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfwPair {
    /// First image.
    pub a: PathBuf,
    /// Second image.
    pub b: PathBuf,
    /// Same person.
    pub same: bool,
    /// Fold (0-based).
    pub fold: usize,
}

/// The image path of `name`'s `index`-th photo.
pub fn image_path(root: &Path, name: &str, index: usize) -> PathBuf {
    root.join("images")
        .join(name)
        .join(format!("{name}_{index:04}.jpg"))
}

/// Reads `root/pairs.txt`.
pub fn read_pairs(root: &Path) -> Result<Vec<LfwPair>, LfwError> {
    let path = root.join("pairs.txt");
    let text = std::fs::read_to_string(&path).map_err(|error| LfwError::Io {
        path: path.clone(),
        error,
    })?;
    parse_pairs(root, &text).map_err(|(line, reason)| LfwError::Parse { path, line, reason })
}

/// Parses pairs text; errors carry the 1-based line number.
pub fn parse_pairs(root: &Path, text: &str) -> Result<Vec<LfwPair>, (usize, String)> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or((1, "empty file".to_string()))?;
    let head: Vec<usize> = header
        .split_whitespace()
        .map(|t| t.parse::<usize>().map_err(|e| (1, format!("header: {e}"))))
        .collect::<Result<_, _>>()?;
    let [folds, n] = head[..] else {
        return Err((1, format!("header must be `folds n`, is {header:?}")));
    };
    let mut pairs = Vec::with_capacity(folds * n * 2);
    for fold in 0..folds {
        for k in 0..2 * n {
            let (i, line) = lines
                .next()
                .ok_or((0, format!("file ends in fold {}", fold + 1)))?;
            let t: Vec<&str> = line.split_whitespace().collect();
            let num = |s: &str| {
                s.parse::<usize>()
                    .map_err(|e| (i + 1, format!("{s:?}: {e}")))
            };
            let same = k < n;
            let pair = match (same, t.as_slice()) {
                (true, [name, a, b]) => LfwPair {
                    a: image_path(root, name, num(a)?),
                    b: image_path(root, name, num(b)?),
                    same,
                    fold,
                },
                (false, [n1, a, n2, b]) => LfwPair {
                    a: image_path(root, n1, num(a)?),
                    b: image_path(root, n2, num(b)?),
                    same,
                    fold,
                },
                _ => {
                    let want = if same { "name i j" } else { "name1 i name2 j" };
                    return Err((i + 1, format!("expected `{want}`, got {line:?}")));
                }
            };
            pairs.push(pair);
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_folds_and_kinds() {
        let text = "2 1\nA 1 2\nA 1 B 3\nC 2 4\nC 1 D 1\n";
        let p = parse_pairs(Path::new("/d"), text).unwrap();
        assert_eq!(p.len(), 4);
        assert!(p[0].same && !p[1].same && p[2].same);
        assert_eq!(p[2].fold, 1);
        assert_eq!(p[1].b, PathBuf::from("/d/images/B/B_0003.jpg"));
    }

    #[test]
    fn a_short_file_names_the_problem() {
        let e = parse_pairs(Path::new("/d"), "1 2\nA 1 2\n").unwrap_err();
        assert!(e.1.contains("ends in fold 1"), "{e:?}");
        let e = parse_pairs(Path::new("/d"), "1 1\nA 1\nA 1 B 2\n").unwrap_err();
        assert_eq!(e.0, 2);
    }
}
