//! The training loop: P x K batches, augmentation, the chosen loss and
//! miner, Adam with cosine learning-rate decay, a progress bar, and the
//! embedding-spread log that stops training when the embeddings collapse.

pub mod spread;

use std::time::{Duration, Instant};

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};

use crate::data::augment::Augment;
use crate::data::{ImageSet, Preprocess};
use crate::loss::host_distance_matrix;
use crate::loss::koch::KochHead;
use crate::loss::margin::{MarginHead, MarginKind};
use crate::mine::{balanced_pairs, hard_quadruplets, Miner};
use crate::net::{EncoderConfig, SiameseNet};
use crate::rng::Rng;
use crate::sampler::PkSampler;
use crate::TrainError;
use spread::{spread, Spread};

/// The training objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Contrastive loss on balanced pairs.
    Contrastive {
        /// Margin for negative pairs.
        margin: f32,
    },
    /// Triplet loss on mined triplets.
    Triplet {
        /// Margin.
        margin: f32,
        /// Squared Euclidean distances.
        squared: bool,
        /// Which triplets.
        miner: Miner,
    },
    /// Quadruplet loss on batch-hard quadruplets.
    Quadruplet {
        /// Margin of the triplet term.
        margin1: f32,
        /// Margin of the negative-pair term.
        margin2: f32,
    },
    /// Binary cross-entropy of a Koch-style learned distance head on balanced pairs.
    Koch,
    /// ArcFace or CosFace softmax over the training classes.
    Margin(MarginKind),
    /// Prototypical softmax over the classes of each batch.
    Prototypical {
        /// Logit scale on the squared distances.
        scale: f32,
    },
}

/// Everything that shapes one training run.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// The encoder to build.
    pub encoder: EncoderConfig,
    /// Unshared branches.
    pub pseudo: bool,
    /// The loss.
    pub objective: Objective,
    /// Classes per batch.
    pub p: usize,
    /// Items per class per batch.
    pub k: usize,
    /// Optimiser steps (the most, when `time_budget` is set).
    pub steps: usize,
    /// Wall-clock limit: training stops when it is spent, and the learning
    /// rate decays along whichever of steps and time is further along.
    pub time_budget: Option<Duration>,
    /// Peak learning rate (Adam), decayed along a cosine to 5% of it.
    pub lr: f64,
    /// Share (0 to 1) of the batches whose P classes all come from one
    /// class group ([`ImageSet::class_groups`]: an Omniglot alphabet at one rotation).
    pub group_batches: f32,
    /// Seed for sampling, augmentation and mining.
    pub seed: u64,
    /// Augmentation of training images.
    pub augment: Augment,
    /// Log the loss and embedding spread every this many steps.
    pub log_every: usize,
    /// Show a progress bar.
    pub progress: bool,
}

/// A logged point of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogPoint {
    /// Step number.
    pub step: usize,
    /// Mean loss since the previous point.
    pub loss: f32,
    /// Spread of this step's batch embeddings.
    pub spread: Spread,
}

/// Heads and encoders trained together; only `net` is kept.
#[derive(Module, Debug)]
pub struct Trainable {
    /// The Siamese encoder(s).
    pub net: SiameseNet,
    /// Koch-style distance head, for [`Objective::Koch`].
    pub koch: Option<KochHead>,
    /// Class centres, for [`Objective::Margin`].
    pub centres: Option<MarginHead>,
}

/// Below this mean pairwise distance (unit-norm embeddings span 0..2) the batch has collapsed.
pub const COLLAPSE_DISTANCE: f32 = 1e-3;

/// A finished run: the trained net (training mode), its log and the number
/// of steps taken.
pub struct Trained {
    /// The trained encoder(s).
    pub net: SiameseNet,
    /// The logged points.
    pub log: Vec<LogPoint>,
    /// Optimiser steps taken (fewer than asked when the time budget ran out).
    pub steps: usize,
}

/// Trains a freshly initialised net on `data` on `device` (autodiff is switched on here).
pub fn train(
    config: &TrainConfig,
    data: &ImageSet,
    prep: &Preprocess,
    device: &Device,
) -> Result<Trained, TrainError> {
    let device = device.clone().autodiff();
    let fresh = SiameseNet::new(&config.encoder, config.pseudo, &device)?;
    run(config, fresh, data, prep, &device)
}

/// Trains on `data` on `device` starting from the weights (and batch-norm
/// statistics) of `start`, which must have `config`'s architecture. The
/// optimiser state and any loss head start afresh.
pub fn train_from(
    config: &TrainConfig,
    start: SiameseNet,
    data: &ImageSet,
    prep: &Preprocess,
    device: &Device,
) -> Result<Trained, TrainError> {
    let device = device.clone().autodiff();
    let net =
        SiameseNet::new(&config.encoder, config.pseudo, &device)?.load_record(start.into_record());
    run(config, net, data, prep, &device)
}

/// The training loop for `net`, already on the autodiff `device`.
fn run(
    config: &TrainConfig,
    net: SiameseNet,
    data: &ImageSet,
    prep: &Preprocess,
    device: &Device,
) -> Result<Trained, TrainError> {
    let mut rng = Rng::new(config.seed);
    let mut sampler = PkSampler::new(&data.labels, config.p, config.k)?
        .with_group_batches(&data.class_groups(), config.group_batches)?;
    let dim = config.encoder.embedding_dim;
    let mut model = Trainable {
        net,
        koch: matches!(config.objective, Objective::Koch).then(|| KochHead::new(dim, device)),
        centres: matches!(config.objective, Objective::Margin(_))
            .then(|| MarginHead::new(data.classes.len(), dim, device)),
    };
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
        let items = sampler.batch(&mut rng);
        let images: Vec<_> = items
            .iter()
            .map(|&i| config.augment.apply(&data.images[i], &mut rng))
            .collect();
        let labels: Vec<usize> = items.iter().map(|&i| data.labels[i]).collect();
        let x = prep.batch(&images, device);
        let (left, right) = model.net.embed_both(x);
        let loss = objective_loss(&model, config.objective, &left, &right, &labels, &mut rng);
        let value = match loss {
            Some(loss) => {
                let value = loss.clone().into_scalar::<f32>();
                if !value.is_finite() {
                    return Err(TrainError::NonFinite { step, value });
                }
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(lr_at(config.lr, progress), model, grads);
                value
            }
            None => 0.0,
        };
        sum += value;
        count += 1;
        if step % config.log_every == 0 || step + 1 == config.steps {
            let emb = left
                .detach()
                .to_data()
                .try_to_vec::<f32>()
                .expect("f32 embeddings");
            let s = spread(&emb, dim);
            let point = LogPoint {
                step,
                loss: sum / count as f32,
                spread: s,
            };
            let line = format!(
                "step {step:>6}  loss {:.4}  mean pairwise distance {:.3}  rank {}/{}",
                point.loss,
                s.mean_distance,
                s.rank,
                dim.min(items.len())
            );
            if config.progress && bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
            log.push(point);
            (sum, count) = (0.0, 0);
            if s.mean_distance < COLLAPSE_DISTANCE || s.rank <= 1 {
                bar.abandon();
                return Err(TrainError::Collapsed {
                    step,
                    mean_distance: s.mean_distance,
                    rank: s.rank,
                });
            }
        }
        bar.set_message(format!("loss {value:.4}"));
        bar.inc(1);
        taken = step + 1;
    }
    bar.finish();
    Ok(Trained {
        net: model.net,
        log,
        steps: taken,
    })
}

fn objective_loss(
    model: &Trainable,
    objective: Objective,
    left: &Tensor<2>,
    right: &Tensor<2>,
    labels: &[usize],
    rng: &mut Rng,
) -> Option<Tensor<1>> {
    use crate::loss::{pair, proto, quadruplet, triplet};
    match objective {
        Objective::Contrastive { margin } => {
            let pairs = balanced_pairs(labels, rng);
            (!pairs.is_empty()).then(|| pair::contrastive(left, right, &pairs, margin))
        }
        Objective::Triplet {
            margin,
            squared,
            miner,
        } => {
            let dist = host_distance_matrix(left, right, squared);
            let t = miner.triplets(&dist, labels, margin);
            (!t.is_empty()).then(|| triplet::triplet(left, right, &t, margin, squared))
        }
        Objective::Quadruplet { margin1, margin2 } => {
            let dist = host_distance_matrix(left, right, false);
            let q = hard_quadruplets(&dist, labels);
            (!q.is_empty()).then(|| quadruplet::quadruplet(left, right, &q, margin1, margin2))
        }
        Objective::Koch => {
            let pairs = balanced_pairs(labels, rng);
            let head = model
                .koch
                .as_ref()
                .expect("Koch head built for this objective");
            (!pairs.is_empty()).then(|| head.loss(left, right, &pairs))
        }
        Objective::Margin(kind) => {
            let head = model
                .centres
                .as_ref()
                .expect("centres built for this objective");
            let mut loss = head.loss(left, labels, kind);
            if model.net.is_pseudo() {
                loss = loss + head.loss(right, labels, kind);
            }
            Some(loss)
        }
        Objective::Prototypical { scale } => proto::prototypical(left, right, labels, scale),
    }
}

/// How far along the run is, 0..1: the step fraction, or the elapsed
/// fraction of the time budget when that is further.
pub(crate) fn schedule_progress(
    step: usize,
    steps: usize,
    time_budget: Option<Duration>,
    elapsed: Duration,
) -> f64 {
    let by_steps = step as f64 / steps.max(1) as f64;
    let by_time = time_budget.map_or(0.0, |b| elapsed.as_secs_f64() / b.as_secs_f64().max(1e-9));
    by_steps.max(by_time)
}

/// Learning rate at `progress` (0..1): cosine decay from `peak` to 5% of it.
pub(crate) fn lr_at(peak: f64, progress: f64) -> f64 {
    let t = progress.min(1.0);
    peak * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
}

/// A bar over `steps` optimiser steps (hidden unless `show`).
pub(crate) fn step_bar(steps: usize, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} steps, eta {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}
