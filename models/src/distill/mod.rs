//! Knowledge distillation: a student encoder (any ONNX graph the
//! [`GraphNet`] can replay, e.g. a pruned copy of the teacher) is trained so
//! that its embeddings point where the teacher's do (loss `1 - cosine`), on
//! unlabeled inputs. Batches come from a source the caller supplies: fixed
//! inputs with precomputed teacher embeddings ([`DistillSet::sampler`]), or
//! freshly augmented images run through the teacher at each step.

pub mod graph;

use std::time::{Duration, Instant};

use burn::module::Param;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;

use crate::rng::Rng;
use crate::train::{lr_at, schedule_progress, step_bar};
use crate::TrainError;
pub use graph::GraphNet;

/// Inputs (preprocessed, each of `shape`) with the teacher's embedding of each.
#[derive(Debug, Clone, Default)]
pub struct DistillSet {
    /// `[channels, height, width]` of one input.
    pub shape: [usize; 3],
    /// Model inputs, one per item.
    pub inputs: Vec<Vec<f32>>,
    /// The teacher's L2-normalised embedding of each input.
    pub targets: Vec<Vec<f32>>,
}

/// One training batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Inputs `[n, c, h, w]`, flattened.
    pub inputs: Vec<f32>,
    /// The teacher's unit-length embeddings `[n, d]`, flattened.
    pub targets: Vec<f32>,
    /// Number of items.
    pub n: usize,
}

impl Batch {
    fn tensors(self, shape: [usize; 3], device: &Device) -> (Tensor<4>, Tensor<2>) {
        let [c, h, w] = shape;
        let d = self.targets.len() / self.n.max(1);
        (
            Tensor::from_data(TensorData::new(self.inputs, [self.n, c, h, w]), device),
            Tensor::from_data(TensorData::new(self.targets, [self.n, d]), device),
        )
    }
}

impl DistillSet {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The items `items` as one batch.
    pub fn batch(&self, items: &[usize]) -> Batch {
        Batch {
            inputs: items
                .iter()
                .flat_map(|&i| self.inputs[i].iter().copied())
                .collect(),
            targets: items
                .iter()
                .flat_map(|&i| self.targets[i].iter().copied())
                .collect(),
            n: items.len(),
        }
    }

    /// Batches of `size` items in a fresh shuffled order each pass (seeded).
    pub fn sampler(
        &self,
        size: usize,
        seed: u64,
    ) -> impl FnMut() -> Result<Batch, TrainError> + '_ {
        let mut rng = Rng::new(seed);
        let mut order: Vec<usize> = (0..self.len()).collect();
        let mut cursor = order.len();
        move || {
            if size == 0 || size > order.len() {
                return Err(TrainError::Config(format!(
                    "batches of {size} from {} items",
                    order.len()
                )));
            }
            if cursor + size > order.len() {
                rng.shuffle(&mut order);
                cursor = 0;
            }
            cursor += size;
            Ok(self.batch(&order[cursor - size..cursor]))
        }
    }
}

/// How a distillation run goes.
#[derive(Debug, Clone)]
pub struct DistillConfig {
    /// Optimiser steps (the most, with `time_budget`).
    pub steps: usize,
    /// Wall-clock limit; the learning rate follows the clock when it is set.
    pub time_budget: Option<Duration>,
    /// Peak learning rate (Adam, cosine decay to 5 %).
    pub lr: f64,
    /// Log the loss every this many steps.
    pub log_every: usize,
    /// Show a progress bar.
    pub progress: bool,
}

/// A finished run.
pub struct Distilled {
    /// The trained student.
    pub student: GraphNet,
    /// `(step, mean loss since the previous point)`.
    pub log: Vec<(usize, f32)>,
    /// Steps taken.
    pub steps: usize,
}

/// `1 - cosine(student, target)`, averaged over the batch (targets are unit length).
pub fn cosine_loss(student: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let norm = student
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .add_scalar(1e-12);
    let cos = (student / norm * targets).sum_dim(1);
    cos.neg().add_scalar(1.0).mean()
}

/// Trains `student` (inputs of `shape`) towards the teacher embeddings of
/// the batches `next` gives, on `device`.
pub fn distill(
    student: GraphNet,
    shape: [usize; 3],
    next: &mut dyn FnMut() -> Result<Batch, TrainError>,
    config: &DistillConfig,
    device: &Device,
) -> Result<Distilled, TrainError> {
    let device = device.clone().autodiff();
    let mut student = student;
    student.weights = student
        .weights
        .into_iter()
        .map(|w| Param::from_tensor(Tensor::from_data(w.val().into_data(), &device)))
        .collect();
    let mut optim = AdamConfig::new().init();
    let bar = step_bar(config.steps, config.progress);
    let mut log = Vec::new();
    let (mut sum, mut count) = (0.0f32, 0usize);
    let start = Instant::now();
    let mut taken = 0;
    for step in 0..config.steps {
        let progress = schedule_progress(step, config.steps, config.time_budget, start.elapsed());
        if progress >= 1.0 && step > 0 {
            break;
        }
        let (x, t) = next()?.tensors(shape, &device);
        let loss = cosine_loss(student.forward(x)?, t);
        let value = loss.clone().into_scalar::<f32>();
        if !value.is_finite() {
            return Err(TrainError::NonFinite { step, value });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &student);
        student = optim.step(lr_at(config.lr, progress), student, grads);
        sum += value;
        count += 1;
        if (step + 1) % config.log_every.max(1) == 0 {
            let mean = sum / count as f32;
            let line = format!("step {:>6}  1 - cosine {mean:.5}", step + 1);
            if config.progress && !bar.is_hidden() {
                bar.println(line);
            } else {
                eprintln!("{line}");
            }
            log.push((step + 1, mean));
            (sum, count) = (0.0, 0);
        }
        bar.set_message(format!("1 - cos {value:.5}"));
        bar.inc(1);
        taken = step + 1;
    }
    bar.finish();
    Ok(Distilled {
        student: student.valid(),
        log,
        steps: taken,
    })
}

/// The student's embedding of every input in `set` (L2-normalised), in
/// batches of `batch`, without gradients.
pub fn embed(
    student: &GraphNet,
    set: &DistillSet,
    batch: usize,
    device: &Device,
) -> Result<Vec<Vec<f32>>, TrainError> {
    let mut out = Vec::with_capacity(set.len());
    let all: Vec<usize> = (0..set.len()).collect();
    for items in all.chunks(batch.max(1)) {
        let (x, _) = set.batch(items).tensors(set.shape, device);
        let y = student.forward(x)?;
        let [n, d] = y.dims();
        let v = y
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| TrainError::Export(format!("reading embeddings: {e:?}")))?;
        out.extend((0..n).map(|i| normalised(&v[i * d..(i + 1) * d])));
    }
    Ok(out)
}

/// `v / |v|`.
pub fn normalised(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / n).collect()
}

/// Cosine of each pair of unit vectors.
pub fn cosines(a: &[Vec<f32>], b: &[Vec<f32>]) -> Vec<f32> {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum())
        .collect()
}
