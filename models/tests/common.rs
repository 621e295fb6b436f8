//! Shared helpers for the integration tests: a tiny generated data set.

use siamedge::image::RgbImage;
use siamedge_models::data::augment::Augment;
use siamedge_models::data::{ImageSet, Preprocess};
use siamedge_models::mine::Miner;
use siamedge_models::net::{EncoderConfig, Layout};
use siamedge_models::rng::Rng;
use siamedge_models::train::{Objective, TrainConfig};

/// Input side of the generated images.
pub const SIZE: usize = 16;

/// Grey, dark strokes on white, as Omniglot.
pub fn prep() -> Preprocess {
    Preprocess {
        size: SIZE,
        grey: true,
        dark_on_light: true,
    }
}

/// `classes` classes of `per_class` images: class `c` is a stroke at its own
/// angle and offset, each image jittered by a pixel and speckled with noise.
pub fn tiny_set(classes: usize, per_class: usize, seed: u64) -> ImageSet {
    let mut rng = Rng::new(seed);
    let mut set = ImageSet::default();
    for c in 0..classes {
        set.classes.push(format!("c{c}"));
        let angle = c as f32 * std::f32::consts::PI / classes as f32;
        let (dx, dy) = (angle.cos(), angle.sin());
        let off = (c % 3) as f32 * 2.0 - 2.0;
        for _ in 0..per_class {
            let (jx, jy) = (rng.range(-1.0, 1.0), rng.range(-1.0, 1.0));
            let mut grey = vec![255u8; SIZE * SIZE];
            for t in -6..=6 {
                let x = (7.5 + off + jx + dx * t as f32).round() as i32;
                let y = (7.5 + jy + dy * t as f32).round() as i32;
                if (0..SIZE as i32).contains(&x) && (0..SIZE as i32).contains(&y) {
                    grey[y as usize * SIZE + x as usize] = 0;
                }
            }
            for g in grey.iter_mut() {
                if rng.unit() < 0.03 {
                    *g = 255 - *g;
                }
            }
            set.images.push(RgbImage::from_grey(SIZE, SIZE, &grey));
            set.labels.push(c);
        }
    }
    set
}

/// A small, fast training configuration.
pub fn tiny_config(steps: usize) -> TrainConfig {
    TrainConfig {
        encoder: EncoderConfig {
            layout: Layout::MobileNetV2,
            width: 0.25,
            embedding_dim: 16,
            input_size: SIZE,
            in_channels: 1,
            stem_stride: 1,
        },
        pseudo: false,
        objective: Objective::Triplet {
            margin: 0.5,
            squared: false,
            miner: Miner::BatchHard,
        },
        p: 4,
        k: 4,
        steps,
        time_budget: None,
        lr: 3e-3,
        group_batches: 0.0,
        seed: 1,
        augment: Augment::NONE,
        log_every: 1,
        progress: false,
    }
}
