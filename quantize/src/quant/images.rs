//! Calibration and evaluation inputs from plain image folders (any model,
//! not only faces): every image file under the given roots, resized to the
//! model's input and preprocessed by the runtime's `fill_input`.

use std::path::{Path, PathBuf};

use siamedge::image::{self, resize, RgbImage};
use siamedge::model::{fill_input, InputLayout, InputSpec};

use super::QuantError;

/// Every `.png`, `.jpg`, `.jpeg` or `.pgm` file under `roots`, sorted.
pub fn list_images(roots: &[PathBuf]) -> Result<Vec<PathBuf>, QuantError> {
    let mut found = Vec::new();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|error| QuantError::List {
            path: dir.clone(),
            error,
        })?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if is_image(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn is_image(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "png" | "jpg" | "jpeg" | "pgm"
        )
    })
}

/// `img` resized to the input of `spec` and preprocessed as the runtime does.
pub fn fitted_input(img: &RgbImage, spec: &InputSpec) -> Vec<f32> {
    let (h, w) = match spec.layout {
        InputLayout::Nchw => (spec.shape[2], spec.shape[3]),
        InputLayout::Ncwh => (spec.shape[3], spec.shape[2]),
    };
    let mut fitted = RgbImage::default();
    resize(img, w, h, &mut fitted, &mut image::ResizeScratch::default());
    let mut x = vec![0.0; spec.shape.iter().product()];
    fill_input(spec, &fitted.data, fitted.width, fitted.height, &mut x);
    x
}

/// Each image file resized to the input of `spec` and preprocessed as the runtime does.
pub fn image_inputs(paths: &[PathBuf], spec: &InputSpec) -> Result<Vec<Vec<f32>>, QuantError> {
    paths
        .iter()
        .map(|p| Ok(fitted_input(&image::load(p)?, spec)))
        .collect()
}
