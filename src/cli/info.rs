//! `siamedge info MODEL.onnx`.

use std::path::PathBuf;

use clap::Args;
use siamedge::model::Model;

/// Arguments of `info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The model file (its manifest X.toml must sit beside it).
    model: PathBuf,
}

/// Runs `info`.
pub fn run(args: InfoArgs) -> anyhow::Result<()> {
    let model = Model::load(&args.model)?;
    print!("{}", model.manifest().to_toml());
    let ops = model.network().op_names();
    println!("\n# optimised graph: {} nodes", ops.len());
    let mut counts = std::collections::BTreeMap::new();
    for op in ops {
        *counts.entry(op).or_insert(0) += 1;
    }
    for (op, n) in counts {
        println!("#   {op}: {n}");
    }
    Ok(())
}
