//! Evaluation: embedding a set, N-way K-shot episodes, the Omniglot 20-way
//! one-shot runs and recall@K.

use std::path::Path;

use burn::tensor::Device;
use serde::Serialize;
use siamedge::image::RgbImage;

use crate::data::{ImageSet, Preprocess};
use crate::net::Encoder;
use crate::rng::Rng;
use crate::TrainError;

/// Images per forward pass when embedding a set.
const CHUNK: usize = 128;

/// Embeds `images` with `encoder` (in evaluation mode) on `device`; row-major `[n, dim]`.
pub fn embed(
    encoder: &Encoder,
    prep: &Preprocess,
    images: &[RgbImage],
    device: &Device,
) -> Vec<f32> {
    let mut out = Vec::new();
    for chunk in images.chunks(CHUNK) {
        let x = prep.batch(chunk, device);
        out.extend(
            encoder
                .forward(x)
                .to_data()
                .try_to_vec::<f32>()
                .expect("f32 embeddings"),
        );
    }
    out
}

fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index of the row of `gallery` (`dim` wide) nearest to `query`.
pub fn nearest(query: &[f32], gallery: &[f32], dim: usize) -> usize {
    gallery
        .chunks(dim)
        .enumerate()
        .min_by(|a, b| dist2(query, a.1).total_cmp(&dist2(query, b.1)))
        .map(|(i, _)| i)
        .expect("non-empty gallery")
}

/// What N-way K-shot episodes to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpisodeSpec {
    /// Classes per episode.
    pub n_way: usize,
    /// Support items per class.
    pub k_shot: usize,
    /// Query items per class.
    pub queries: usize,
    /// Number of episodes.
    pub count: usize,
    /// Seed of the draws.
    pub seed: u64,
}

/// Accuracy of N-way K-shot episodes on embedded items: each episode draws
/// `n_way` classes, `k_shot` support and `queries` query items of each;
/// queries go to the class with the nearest support mean (prototype).
pub fn episodes(
    emb: &[f32],
    labels: &[usize],
    dim: usize,
    spec: &EpisodeSpec,
) -> Result<f64, TrainError> {
    let EpisodeSpec {
        n_way,
        k_shot,
        queries,
        count,
        seed,
    } = *spec;
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    let mut by_class = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l].push(i);
    }
    let eligible: Vec<usize> = (0..classes)
        .filter(|&c| by_class[c].len() >= k_shot + queries)
        .collect();
    if eligible.len() < n_way {
        return Err(TrainError::Data {
            what: "evaluation set".into(),
            reason: format!(
                "{} classes have {} or more items; a {n_way}-way episode needs {n_way}",
                eligible.len(),
                k_shot + queries
            ),
        });
    }
    let mut rng = Rng::new(seed);
    let (mut right, mut total) = (0usize, 0usize);
    for _ in 0..count {
        let mut pool = eligible.clone();
        rng.shuffle(&mut pool);
        let mut protos = Vec::with_capacity(n_way * dim);
        let mut qs = Vec::new();
        for (way, &c) in pool[..n_way].iter().enumerate() {
            let mut items = by_class[c].clone();
            rng.shuffle(&mut items);
            let mut mean = vec![0.0f32; dim];
            for &i in &items[..k_shot] {
                for (m, v) in mean.iter_mut().zip(&emb[i * dim..][..dim]) {
                    *m += v / k_shot as f32;
                }
            }
            protos.extend(mean);
            qs.extend(items[k_shot..k_shot + queries].iter().map(|&i| (i, way)));
        }
        for (i, way) in qs {
            right += usize::from(nearest(&emb[i * dim..][..dim], &protos, dim) == way);
            total += 1;
        }
    }
    Ok(right as f64 / total as f64)
}

/// Recall@K for retrieval: the share of items whose `k` nearest other items include one of their class.
pub fn recall_at_k(emb: &[f32], labels: &[usize], dim: usize, k: usize) -> f64 {
    let n = labels.len();
    let mut hits = 0usize;
    for i in 0..n {
        let q = &emb[i * dim..][..dim];
        let mut d: Vec<(f32, usize)> = (0..n)
            .filter(|&j| j != i)
            .map(|j| (dist2(q, &emb[j * dim..][..dim]), j))
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        hits += usize::from(d.iter().take(k).any(|&(_, j)| labels[j] == labels[i]));
    }
    hits as f64 / n as f64
}

/// One Omniglot one-shot run's result.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// Run folder name (`run01`...).
    pub run: String,
    /// Test items classified correctly.
    pub correct: usize,
    /// Test items.
    pub total: usize,
}

/// The Omniglot 20-way one-shot runs under `runs` (`runNN/training/classNN.png`,
/// `runNN/test/itemNN.png`, `runNN/class_labels.txt`): each test item is
/// assigned the training image nearest in embedding space.
pub fn omniglot_runs(
    encoder: &Encoder,
    prep: &Preprocess,
    runs: &Path,
    device: &Device,
) -> Result<Vec<RunResult>, TrainError> {
    let dim = encoder.fc.weight.val().dims()[1];
    omniglot_runs_with(prep, runs, dim, &mut |images| {
        Ok(embed(encoder, prep, images, device))
    })
}

/// Maps input-size images to their concatenated embeddings.
pub type EmbedImages<'a> = dyn FnMut(&[RgbImage]) -> Result<Vec<f32>, TrainError> + 'a;

/// [`omniglot_runs`] with any embedding function (`embed` maps input-size
/// images to their concatenated `dim`-wide embeddings), e.g. an exported
/// ONNX file running in the siamedge runtime.
pub fn omniglot_runs_with(
    prep: &Preprocess,
    runs: &Path,
    dim: usize,
    embed: &mut EmbedImages<'_>,
) -> Result<Vec<RunResult>, TrainError> {
    let mut dirs: Vec<_> = std::fs::read_dir(runs)
        .map_err(|e| TrainError::io(runs, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("class_labels.txt").is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(TrainError::Data {
            what: runs.display().to_string(),
            reason: "no runNN/class_labels.txt found".into(),
        });
    }
    let mut scratch = siamedge::image::ResizeScratch::default();
    let mut load = |p: &Path| -> Result<RgbImage, TrainError> {
        Ok(prep.fit(&siamedge::image::load(p)?, &mut scratch))
    };
    let mut out = Vec::new();
    for dir in dirs {
        let labels_path = dir.join("class_labels.txt");
        let text =
            std::fs::read_to_string(&labels_path).map_err(|e| TrainError::io(&labels_path, e))?;
        let mut tests = Vec::new();
        let mut classes: Vec<String> = Vec::new();
        let mut truth = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut parts = line.split_whitespace();
            let (Some(item), Some(class)) = (parts.next(), parts.next()) else {
                return Err(TrainError::Data {
                    what: labels_path.display().to_string(),
                    reason: format!("bad line {line:?}"),
                });
            };
            let file = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
            tests.push(load(&dir.join("test").join(file(item)))?);
            let class = file(class);
            let at = classes.iter().position(|c| *c == class).unwrap_or_else(|| {
                classes.push(class.clone());
                classes.len() - 1
            });
            truth.push(at);
        }
        let train: Vec<RgbImage> = classes
            .iter()
            .map(|c| load(&dir.join("training").join(c)))
            .collect::<Result<_, _>>()?;
        let g = embed(&train)?;
        let q = embed(&tests)?;
        let correct = q
            .chunks(dim)
            .zip(&truth)
            .filter(|(e, t)| nearest(e, &g, dim) == **t)
            .count();
        out.push(RunResult {
            run: dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            correct,
            total: truth.len(),
        });
    }
    Ok(out)
}

/// Embeds a whole image set with `encoder`.
pub fn embed_set(
    encoder: &Encoder,
    prep: &Preprocess,
    set: &ImageSet,
    device: &Device,
) -> Vec<f32> {
    embed(encoder, prep, &set.images, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_retrieval_and_episodes() {
        // 1-D embeddings: class 0 at 0, 0.1; class 1 at 1, 1.1; class 2 at 0.55.
        let emb = [0.0f32, 0.1, 1.0, 1.1, 0.55, 0.56];
        let labels = [0, 0, 1, 1, 2, 2];
        // Nearest others: 0->0.1 (hit), 0.1->0 (hit), 1->1.1, 1.1->1, 0.55->0.56, 0.56->0.55: all hit.
        assert_eq!(recall_at_k(&emb, &labels, 1, 1), 1.0);
        let emb2 = [0.0f32, 0.5, 0.45, 1.05];
        let labels2 = [0, 0, 1, 1];
        // k=1: 0->0.45, 0.5->0.45, 0.45->0.5, 1.05->0.5: all miss.
        // k=2: 0->{0.45, 0.5} hit, 0.5->{0.45, 0} hit, 0.45->{0.5, 0} miss, 1.05->{0.5, 0.45} hit.
        assert_eq!(recall_at_k(&emb2, &labels2, 1, 1), 0.0);
        assert_eq!(recall_at_k(&emb2, &labels2, 1, 2), 0.75);
        let spec = |n_way, count| EpisodeSpec {
            n_way,
            k_shot: 1,
            queries: 1,
            count,
            seed: 1,
        };
        assert_eq!(episodes(&emb, &labels, 1, &spec(3, 20)).unwrap(), 1.0);
        assert!(episodes(&emb, &labels, 1, &spec(4, 1)).is_err());
        assert_eq!(nearest(&[0.9], &[0.0, 1.0, 2.0], 1), 1);
    }
}
