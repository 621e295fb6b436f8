//! Image-folder data sets: `root/class/*.png` (depth 1; also the LFW layout
//! `images/<Name>/*.jpg`) and Omniglot's `root/alphabet/character/*.png` (depth 2).

use std::path::{Path, PathBuf};

use super::{ImageSet, Preprocess};
use crate::TrainError;

const EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "pgm", "ppm"];

/// Loads every image under `root` whose class folder lies `depth` levels down
/// (1: `root/class/x.png`, 2: `root/alphabet/character/x.png`), resized to the
/// input size. Classes are named by their path relative to `root` and sorted.
pub fn load_folder(root: &Path, depth: usize, prep: &Preprocess) -> Result<ImageSet, TrainError> {
    let mut class_dirs = vec![root.to_path_buf()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for d in &class_dirs {
            next.extend(subdirs(d)?);
        }
        class_dirs = next;
    }
    let mut set = ImageSet::default();
    let mut scratch = siamedge::image::ResizeScratch::default();
    for dir in class_dirs {
        let files = image_files(&dir)?;
        if files.is_empty() {
            continue;
        }
        let label = set.classes.len();
        set.classes
            .push(dir.strip_prefix(root).unwrap_or(&dir).display().to_string());
        for f in files {
            let img = siamedge::image::load(&f)?;
            set.images.push(prep.fit(&img, &mut scratch));
            set.labels.push(label);
        }
    }
    if set.is_empty() {
        return Err(TrainError::Data {
            what: root.display().to_string(),
            reason: format!(
                "no images ({}) found {depth} folder level(s) down",
                EXTENSIONS.join(", ")
            ),
        });
    }
    Ok(set)
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, TrainError> {
    let mut out: Vec<PathBuf> = read_dir(dir)?.into_iter().filter(|p| p.is_dir()).collect();
    out.sort();
    Ok(out)
}

/// The image files directly in `dir`, sorted by name.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>, TrainError> {
    let mut out: Vec<PathBuf> = read_dir(dir)?
        .into_iter()
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    out.sort();
    Ok(out)
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, TrainError> {
    std::fs::read_dir(dir)
        .map_err(|e| TrainError::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| TrainError::io(dir, e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, value: u8) {
        let file = std::fs::File::create(path).unwrap();
        let mut enc = png::Encoder::new(file, 4, 4);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()
            .unwrap()
            .write_image_data(&[value; 16])
            .unwrap();
    }

    #[test]
    fn loads_two_level_layout() {
        let dir = tempfile::tempdir().unwrap();
        for (alpha, chars) in [("A", ["c1", "c2"]), ("B", ["c1", "c3"])] {
            for c in chars {
                let d = dir.path().join(alpha).join(c);
                std::fs::create_dir_all(&d).unwrap();
                write_png(&d.join("1.png"), 10);
                write_png(&d.join("2.png"), 200);
            }
        }
        let prep = Preprocess {
            size: 2,
            grey: true,
            dark_on_light: true,
        };
        let set = load_folder(dir.path(), 2, &prep).unwrap();
        assert_eq!(set.classes, vec!["A/c1", "A/c2", "B/c1", "B/c3"]);
        assert_eq!(set.labels, vec![0, 0, 1, 1, 2, 2, 3, 3]);
        assert_eq!((set.images[0].width, set.images[1].data[0]), (2, 200));
        assert!(load_folder(dir.path(), 3, &prep).is_err());
    }
}
