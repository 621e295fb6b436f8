//! MTCNN face detection: P-Net over an image pyramid, R-Net refinement, and
//! O-Net boxes with five landmarks (Zhang et al. 2016).
//!
//! Boxes are `[x1, y1, x2, y2]` with inclusive pixel corners (`w = x2 - x1 + 1`).
//! The three networks were trained on spatially transposed images; their
//! manifests say so (`layout = "ncwh"`), and [`Model::run_image`] feeds them
//! accordingly, so P-Net's maps come back indexed `[channel][x][y]`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::image::{crop_resize, resize, ResizeScratch, RgbImage};
use crate::model::{Model, ModelError};

/// A detected face: box, confidence and five landmarks (eyes, nose, mouth corners).
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    /// `[x1, y1, x2, y2]`, inclusive pixel corners.
    pub bbox: [f32; 4],
    /// O-Net face probability.
    pub score: f32,
    /// Left eye, right eye, nose, left mouth corner, right mouth corner, as `(x, y)`.
    pub landmarks: [[f32; 2]; 5],
}

impl Face {
    /// Box area in pixels.
    pub fn area(&self) -> f32 {
        box_area(&self.bbox)
    }

    /// How well this face fits "the subject of the photo": area minus a
    /// penalty on the squared distance of its centre from the image centre.
    pub fn prominence(&self, width: usize, height: usize) -> f32 {
        let cx = (self.bbox[0] + self.bbox[2]) / 2.0 - width as f32 / 2.0;
        let cy = (self.bbox[1] + self.bbox[3]) / 2.0 - height as f32 / 2.0;
        self.area() - 2.0 * (cx * cx + cy * cy)
    }

    /// The most prominent of `faces` in a `width` x `height` image.
    pub fn most_prominent(faces: &[Face], width: usize, height: usize) -> Option<&Face> {
        faces.iter().max_by(|a, b| {
            a.prominence(width, height)
                .total_cmp(&b.prominence(width, height))
        })
    }
}

/// MTCNN settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MtcnnConfig {
    /// Smallest face side to look for, in pixels.
    pub min_face: f32,
    /// Pyramid scale step.
    pub factor: f32,
    /// Score thresholds of P-Net, R-Net and O-Net.
    pub thresholds: [f32; 3],
}

impl Default for MtcnnConfig {
    fn default() -> Self {
        MtcnnConfig {
            min_face: 40.0,
            factor: 0.709,
            thresholds: [0.6, 0.7, 0.7],
        }
    }
}

/// What the last [`Mtcnn::detect`] ran: time and runs per network.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DetectStats {
    /// P-Net over the pyramid, with the resizing and candidate collection.
    pub pnet: Duration,
    /// Pyramid scales P-Net ran on.
    pub scales: usize,
    /// R-Net over the candidates, with the crops.
    pub rnet: Duration,
    /// R-Net runs (one per P-Net candidate).
    pub rnet_crops: usize,
    /// O-Net over R-Net's survivors, with the crops.
    pub onet: Duration,
    /// O-Net runs.
    pub onet_crops: usize,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    bbox: [f32; 4],
    score: f32,
    reg: [f32; 4],
}

/// The three MTCNN networks and reusable scratch images.
#[derive(Debug)]
pub struct Mtcnn {
    pnet: Model,
    rnet: Model,
    onet: Model,
    config: MtcnnConfig,
    scaled: RgbImage,
    scratch: ResizeScratch,
    patch: RgbImage,
    crop: RgbImage,
    candidates: Vec<Candidate>,
    level: Vec<Candidate>,
    stats: DetectStats,
}

impl Mtcnn {
    /// Loads `pnet.onnx`, `rnet.onnx` and `onet.onnx` (with manifests) from `dir`.
    pub fn load(dir: &Path, config: MtcnnConfig) -> Result<Mtcnn, ModelError> {
        Ok(Mtcnn {
            pnet: Model::load(&dir.join("pnet.onnx"))?,
            rnet: Model::load(&dir.join("rnet.onnx"))?,
            onet: Model::load(&dir.join("onet.onnx"))?,
            config,
            scaled: RgbImage::default(),
            scratch: ResizeScratch::default(),
            patch: RgbImage::default(),
            crop: RgbImage::default(),
            candidates: Vec::new(),
            level: Vec::new(),
            stats: DetectStats::default(),
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &MtcnnConfig {
        &self.config
    }

    /// Detects faces in `img`, best score first.
    pub fn detect(&mut self, img: &RgbImage) -> Result<Vec<Face>, ModelError> {
        self.stats = DetectStats::default();
        let t = Instant::now();
        self.propose(img)?;
        self.stats.pnet = t.elapsed();
        if self.candidates.is_empty() {
            return Ok(Vec::new());
        }
        let t = Instant::now();
        self.stats.rnet_crops = self.candidates.len();
        self.refine(img)?;
        self.stats.rnet = t.elapsed();
        if self.candidates.is_empty() {
            return Ok(Vec::new());
        }
        let t = Instant::now();
        self.stats.onet_crops = self.candidates.len();
        let faces = self.output(img);
        self.stats.onet = t.elapsed();
        faces
    }

    /// Builds P-Net's plan for every pyramid scale of a `width x height`
    /// frame by detecting on a mid-grey one, so that the first camera frame
    /// does not pay for it (on this machine about 70-110 ms at 640x480).
    pub fn prepare(&mut self, width: usize, height: usize) -> Result<(), ModelError> {
        let frame = RgbImage {
            width,
            height,
            data: vec![128; width * height * 3],
        };
        self.detect(&frame).map(drop)
    }

    /// Time and runs per network of the last [`Mtcnn::detect`].
    pub fn last_stats(&self) -> &DetectStats {
        &self.stats
    }

    /// P-Net over the pyramid: candidate boxes, regressed and squared.
    fn propose(&mut self, img: &RgbImage) -> Result<(), ModelError> {
        self.candidates.clear();
        let short = img.width.min(img.height) as f32;
        let mut face = self.config.min_face.max(12.0);
        while face <= short {
            let scale = 12.0 / face;
            let w = ((img.width as f32 * scale).ceil() as usize).max(12);
            let h = ((img.height as f32 * scale).ceil() as usize).max(12);
            resize(img, w, h, &mut self.scaled, &mut self.scratch);
            let out = self.pnet.run_image(&self.scaled)?;
            let (sx, sy) = (w as f32 / img.width as f32, h as f32 / img.height as f32);
            self.level.clear();
            collect_pnet(
                out.shape(0),
                out.values(0),
                out.values(1),
                [sx, sy],
                self.config.thresholds[0],
                &mut self.level,
            );
            nms(&mut self.level, 0.5, Overlap::Union);
            self.candidates.extend_from_slice(&self.level);
            self.stats.scales += 1;
            face /= self.config.factor;
        }
        nms(&mut self.candidates, 0.7, Overlap::Union);
        for c in &mut self.candidates {
            c.bbox = square(regress(c.bbox, c.reg));
        }
        Ok(())
    }

    /// R-Net on 24x24 crops: reject, regress, square.
    fn refine(&mut self, img: &RgbImage) -> Result<(), ModelError> {
        let threshold = self.config.thresholds[1];
        let mut kept = Vec::with_capacity(self.candidates.len());
        for c in &self.candidates {
            crop_resize(
                img,
                c.bbox,
                24,
                &mut self.crop,
                &mut self.patch,
                &mut self.scratch,
            );
            let out = self.rnet.run_image(&self.crop)?;
            let score = out.values(0)[1];
            if score > threshold {
                let r = out.values(1);
                kept.push(Candidate {
                    bbox: c.bbox,
                    score,
                    reg: [r[0], r[1], r[2], r[3]],
                });
            }
        }
        nms(&mut kept, 0.7, Overlap::Union);
        for c in &mut kept {
            c.bbox = square(regress(c.bbox, c.reg));
        }
        self.candidates = kept;
        Ok(())
    }

    /// O-Net on 48x48 crops: final boxes and landmarks.
    fn output(&mut self, img: &RgbImage) -> Result<Vec<Face>, ModelError> {
        let threshold = self.config.thresholds[2];
        let mut faces = Vec::new();
        let mut kept = Vec::new();
        for c in &self.candidates {
            crop_resize(
                img,
                c.bbox,
                48,
                &mut self.crop,
                &mut self.patch,
                &mut self.scratch,
            );
            let out = self.onet.run_image(&self.crop)?;
            let score = out.values(0)[1];
            if score <= threshold {
                continue;
            }
            let r = out.values(1);
            let p = out.values(2);
            let (w, h) = (c.bbox[2] - c.bbox[0] + 1.0, c.bbox[3] - c.bbox[1] + 1.0);
            let mut landmarks = [[0f32; 2]; 5];
            for (j, l) in landmarks.iter_mut().enumerate() {
                *l = [c.bbox[0] + p[j] * w, c.bbox[1] + p[j + 5] * h];
            }
            let bbox = regress(c.bbox, [r[0], r[1], r[2], r[3]]);
            kept.push(Candidate {
                bbox,
                score,
                reg: [0.0; 4],
            });
            faces.push(Face {
                bbox,
                score,
                landmarks,
            });
        }
        let survivors = nms_indices(&kept, 0.7, Overlap::Min);
        Ok(survivors.into_iter().map(|i| faces[i].clone()).collect())
    }
}

/// Reads P-Net's probability map `[1, 2, X, Y]` and regression map
/// `[1, 4, X, Y]` into candidate boxes in original image coordinates.
fn collect_pnet(
    shape: &[usize],
    prob: &[f32],
    reg: &[f32],
    scale: [f32; 2],
    threshold: f32,
    out: &mut Vec<Candidate>,
) {
    let (nx, ny) = (shape[2], shape[3]);
    let plane = nx * ny;
    for x in 0..nx {
        for y in 0..ny {
            let at = x * ny + y;
            let score = prob[plane + at];
            if score <= threshold {
                continue;
            }
            let (fx, fy) = (2.0 * x as f32, 2.0 * y as f32);
            let bbox = [
                fx / scale[0],
                fy / scale[1],
                (fx + 11.0) / scale[0],
                (fy + 11.0) / scale[1],
            ];
            let reg = [
                reg[at],
                reg[plane + at],
                reg[2 * plane + at],
                reg[3 * plane + at],
            ];
            out.push(Candidate { bbox, score, reg });
        }
    }
}

fn box_area(b: &[f32; 4]) -> f32 {
    (b[2] - b[0] + 1.0).max(0.0) * (b[3] - b[1] + 1.0).max(0.0)
}

/// Applies box regression offsets (fractions of width and height).
fn regress(b: [f32; 4], r: [f32; 4]) -> [f32; 4] {
    let (w, h) = (b[2] - b[0] + 1.0, b[3] - b[1] + 1.0);
    [
        b[0] + r[0] * w,
        b[1] + r[1] * h,
        b[2] + r[2] * w,
        b[3] + r[3] * h,
    ]
}

/// The square box of side `max(w, h)` with the same centre.
fn square(b: [f32; 4]) -> [f32; 4] {
    let side = (b[2] - b[0] + 1.0).max(b[3] - b[1] + 1.0);
    let (cx, cy) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let half = (side - 1.0) / 2.0;
    [cx - half, cy - half, cx + half, cy + half]
}

#[derive(Clone, Copy)]
enum Overlap {
    Union,
    Min,
}

fn overlap(a: &[f32; 4], b: &[f32; 4], kind: Overlap) -> f32 {
    let inter = box_area(&[
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    ]);
    let inter = if a[0].max(b[0]) > a[2].min(b[2]) || a[1].max(b[1]) > a[3].min(b[3]) {
        0.0
    } else {
        inter
    };
    let denom = match kind {
        Overlap::Union => box_area(a) + box_area(b) - inter,
        Overlap::Min => box_area(a).min(box_area(b)),
    };
    if denom <= 0.0 {
        0.0
    } else {
        inter / denom
    }
}

/// Indices of the boxes greedy score-sorted NMS keeps, best first.
fn nms_indices(c: &[Candidate], threshold: f32, kind: Overlap) -> Vec<usize> {
    let mut order: Vec<usize> = (0..c.len()).collect();
    order.sort_by(|&a, &b| c[b].score.total_cmp(&c[a].score));
    let mut keep: Vec<usize> = Vec::with_capacity(order.len());
    for i in order {
        if keep
            .iter()
            .all(|&k| overlap(&c[k].bbox, &c[i].bbox, kind) < threshold)
        {
            keep.push(i);
        }
    }
    keep
}

/// Greedy score-sorted non-maximum suppression in place (best first).
fn nms(c: &mut Vec<Candidate>, threshold: f32, kind: Overlap) {
    let keep = nms_indices(c, threshold, kind);
    let kept: Vec<Candidate> = keep.into_iter().map(|i| c[i]).collect();
    *c = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(bbox: [f32; 4], score: f32) -> Candidate {
        Candidate {
            bbox,
            score,
            reg: [0.0; 4],
        }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let mut c = vec![
            cand([0.0, 0.0, 9.0, 9.0], 0.8),
            cand([1.0, 1.0, 10.0, 10.0], 0.9),
            cand([50.0, 50.0, 59.0, 59.0], 0.7),
        ];
        nms(&mut c, 0.5, Overlap::Union);
        let scores: Vec<f32> = c.iter().map(|c| c.score).collect();
        assert_eq!(scores, vec![0.9, 0.7]);
    }

    #[test]
    fn min_overlap_suppresses_a_box_inside_another() {
        let mut c = vec![
            cand([0.0, 0.0, 99.0, 99.0], 0.9),
            cand([10.0, 10.0, 29.0, 29.0], 0.8),
        ];
        nms(&mut c, 0.7, Overlap::Union);
        assert_eq!(c.len(), 2);
        nms(&mut c, 0.7, Overlap::Min);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn regression_and_square_follow_width_conventions() {
        let b = regress([10.0, 10.0, 19.0, 29.0], [0.1, 0.0, -0.1, 0.0]);
        assert_eq!(b, [11.0, 10.0, 18.0, 29.0]);
        let s = square(b);
        assert_eq!(s[2] - s[0], s[3] - s[1]);
        assert_eq!(s[3] - s[1] + 1.0, 20.0);
    }

    #[test]
    fn pnet_cells_map_back_to_image_boxes() {
        let shape = [1, 2, 2, 3];
        let mut prob = vec![0.0; 12];
        prob[6 + 3 + 2] = 0.95; // face channel (offset 6), x = 1 (stride 3), y = 2
        let reg = vec![0.0; 24];
        let mut out = Vec::new();
        collect_pnet(&shape, &prob, &reg, [0.5, 0.5], 0.6, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bbox, [4.0, 8.0, 26.0, 30.0]);
    }
}
