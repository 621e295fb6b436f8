//! The `siamedge` command line: compare faces, evaluate on LFW, inspect models.

mod cli;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    cli::Cli::parse().run()
}
