//! The device configuration as the source of defaults for command-line flags:
//! `--config FILE`, else `$SIAMEDGE_CONFIG`, else `/etc/siamedge/siamedge.toml`
//! when it exists. An explicit flag always wins over the file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use siamedge::config::DeviceConfig;

/// Where a board keeps its configuration.
pub const INSTALLED_CONFIG: &str = "/etc/siamedge/siamedge.toml";

/// Loads the configuration named by `--config`, or the installed one if present.
pub fn load_defaults(explicit: Option<&Path>) -> anyhow::Result<Option<DeviceConfig>> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let installed = PathBuf::from(INSTALLED_CONFIG);
            if !installed.exists() {
                return Ok(None);
            }
            installed
        }
    };
    DeviceConfig::load(&path)
        .map(Some)
        .with_context(|| format!("fix {} or pass --config", path.display()))
}
