//! Turning the runtime's face crops (`siamedge::eval::face_crops`) into
//! model inputs with the runtime's own preprocessing.

use siamedge::image::RgbImage;
use siamedge::model::{fill_input, InputSpec};

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
