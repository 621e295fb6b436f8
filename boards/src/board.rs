//! A board profile: `boards/<name>/board.toml`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use siamedge::config::DeviceConfig;

use crate::BoardError;

/// One cross-compilation target of a board.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildTarget {
    /// Rust target triple.
    pub target: String,
    /// LLVM CPU name for `-C target-cpu`.
    pub target_cpu: String,
    /// Extra `-C target-feature` entries, each `+name` or `-name`.
    #[serde(default)]
    pub target_features: Vec<String>,
}

impl BuildTarget {
    /// The `RUSTFLAGS` for this target.
    pub fn rustflags(&self) -> String {
        let mut flags = format!("-C target-cpu={}", self.target_cpu);
        if !self.target_features.is_empty() {
            flags.push_str(&format!(
                " -C target-feature={}",
                self.target_features.join(",")
            ));
        }
        flags
    }

    /// Short architecture name used in bundle names: `aarch64` or `armv7`.
    pub fn arch(&self) -> &str {
        self.target.split('-').next().unwrap_or(&self.target)
    }
}

/// Which of a board's targets to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// 64-bit OS images (every board).
    Aarch64,
    /// 32-bit Raspberry Pi OS.
    Armv7,
}

/// A board profile.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Board {
    /// Folder name under `boards/`.
    pub name: String,
    /// Human-readable name and CPU.
    pub description: String,
    /// The 64-bit target.
    pub build: BuildTarget,
    /// The 32-bit target, for boards with a 32-bit OS image.
    #[serde(default)]
    pub build_armv7: Option<BuildTarget>,
    /// Installed on the board as `/etc/siamedge/siamedge.toml`.
    pub device: DeviceConfig,
}

const KNOWN_TARGETS: [(&str, Arch); 2] = [
    ("aarch64-unknown-linux-gnu", Arch::Aarch64),
    ("armv7-unknown-linux-gnueabihf", Arch::Armv7),
];

impl Board {
    /// Reads `boards_dir/<name>/board.toml`.
    pub fn load(boards_dir: &Path, name: &str) -> Result<Board, BoardError> {
        let path = boards_dir.join(name).join("board.toml");
        if !path.is_file() {
            return Err(BoardError::UnknownBoard {
                name: name.into(),
                known: Board::names(boards_dir)?.join(", "),
            });
        }
        let invalid = |reason: String| BoardError::InvalidProfile {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| invalid(e.to_string()))?;
        Board::parse(&text, name).map_err(invalid)
    }

    /// Reads and checks the text of board `name`'s `board.toml`.
    pub fn parse(text: &str, name: &str) -> Result<Board, String> {
        let board: Board = toml::from_str(text).map_err(|e| e.to_string())?;
        board.validate(name)?;
        Ok(board)
    }

    /// Names of every board folder holding a `board.toml`, sorted.
    pub fn names(boards_dir: &Path) -> Result<Vec<String>, BoardError> {
        let entries = std::fs::read_dir(boards_dir).map_err(|e| BoardError::Io {
            path: boards_dir.to_path_buf(),
            error: e,
        })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("board.toml").is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    fn validate(&self, folder: &str) -> Result<(), String> {
        if self.name != folder {
            return Err(format!(
                "name = {:?} but the folder is {folder:?}; they must match",
                self.name
            ));
        }
        self.device.validate()?;
        for (t, want) in [(Some(&self.build), Arch::Aarch64)]
            .into_iter()
            .chain([(self.build_armv7.as_ref(), Arch::Armv7)])
        {
            let Some(t) = t else { continue };
            match KNOWN_TARGETS.iter().find(|(triple, _)| *triple == t.target) {
                Some((_, arch)) if *arch == want => {}
                _ => {
                    return Err(format!(
                        "target {:?} does not belong in this table: use {}",
                        t.target,
                        KNOWN_TARGETS
                            .iter()
                            .find(|(_, a)| *a == want)
                            .map_or("", |k| k.0)
                    ))
                }
            }
            if let Some(f) = t
                .target_features
                .iter()
                .find(|f| !f.starts_with(['+', '-']))
            {
                return Err(format!("target feature {f:?} must start with + or -"));
            }
            if want == Arch::Armv7 && t.target_features.iter().any(|f| f == "+dotprod") {
                return Err("+dotprod is an AArch64 feature; the armv7 build cannot use it".into());
            }
        }
        Ok(())
    }

    /// The build target for `arch`, or an error naming the board.
    pub fn target(&self, arch: Arch) -> Result<&BuildTarget, BoardError> {
        match arch {
            Arch::Aarch64 => Ok(&self.build),
            Arch::Armv7 => self
                .build_armv7
                .as_ref()
                .ok_or_else(|| BoardError::NoArmv7 {
                    board: self.name.clone(),
                }),
        }
    }
}

/// The `boards/` folder of this repository.
pub fn default_boards_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_loads_and_dotprod_is_only_on_a76_and_a78() {
        let dir = default_boards_dir();
        let names = Board::names(&dir).unwrap();
        assert_eq!(
            names,
            [
                "jetson-nano",
                "jetson-orin",
                "rpi-zero2w",
                "rpi3",
                "rpi4",
                "rpi5"
            ]
        );
        for name in &names {
            let b = Board::load(&dir, name).unwrap();
            let dot = b.build.target_features.iter().any(|f| f == "+dotprod");
            let modern = ["cortex-a76", "cortex-a78"].contains(&b.build.target_cpu.as_str());
            assert_eq!(dot, modern, "{name}");
            assert_eq!(b.build_armv7.is_some(), name.starts_with("rpi"), "{name}");
        }
        let rpi5 = Board::load(&dir, "rpi5").unwrap();
        assert_eq!(
            rpi5.build.rustflags(),
            "-C target-cpu=cortex-a76 -C target-feature=+dotprod"
        );
        assert_eq!(rpi5.target(Arch::Armv7).unwrap().arch(), "armv7");
    }

    fn write_profile(text: &str) -> (tempfile::TempDir, Result<Board, BoardError>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rpi4")).unwrap();
        std::fs::write(dir.path().join("rpi4/board.toml"), text).unwrap();
        let loaded = Board::load(dir.path(), "rpi4");
        (dir, loaded)
    }

    #[test]
    fn bad_profiles_name_the_file_and_the_problem() {
        let good = std::fs::read_to_string(default_boards_dir().join("rpi4/board.toml")).unwrap();
        for (from, to, says) in [
            ("target-cpu", "target_cpu", "target_cpu"),
            ("name = \"rpi4\"", "name = \"rpi5\"", "folder"),
            (
                "target-features = []",
                "target-features = [\"dotprod\"]",
                "start with",
            ),
            (
                "gnueabihf\"\ntarget-cpu = \"cortex-a72\"\ntarget-features = []",
                "gnueabihf\"\ntarget-cpu = \"cortex-a72\"\ntarget-features = [\"+dotprod\"]",
                "AArch64 feature",
            ),
            (
                "\"aarch64-unknown-linux-gnu\"",
                "\"x86_64-unknown-linux-gnu\"",
                "x86_64",
            ),
            ("threads = 4", "threads = 0", "threads"),
        ] {
            assert!(good.contains(from), "{from}");
            let (_dir, loaded) = write_profile(&good.replacen(from, to, 1));
            let err = loaded.unwrap_err().to_string();
            assert!(
                err.contains("rpi4/board.toml") && err.contains(says),
                "{from}: {err}"
            );
        }
        let err = Board::load(&default_boards_dir(), "rpi6")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rpi6") && err.contains("rpi5"), "{err}");
    }
}
