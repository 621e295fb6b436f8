//! `siamedge-train distill`: trains a student ONNX encoder (e.g. a pruned
//! copy of the teacher) on the teacher's embeddings of aligned LFW faces,
//! freshly augmented at every step, and writes it back as ONNX with a
//! manifest whose thresholds are recalibrated.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use siamedge::config::ModelVariant;
use siamedge::eval::{face_crops, spread, thresholds_for, unpaired_images, FaceModels};
use siamedge::face::MtcnnConfig;
use siamedge::image::RgbImage;
use siamedge::model::{fill_input, Dim, Distance, Manifest, Network};
use siamedge::store::write_atomic;
use siamedge_models::data::augment::Augment;
use siamedge_models::device::Compute;
use siamedge_models::distill::{
    self, cosines, normalised, Batch, DistillConfig, DistillSet, GraphNet,
};
use siamedge_models::rng::Rng;
use siamedge_models::TrainError;

/// Augmentation of training faces: mirror images, small rotations, scale
/// changes and shifts (alignment is never perfect), lighting changes.
const FACE_AUGMENT: Augment = Augment {
    rotate_deg: 8.0,
    scale: 0.08,
    shear: 0.0,
    translate: 0.04,
    brightness: 16.0,
    contrast: 0.15,
    flip: true,
    light_background: false,
};

/// Arguments of `distill`.
#[derive(Args)]
pub struct DistillArgs {
    /// The teacher: an fp32 ONNX encoder with its manifest.
    #[arg(long)]
    teacher: PathBuf,
    /// The student to train: an ONNX encoder with its manifest and the
    /// teacher's input (e.g. the output of `siamedge-quantize prune`).
    #[arg(long)]
    student: PathBuf,
    /// The trained student to write (its manifest goes beside it).
    #[arg(long)]
    out: PathBuf,
    /// LFW folder: faces of the people in no pair are cut by the runtime's
    /// detector and alignment and used unlabeled (held-out people for the check).
    #[arg(long)]
    lfw: PathBuf,
    /// Folder with pnet/rnet/onet.onnx and the fp32 MobileFaceNet (default: the teacher's folder).
    #[arg(long)]
    face_models: Option<PathBuf>,
    /// Training faces.
    #[arg(long, default_value_t = 2000)]
    count: usize,
    /// Faces of other people for the before/after check and the thresholds.
    #[arg(long, default_value_t = 400)]
    held_out: usize,
    /// Train on the crops as cut (no random flips, rotation, scale, shift,
    /// brightness or contrast).
    #[arg(long)]
    no_augment: bool,
    /// Faces per step.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Optimiser steps (the most, with --time-budget).
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Stop after this many seconds of training; the learning rate follows the clock.
    #[arg(long)]
    time_budget: Option<f64>,
    /// Peak learning rate (Adam, cosine decay).
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// cpu (burn flex) or gpu (burn wgpu).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Seed of the batch order and augmentation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Log every this many steps.
    #[arg(long, default_value_t = 50)]
    log_every: usize,
    /// Threads cutting faces.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `distill`.
pub fn run(a: DistillArgs) -> Result<()> {
    let started = Instant::now();
    let teacher_manifest = Manifest::load_for(&a.teacher)
        .with_context(|| format!("{} needs its manifest", a.teacher.display()))?;
    let student_manifest = Manifest::load_for(&a.student)
        .with_context(|| format!("{} needs its manifest", a.student.display()))?;
    ensure!(
        teacher_manifest.input == student_manifest.input,
        "{} and {} take different inputs (see their manifests); a student must be fed like its teacher",
        a.teacher.display(),
        a.student.display()
    );
    let spec = teacher_manifest.input.clone();
    let &[_, c, h, w] = &spec.shape[..] else {
        bail!("{}: the input shape must be fixed", a.teacher.display());
    };
    ensure!(
        c > 0 && h > 0 && w > 0,
        "{}: the input shape must be fixed",
        a.teacher.display()
    );

    let (train_people, held_people) = split_people(&a.lfw, a.count, a.held_out)?;
    let models_dir = match &a.face_models {
        Some(d) => d.clone(),
        None => a.teacher.parent().unwrap_or(Path::new(".")).to_path_buf(),
    };
    let models = FaceModels {
        dir: &models_dir,
        variant: ModelVariant::Fp32,
        detector: MtcnnConfig::default(),
    };
    let train_crops = cut(models, &train_people, a.threads, "cutting training faces")?;
    let held_crops = cut(models, &held_people, a.threads, "cutting held-out faces")?;
    let train_images: Vec<RgbImage> = train_crops.into_iter().map(|(_, c)| c).collect();
    ensure!(
        !train_images.is_empty(),
        "no face found in the training images"
    );
    let held_labels: Vec<usize> = held_crops.iter().map(|(l, _)| *l).collect();
    let held_images: Vec<RgbImage> = held_crops.into_iter().map(|(_, c)| c).collect();

    let teacher_bytes =
        std::fs::read(&a.teacher).with_context(|| format!("reading {}", a.teacher.display()))?;
    let fixed: Vec<Dim> = [1, c, h, w].iter().map(|&d| Dim::Fixed(d)).collect();
    let mut teacher = Network::from_bytes(&a.teacher, &teacher_bytes, std::slice::from_ref(&fixed))
        .with_context(|| format!("loading the teacher {}", a.teacher.display()))?;
    let held = teacher_set(
        &mut teacher,
        &spec,
        [c, h, w],
        &held_images,
        "teacher embeddings (held out)",
    )?;

    let compute: Compute = a.device.parse()?;
    let device = compute.device()?;
    let student_bytes =
        std::fs::read(&a.student).with_context(|| format!("reading {}", a.student.display()))?;
    let student = GraphNet::from_onnx(&student_bytes, &device)
        .with_context(|| format!("replaying {} as a trainable graph", a.student.display()))?;
    let before = cosines(
        &distill::embed(&student, &held, 32, &device)?,
        &held.targets,
    );
    eprintln!(
        "student {}: {} trainable values; held-out cosine to the teacher before: mean {:.4}, min {:.4}",
        a.student.display(),
        student.parameter_count(),
        mean(&before),
        min(&before)
    );
    let config = DistillConfig {
        steps: a.steps,
        time_budget: a.time_budget.map(Duration::from_secs_f64),
        lr: a.lr,
        log_every: a.log_every,
        progress: !a.json,
    };
    let augment = if a.no_augment {
        Augment::NONE
    } else {
        FACE_AUGMENT
    };
    let mut rng = Rng::new(a.seed);
    let mut x = vec![0.0; c * h * w];
    let mut next = || -> Result<Batch, TrainError> {
        let mut batch = Batch {
            inputs: Vec::with_capacity(a.batch * x.len()),
            targets: Vec::new(),
            n: a.batch,
        };
        for _ in 0..a.batch {
            let img = augment.apply(&train_images[rng.below(train_images.len())], &mut rng);
            fill_input(&spec, &img.data, img.width, img.height, &mut x);
            let out = teacher.run(&[(&[1, c, h, w], &x)])?;
            batch.targets.extend(normalised(out.values(0)));
            batch.inputs.extend_from_slice(&x);
        }
        Ok(batch)
    };
    let train_started = Instant::now();
    let done = distill::distill(student, [c, h, w], &mut next, &config, &device)?;
    let train_seconds = train_started.elapsed().as_secs_f64();
    let after_burn = distill::embed(&done.student, &held, 32, &device)?;
    let after = cosines(&after_burn, &held.targets);

    let bytes = done.student.write_into(&student_bytes)?;
    let mut written = Network::from_bytes(&a.out, &bytes, &[fixed])
        .context("the runtime refused the distilled graph")?;
    let runtime: Vec<Vec<f32>> = held
        .inputs
        .iter()
        .map(|x| {
            let out = written.run(&[(&[1, c, h, w], x)])?;
            Ok(normalised(out.values(0)))
        })
        .collect::<Result<_>>()?;
    let parity = cosines(&runtime, &after_burn);
    ensure!(
        min(&parity) >= 0.9999,
        "the written file's embeddings differ from the trainer's (min cosine {:.6}); not writing {}",
        min(&parity),
        a.out.display()
    );
    let distance = student_manifest.distance.unwrap_or(Distance::Cosine);
    let fars: Vec<f64> = if student_manifest.thresholds.is_empty() {
        vec![1e-2, 1e-3, 1e-4]
    } else {
        student_manifest.thresholds.iter().map(|t| t.far).collect()
    };
    let refs: Vec<&[f32]> = runtime.iter().map(Vec::as_slice).collect();
    let scored = thresholds_for(&held_labels, &refs, distance, &fars);
    let calibrated_on = format!(
        "{} held-out aligned LFW faces of people in no pair ({} genuine, {} impostor pairs)",
        held.len(),
        scored.genuine_pairs,
        scored.impostor_pairs
    );
    let mut manifest = student_manifest.derived(
        &bytes,
        scored.thresholds.clone(),
        calibrated_on,
        format!(
            "{} ({}; {} steps in {train_seconds:.0} s on {})",
            std::env::args().collect::<Vec<_>>().join(" "),
            crate::trainer_version(),
            done.steps,
            crate::hardware(compute)
        ),
    );
    manifest.transform.calibration = format!(
        "{}; distilled from {} on {} faces",
        manifest.transform.calibration,
        a.teacher.display(),
        train_images.len()
    );
    write_atomic(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    manifest.save(&Manifest::path_for(&a.out))?;

    let report = json!({
        "teacher": a.teacher, "student": a.student, "out": a.out,
        "training_faces": train_images.len(), "augment": !a.no_augment, "held_out_faces": held.len(),
        "steps": done.steps, "batch": a.batch, "lr": a.lr,
        "train_seconds": train_seconds, "total_seconds": started.elapsed().as_secs_f64(),
        "hardware": crate::hardware(compute),
        "cosine_before": {"mean": mean(&before), "min": min(&before)},
        "cosine_after": {"mean": mean(&after), "min": min(&after)},
        "runtime_parity_min_cosine": min(&parity),
        "thresholds": scored.thresholds,
        "log": done.log,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "distilled {} -> {} in {} steps ({train_seconds:.0} s, {}) on {} faces\n\
             held-out cosine to the teacher: before mean {:.4} min {:.4}; after mean {:.4} min {:.4}\n\
             runtime vs trainer on the written file: min cosine {:.6}",
            a.student.display(),
            a.out.display(),
            done.steps,
            crate::hardware(compute),
            train_images.len(),
            mean(&before),
            min(&before),
            mean(&after),
            min(&after),
            min(&parity)
        );
        for t in &scored.thresholds {
            println!(
                "threshold at FAR {:e}: {:.4} (TAR {:.3})",
                t.far, t.value, t.tar
            );
        }
    }
    Ok(())
}

/// Training and held-out images with their person labels: held-out people
/// are every sixth person, so no face of theirs is trained on.
type Labelled = Vec<(usize, PathBuf)>;

fn split_people(lfw: &Path, count: usize, held_out: usize) -> Result<(Labelled, Labelled)> {
    let all = unpaired_images(lfw).with_context(|| format!("listing {}", lfw.display()))?;
    let (held, train): (Labelled, Labelled) = all.into_iter().partition(|(l, _)| l % 6 == 0);
    ensure!(
        !held.is_empty() && !train.is_empty(),
        "{}: too few people in no pair",
        lfw.display()
    );
    Ok((spread(&train, count), spread(&held, held_out)))
}

/// Aligned crops of the images where a face was found, with their labels.
fn cut(
    models: FaceModels<'_>,
    items: &[(usize, PathBuf)],
    threads: usize,
    what: &str,
) -> Result<Vec<(usize, RgbImage)>> {
    let paths: Vec<PathBuf> = items.iter().map(|(_, p)| p.clone()).collect();
    let bar = bar(what, paths.len());
    let crops = face_crops(models, &paths, threads, &|| bar.inc(1))
        .with_context(|| format!("cutting faces with the models in {}", models.dir.display()))?;
    bar.finish_and_clear();
    Ok(items
        .iter()
        .zip(crops)
        .filter(|(_, c)| c.detected)
        .map(|((l, _), c)| (*l, c.image))
        .collect())
}

fn teacher_set(
    teacher: &mut Network,
    spec: &siamedge::model::InputSpec,
    shape: [usize; 3],
    images: &[RgbImage],
    what: &str,
) -> Result<DistillSet> {
    let [c, h, w] = shape;
    let bar = bar(what, images.len());
    let mut set = DistillSet {
        shape,
        ..DistillSet::default()
    };
    for img in images {
        let mut x = vec![0.0; c * h * w];
        fill_input(spec, &img.data, img.width, img.height, &mut x);
        let out = teacher.run(&[(&[1, c, h, w], &x)])?;
        set.targets.push(normalised(out.values(0)));
        set.inputs.push(x);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(set)
}

fn bar(what: &str, len: usize) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len().max(1) as f32
}

fn min(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::INFINITY, f32::min)
}
