//! Cross-compiling the runtime binary for a board with Debian's GNU
//! cross toolchains: `cargo build --profile board --target <triple>`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::board::BuildTarget;
use crate::BoardError;

/// The C cross compiler (also the linker) and the Debian packages providing
/// it and the target's C library, per target triple.
fn toolchain(triple: &str) -> Option<(&'static str, &'static str)> {
    match triple {
        "aarch64-unknown-linux-gnu" => Some((
            "aarch64-linux-gnu-gcc",
            "gcc-aarch64-linux-gnu libc6-dev-arm64-cross",
        )),
        "armv7-unknown-linux-gnueabihf" => Some((
            "arm-linux-gnueabihf-gcc",
            "gcc-arm-linux-gnueabihf libc6-dev-armhf-cross",
        )),
        _ => None,
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The cargo environment variable `CARGO_TARGET_<TRIPLE>_<KEY>`.
pub fn target_env(triple: &str, key: &str) -> String {
    format!(
        "CARGO_TARGET_{}_{key}",
        triple.to_uppercase().replace(['-', '.'], "_")
    )
}

/// What a cross build made.
#[derive(Debug, Clone)]
pub struct BuiltRuntime {
    /// The stripped `siamedge` binary.
    pub binary: PathBuf,
    /// The PAM module `libpam_siamedge.so`.
    pub pam_module: PathBuf,
}

/// Builds `siamedge` (`board` profile) and the PAM module (`release`) for
/// `target`, in a target folder of its own under `workspace/target/boards/`
/// (each CPU setting compiles everything once), and returns their paths.
pub fn build_runtime(workspace: &Path, target: &BuildTarget) -> Result<BuiltRuntime, BoardError> {
    let (gcc, packages) = toolchain(&target.target).ok_or_else(|| BoardError::Toolchain {
        reason: format!("no cross toolchain is known for {}", target.target),
    })?;
    if !on_path(gcc) {
        return Err(BoardError::Toolchain {
            reason: format!(
                "{gcc} is not installed: run `sudo apt-get install {packages}` and `rustup target add {}`",
                target.target
            ),
        });
    }
    let mut dir_name = format!("{}-{}", target.arch(), target.target_cpu);
    for f in &target.target_features {
        dir_name.push_str(&f.replace('+', "_"));
    }
    let target_dir = workspace.join("target/boards").join(dir_name);
    let envs = [
        (
            "CARGO_TARGET_DIR".to_string(),
            target_dir.display().to_string(),
        ),
        (target_env(&target.target, "LINKER"), gcc.to_string()),
        (target_env(&target.target, "RUSTFLAGS"), target.rustflags()),
    ];
    let runtime = [
        "build",
        "--profile",
        "board",
        "-p",
        "siamedge",
        "--bin",
        "siamedge",
    ];
    cargo(workspace, &envs, &runtime, &target.target)?;
    // The PAM module in `release`, not `board`: `board` aborts on panic, and
    // the module catches panics so that a bug cannot take `login` down.
    let module = ["build", "--release", "-p", "pam-siamedge", "--lib"];
    cargo(workspace, &envs, &module, &target.target)?;
    let out = target_dir.join(&target.target);
    Ok(BuiltRuntime {
        binary: out.join("board/siamedge"),
        pam_module: out.join("release/libpam_siamedge.so"),
    })
}

/// Runs `cargo ARGS --target TRIPLE` in `workspace` with `envs`, showing the command.
fn cargo(
    workspace: &Path,
    envs: &[(String, String)],
    args: &[&str],
    triple: &str,
) -> Result<(), BoardError> {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--target", triple]);
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace)
        .args(&all)
        .envs(envs.iter().cloned());
    let shown = envs
        .iter()
        .map(|(k, v)| format!("{k}=\"{v}\" "))
        .collect::<String>()
        + "cargo "
        + &all.join(" ");
    eprintln!("+ {shown}");
    let status = cmd.status().map_err(|e| BoardError::Command {
        command: shown.clone(),
        reason: e.to_string(),
    })?;
    if !status.success() {
        return Err(BoardError::Command {
            command: shown,
            reason: status.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_variables_are_named_from_the_triple() {
        assert_eq!(
            target_env("armv7-unknown-linux-gnueabihf", "LINKER"),
            "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER"
        );
        assert_eq!(
            toolchain("aarch64-unknown-linux-gnu").unwrap().0,
            "aarch64-linux-gnu-gcc"
        );
        assert!(toolchain("riscv64gc-unknown-linux-gnu").is_none());
    }
}
