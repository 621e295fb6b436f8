//! `siamedge info MODEL`: a model's manifest, the engine that runs it, and its optimised graph.

use std::path::{Path, PathBuf};

use clap::Args;
use siamedge::model::{Execution, Model};

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
}

/// Runs `info`.
pub fn run(models: &Path, args: InfoArgs) -> anyhow::Result<()> {
    let path = if args.model.exists() || args.model.components().count() > 1 {
        args.model.clone()
    } else {
        models.join(&args.model)
    };
    let model = Model::load_with(&path, args.engine)?;
    print!("{}", model.manifest().to_toml());
    println!("\n# engine: {}", model.network().engine_report());
    let ops = model.network().op_names();
    println!("# optimised graph: {} nodes", ops.len());
    let mut counts = std::collections::BTreeMap::new();
    for op in ops {
        *counts.entry(op).or_insert(0) += 1;
    }
    for (op, n) in counts {
        println!("#   {op}: {n}");
    }
    Ok(())
}
