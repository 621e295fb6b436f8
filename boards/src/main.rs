//! `siamedge-board`: build, bundle and deploy the siamedge runtime for a board.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use siamedge::config::ModelVariant;
use siamedge_boards::board::{default_boards_dir, Arch, Board};
use siamedge_boards::bundle::Bundle;
use siamedge_boards::{cross, deploy};

/// Cross-build the siamedge runtime for a Raspberry Pi or Jetson, bundle it
/// with its models, configuration, systemd unit and udev rule, and install
/// the bundle on an SD card's root filesystem or over ssh.
///
/// Board profiles live in boards/<board>/board.toml. Cross builds need
/// `sudo apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross
/// gcc-arm-linux-gnueabihf libc6-dev-armhf-cross` and `rustup target add
/// aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf`.
#[derive(Debug, Parser)]
#[command(name = "siamedge-board", version, about, long_about)]
struct Cli {
    /// Folder holding one folder per board.
    #[arg(long, global = true, default_value_os_t = default_boards_dir())]
    boards: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the board profiles.
    List,
    /// Cross-build the runtime for a board, print its stripped size, and bundle it.
    Build(BundleArgs),
    /// Bundle an already built binary (e.g. from another machine) for a board.
    Bundle {
        /// The built `siamedge` binary for the board's target.
        #[arg(long)]
        binary: PathBuf,
        /// The built PAM module (libpam_siamedge.so) for the board's target;
        /// without it the bundle has no PAM module.
        #[arg(long)]
        pam_module: Option<PathBuf>,
        #[command(flatten)]
        args: BundleArgs,
    },
    /// Verify a bundle and list what it installs where.
    Verify {
        /// The bundle (.tar.gz).
        bundle: PathBuf,
    },
    /// Install a verified bundle into a mounted root filesystem or over ssh.
    Deploy(DeployArgs),
}

#[derive(Debug, Args)]
struct BundleArgs {
    /// Board name (see `list`).
    board: String,
    /// 64-bit OS (every board) or 32-bit Raspberry Pi OS.
    #[arg(long, value_enum, default_value_t = Arch::Aarch64)]
    arch: Arch,
    /// Model variant to bundle instead of the profile's (fp32, int8, pruned-int8).
    #[arg(long)]
    variant: Option<ModelVariant>,
    /// Folder with the models and their manifests.
    #[arg(long, default_value = "models/build/onnx")]
    models: PathBuf,
    /// Where to write the bundle.
    #[arg(long, default_value = "target/bundles")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct DeployArgs {
    /// The bundle (.tar.gz) written by `build` or `bundle`.
    bundle: PathBuf,
    /// A mounted root filesystem (e.g. the SD card's rootfs partition).
    #[arg(long, required_unless_present = "ssh", conflicts_with = "ssh")]
    rootfs: Option<PathBuf>,
    /// A running board, as `user@host` (needs rsync on both ends and root on the board).
    #[arg(long)]
    ssh: Option<String>,
    /// With --ssh: print the commands instead of running them.
    #[arg(long, requires = "ssh")]
    dry_run: bool,
}

fn load_board(boards: &Path, args: &BundleArgs) -> anyhow::Result<Board> {
    let mut board = Board::load(boards, &args.board)?;
    if let Some(v) = args.variant {
        board.device.variant = v;
    }
    Ok(board)
}

fn write_bundle(
    board: &Board,
    args: &BundleArgs,
    binary: &Path,
    pam_module: Option<&Path>,
) -> anyhow::Result<()> {
    let bundle = Bundle::assemble(board, args.arch, binary, pam_module, &args.models)?;
    let path = bundle.write(&args.out)?;
    println!(
        "bundle {} ({} files, variant {}, {:.1} MiB)",
        path.display(),
        bundle.manifest.files.len(),
        bundle.manifest.variant,
        std::fs::metadata(&path)?.len() as f64 / (1 << 20) as f64
    );
    Ok(())
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::List => {
            for name in Board::names(&cli.boards)? {
                let b = Board::load(&cli.boards, &name)?;
                let armv7 = b.build_armv7.as_ref().map_or("", |_| ", armv7");
                println!(
                    "{name:12} {} [{} {}{armv7}; variant {}, {} threads]",
                    b.description,
                    b.build.arch(),
                    b.build.rustflags(),
                    b.device.variant.name(),
                    b.device.threads
                );
            }
        }
        Command::Build(args) => {
            let board = load_board(&cli.boards, &args)?;
            let target = board.target(args.arch)?;
            let workspace = cli
                .boards
                .parent()
                .context("the boards folder has no parent (the workspace)")?;
            let built = cross::build_runtime(workspace, target)?;
            let binary = built.binary;
            let size = std::fs::metadata(&binary)
                .with_context(|| binary.display().to_string())?
                .len();
            println!(
                "stripped {} binary: {size} bytes ({:.2} MiB) at {}",
                target.target,
                size as f64 / (1 << 20) as f64,
                binary.display()
            );
            write_bundle(&board, &args, &binary, Some(&built.pam_module))?;
        }
        Command::Bundle {
            binary,
            pam_module,
            args,
        } => {
            let board = load_board(&cli.boards, &args)?;
            if pam_module.is_none() {
                eprintln!("siamedge-board: no --pam-module: the bundle has no PAM module (face unlock at login)");
            }
            write_bundle(&board, &args, &binary, pam_module.as_deref())?;
        }
        Command::Verify { bundle } => {
            let b = Bundle::open(&bundle)?;
            let m = &b.manifest;
            println!(
                "{}: board {}, {} ({}), siamedge {}, variant {}; models match their manifests",
                bundle.display(),
                m.board,
                m.target,
                m.target_cpu,
                m.version,
                m.variant
            );
            for f in &m.files {
                println!(
                    "  {:o} {:>10} {}",
                    f.mode,
                    b.contents[&f.path].len(),
                    f.path
                );
            }
        }
        Command::Deploy(args) => {
            let bundle = Bundle::open(&args.bundle)?;
            if let Some(rootfs) = &args.rootfs {
                let r = deploy::install_into_rootfs(&bundle, rootfs)?;
                println!(
                    "installed into {}: {} file(s) written, {} unchanged",
                    rootfs.display(),
                    r.written.len(),
                    r.unchanged.len()
                );
                if let Some(kept) = r.kept_config {
                    println!(
                        "your changed device configuration was kept; the bundle's is at {}",
                        kept.display()
                    );
                }
                println!("the unit siamedge.service is enabled: the daemon starts at the next boot (enrol faces with `sudo siamedge enrol USER`)");
            } else if let Some(host) = &args.ssh {
                deploy::install_over_ssh(&bundle, host, args.dry_run)?;
            }
        }
    }
    Ok(())
}
