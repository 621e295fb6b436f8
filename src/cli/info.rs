//! `siamedge info MODEL`: a model's manifest, the engine that runs it, and its
//! optimised graph; `--profile` times each node of that graph.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use siamedge::model::{load_verified, Execution, Manifest, Model, Network, NodeTime, Role};

/// Arguments of `info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The model file (its manifest X.toml must sit beside it); a bare name
    /// such as `MobileFaceNet.int8.onnx` is looked up in --models.
    model: PathBuf,
    /// Engine: auto (integer kernels for a quantized file they can plan,
    /// else tract), tract, or int8 (an error when the integer kernels cannot run it).
    #[arg(long, default_value = "auto")]
    engine: Execution,
    /// Time every node of tract's optimised graph on a zero input and print
    /// them slowest first, with the kernel tract chose (direct, im2col, depthwise).
    #[arg(long)]
    profile: bool,
    /// Input shape for --profile, as N,C,A,B in the model's layout (needed
    /// for a model with symbolic sizes such as P-Net; default: the manifest's).
    #[arg(long, value_delimiter = ',', requires = "profile")]
    shape: Vec<usize>,
    /// Timed runs per node for --profile (after one untimed run).
    #[arg(long, default_value_t = 20, requires = "profile")]
    runs: usize,
    /// Print the profile as JSON (one object per node, in graph order).
    #[arg(long, requires = "profile")]
    json: bool,
}

/// Runs `info`.
pub fn run(models: &Path, args: InfoArgs) -> anyhow::Result<()> {
    let path = if args.model.exists() || args.model.components().count() > 1 {
        args.model.clone()
    } else {
        models.join(&args.model)
    };
    if let Some(head) = tracker_head(&path, args.engine)? {
        if args.profile {
            bail!(
                "--profile times models with one image input; {} is the tracker's head, which takes two feature maps (`siamedge bench` times it within the tracker)",
                path.display()
            );
        }
        return describe(&head.0, &head.1);
    }
    let mut model = Model::load_with(&path, args.engine)?;
    if args.profile {
        return profile(&mut model, &path, &args);
    }
    describe(model.manifest(), model.network())
}

/// The tracker's head at `path` with its manifest, loaded for its two feature
/// inputs; `None` for any other model.
fn tracker_head(path: &Path, engine: Execution) -> anyhow::Result<Option<(Manifest, Network)>> {
    let manifest = Manifest::load_for(path)?;
    let Some(spec) = manifest
        .tracker
        .as_ref()
        .filter(|_| manifest.role == Role::TrackHead)
    else {
        return Ok(None);
    };
    let (bytes, manifest) = load_verified(path)?;
    let network = Network::from_bytes_with(path, &bytes, &spec.head_inputs(), engine)?;
    Ok(Some((manifest, network)))
}

/// Prints the manifest, the engine and the optimised graph's operators.
fn describe(manifest: &Manifest, network: &Network) -> anyhow::Result<()> {
    print!("{}", manifest.to_toml());
    println!("\n# engine: {}", network.engine_report());
    let ops = network.op_names();
    println!("# optimised graph: {} nodes", ops.len());
    let mut counts = BTreeMap::new();
    for op in ops {
        *counts.entry(op).or_insert(0) += 1;
    }
    for (op, n) in counts {
        println!("#   {op}: {n}");
    }
    Ok(())
}

/// `--profile`: each node's time, slowest first, then the time per operator.
fn profile(model: &mut Model, path: &Path, args: &InfoArgs) -> anyhow::Result<()> {
    let shape: [usize; 4] = if args.shape.is_empty() {
        model
            .manifest()
            .input
            .shape
            .clone()
            .try_into()
            .expect("validated rank 4")
    } else {
        match args.shape.clone().try_into() {
            Ok(shape) => shape,
            Err(given) => bail!("--shape takes four sizes N,C,A,B, got {given:?}"),
        }
    };
    if shape.contains(&0) {
        bail!(
            "{} has symbolic input sizes ({:?}): give the shape to profile with --shape N,C,A,B",
            path.display(),
            model.manifest().input.shape
        );
    }
    let nodes = model
        .profile(shape, args.runs.max(1))
        .with_context(|| format!("profiling {}", path.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&nodes)?);
        return Ok(());
    }
    print!(
        "{}",
        profile_table(&path.display().to_string(), shape, &nodes)
    );
    Ok(())
}

/// The profile as Markdown: the nodes slowest first (those over 1 % of the
/// total), then the total per operator.
fn profile_table(file: &str, shape: [usize; 4], nodes: &[NodeTime]) -> String {
    use std::fmt::Write;
    let total: f64 = nodes.iter().map(|n| n.ms).sum();
    let mut out = format!(
        "# {file}, input {shape:?}: {:.3} ms per run over {} nodes\n\n",
        total,
        nodes.len()
    );
    out.push_str("| ms | % | op | node | output | tract's choice |\n|---:|---:|---|---|---|---|\n");
    let mut order: Vec<&NodeTime> = nodes.iter().collect();
    order.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    for n in order.iter().filter(|n| n.ms >= total * 0.01) {
        let _ = writeln!(
            out,
            "| {:.3} | {:.1} | {} | {} | {} | {} |",
            n.ms,
            100.0 * n.ms / total,
            n.op,
            n.node,
            n.output,
            n.info
        );
    }
    let mut per_op: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    for n in nodes {
        let e = per_op.entry(&n.op).or_default();
        e.0 += 1;
        e.1 += n.ms;
    }
    let mut per_op: Vec<_> = per_op.into_iter().collect();
    per_op.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1));
    out.push_str("\n| op | nodes | ms | % |\n|---|---:|---:|---:|\n");
    for (op, (count, ms)) in per_op {
        let _ = writeln!(
            out,
            "| {op} | {count} | {ms:.3} | {:.1} |",
            100.0 * ms / total
        );
    }
    out
}
