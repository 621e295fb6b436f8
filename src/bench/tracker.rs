//! The tracker's stages timed on a synthetic 640x480 frame: crop, backbone,
//! head, post-processing, and the whole update.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Latency, StageLatency};
use crate::image::RgbImage;
use crate::track::{BBox, TrackError, Tracker};

/// The tracker's figures for one backbone variant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrackerBench {
    /// Backbone variant.
    pub variant: String,
    /// The backbone file.
    pub backbone: String,
    /// The engine that ran the backbone.
    pub engine: String,
    /// `crop`, `backbone`, `head`, `post` and `total` per update.
    pub stages: Vec<StageLatency>,
}

/// A synthetic 640x480 frame with a textured square in the middle.
fn synthetic_scene() -> RgbImage {
    let (w, h) = (640, 480);
    let mut img = RgbImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) * 3;
            let inside = (270..370).contains(&x) && (190..290).contains(&y);
            let v = if inside {
                [((x / 10 + y / 10) % 2 * 200 + 30) as u8, 40, 200]
            } else {
                [(x * 7 % 97 + 60) as u8, (y * 5 % 89 + 60) as u8, 90]
            };
            img.data[i..i + 3].copy_from_slice(&v);
        }
    }
    img
}

/// Times `runs` updates after `warmup` untimed ones, on a tracker started on
/// the synthetic scene's square.
pub fn bench_tracker(
    tracker: &mut Tracker,
    variant: &str,
    backbone: &str,
    warmup: usize,
    runs: usize,
) -> Result<TrackerBench, TrackError> {
    let frame = synthetic_scene();
    tracker.init(
        &frame,
        BBox {
            x: 270.0,
            y: 190.0,
            w: 100.0,
            h: 100.0,
        },
    )?;
    for _ in 0..warmup {
        tracker.update(&frame)?;
    }
    let runs = runs.max(1);
    let mut samples: [Vec<Duration>; 5] = Default::default();
    for _ in 0..runs {
        let t = Instant::now();
        tracker.update(&frame)?;
        let total = t.elapsed();
        let s = tracker.last_times();
        for (k, v) in [s.crop, s.backbone, s.head, s.post].into_iter().enumerate() {
            samples[k].push(Duration::from_secs_f64(v / 1e3));
        }
        samples[4].push(total);
    }
    let names = ["crop", "backbone", "head", "post", "total"];
    Ok(TrackerBench {
        variant: variant.into(),
        backbone: backbone.into(),
        engine: tracker.engine_report(),
        stages: names
            .iter()
            .zip(samples.iter_mut())
            .map(|(n, s)| StageLatency {
                stage: n.to_string(),
                latency: Latency::from_samples(s),
            })
            .collect(),
    })
}
