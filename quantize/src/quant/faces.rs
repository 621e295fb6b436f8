//! Picking calibration items, and turning the runtime's face crops
//! (`siamedge::eval::face_crops`) into model inputs with the runtime's own
//! preprocessing.

use siamedge::image::RgbImage;
use siamedge::model::{fill_input, InputSpec};

/// `n` items spread evenly over `items` (all of them when there are fewer).
pub fn spread<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    if n >= items.len() {
        return items.to_vec();
    }
    (0..n).map(|i| items[i * items.len() / n].clone()).collect()
}

/// Each crop as a model input under `spec`.
pub fn to_inputs<'a>(
    spec: &InputSpec,
    crops: impl IntoIterator<Item = &'a RgbImage>,
) -> Vec<Vec<f32>> {
    let len: usize = spec.shape.iter().product();
    crops
        .into_iter()
        .map(|c| {
            let mut x = vec![0.0; len];
            fill_input(spec, &c.data, c.width, c.height, &mut x);
            x
        })
        .collect()
}
