//! The device configuration (`/etc/siamedge/siamedge.toml` on a board): which
//! model variant to run, how many threads, which camera and which GPIO lines.
//! The board bundler writes it from the `[device]` table of a `board.toml`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where a board bundle installs the models and their manifests.
pub const INSTALLED_MODELS: &str = "/usr/local/share/siamedge/models";

/// Why a device configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the device configuration {path}: {error}")]
    Read {
        /// The configuration file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The file is not a valid configuration (a typo names the field).
    #[error("{path} is not a valid device configuration: {reason}")]
    Invalid {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong, with the line.
        reason: String,
    },
}

/// Which build of the face-embedding model a device runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelVariant {
    /// The imported float model.
    Fp32,
    /// Post-training int8.
    Int8,
    /// Structurally pruned, then int8.
    PrunedInt8,
}

impl ModelVariant {
    /// Every variant, fastest-to-build first.
    pub const ALL: [ModelVariant; 3] = [
        ModelVariant::Fp32,
        ModelVariant::Int8,
        ModelVariant::PrunedInt8,
    ];

    /// The embedding model's file name for this variant, inside a models folder.
    pub fn embedder_file(self) -> &'static str {
        match self {
            ModelVariant::Fp32 => "MobileFaceNet.onnx",
            ModelVariant::Int8 => "MobileFaceNet.int8.onnx",
            ModelVariant::PrunedInt8 => "MobileFaceNet.pruned-int8.onnx",
        }
    }

    /// The tracker backbone's file name for this variant, inside the tracker's models folder.
    pub fn track_backbone_file(self) -> &'static str {
        match self {
            ModelVariant::Fp32 => "nanotrack_v3_backbone.onnx",
            ModelVariant::Int8 => "nanotrack_v3_backbone.int8.onnx",
            ModelVariant::PrunedInt8 => "nanotrack_v3_backbone.pruned-int8.onnx",
        }
    }

    /// The engine this variant must run on: the integer engine for the int8
    /// variants (falling back to fake quantization in tract would be 2x slower
    /// in silence), either for fp32.
    pub fn execution(self) -> crate::model::Execution {
        match self {
            ModelVariant::Fp32 => crate::model::Execution::Auto,
            ModelVariant::Int8 | ModelVariant::PrunedInt8 => crate::model::Execution::Int8,
        }
    }

    /// The name used in configuration files and reports.
    pub fn name(self) -> &'static str {
        match self {
            ModelVariant::Fp32 => "fp32",
            ModelVariant::Int8 => "int8",
            ModelVariant::PrunedInt8 => "pruned-int8",
        }
    }
}

impl std::str::FromStr for ModelVariant {
    type Err = String;

    /// Parses `fp32`, `int8` or `pruned-int8`.
    fn from_str(s: &str) -> Result<ModelVariant, String> {
        ModelVariant::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| format!("unknown variant {s:?}: use fp32, int8 or pruned-int8"))
    }
}

/// The V4L2 camera a device captures from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CameraConfig {
    /// Device node, e.g. `/dev/video0`.
    pub device: PathBuf,
    /// Pixel format as a V4L2 FourCC: `MJPG`, `YUYV`, `GREY` or `RGB3`.
    pub format: String,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frame rate to ask for (the driver's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<u32>,
    /// Frames dropped after the stream starts, while exposure settles.
    #[serde(default = "default_settle_frames")]
    pub settle_frames: u32,
    /// Manual exposure in the driver's units (100 µs for UVC cameras); automatic when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<i64>,
    /// Brightness in the driver's range; the driver's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brightness: Option<i64>,
}

fn default_settle_frames() -> u32 {
    3
}

/// The GPIO character device and lines a device drives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GpioConfig {
    /// GPIO character device, e.g. `/dev/gpiochip0`.
    pub chip: PathBuf,
    /// Line offset on `chip` that drives the door relay.
    pub relay_line: u32,
    /// Line offset on `chip` of the status LED.
    pub led_line: u32,
    /// The relay board energises its coil on a low level ("low level trigger").
    #[serde(default)]
    pub relay_active_low: bool,
    /// How long an accepted face holds the door relay, in milliseconds.
    #[serde(default = "default_relay_pulse_ms")]
    pub relay_pulse_ms: u64,
}

fn default_relay_pulse_ms() -> u64 {
    500
}

/// A device's runtime configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DeviceConfig {
    /// Folder holding the models and their manifests.
    #[serde(default = "installed_models")]
    pub models: PathBuf,
    /// Which embedding-model build to run.
    pub variant: ModelVariant,
    /// Worker threads (one single-threaded model instance each).
    pub threads: usize,
    /// The camera.
    pub camera: CameraConfig,
    /// The relay and LED lines.
    pub gpio: GpioConfig,
    /// The face-unlock daemon and its policy.
    #[serde(default)]
    pub unlock: UnlockConfig,
}

/// What the liveness net's verdict does to an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LivenessMode {
    /// Not run.
    Off,
    /// Run and logged; a spoof still counts.
    Warn,
    /// A frame the net calls a spoof never counts toward acceptance.
    Require,
}

/// The unlock daemon's files and its decision policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct UnlockConfig {
    /// Folder of the enrolled faces (one file per user).
    pub gallery: PathBuf,
    /// Folder of the daemon's state (failed-attempt counts).
    pub state: PathBuf,
    /// The daemon's socket.
    pub socket: PathBuf,
    /// The audit log (JSON lines).
    pub audit_log: PathBuf,
    /// Rotate the audit log when it grows past this many bytes.
    pub audit_max_bytes: u64,
    /// Longest attempt, counted from the request (a hung camera counts too).
    pub timeout_ms: u64,
    /// Accept when `k` of the last `n` compared frames match.
    pub k: usize,
    /// The window of frames `k` counts in.
    pub n: usize,
    /// False-accept rate per attempt whose calibrated threshold decides.
    pub far: f64,
    /// Smallest face accepted, as its box's shorter side in pixels.
    pub min_face: f32,
    /// Smallest sharpness (variance of the Laplacian of the aligned face's luma).
    pub min_sharpness: f32,
    /// What a spoof verdict does.
    pub liveness: LivenessMode,
    /// Failed attempts before a lockout.
    pub max_failures: u32,
    /// The first lockout; each further one doubles it.
    pub lockout_ms: u64,
    /// Group whose members may ask for any user (root always may; others only for themselves).
    pub admin_group: String,
    /// Pulse the door relay on an accepted face.
    pub door: bool,
    /// Keep the last frame of each rejected attempt in this folder (0700,
    /// files 0600); unset, none is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<PathBuf>,
}

impl Default for UnlockConfig {
    fn default() -> UnlockConfig {
        UnlockConfig {
            gallery: PathBuf::from("/var/lib/siamedge/faces"),
            state: PathBuf::from("/var/lib/siamedge"),
            socket: PathBuf::from(siamedge_protocol::DEFAULT_SOCKET),
            audit_log: PathBuf::from("/var/log/siamedge/audit.jsonl"),
            audit_max_bytes: 10 << 20,
            timeout_ms: 4000,
            k: 2,
            n: 3,
            far: 1e-5,
            min_face: 80.0,
            min_sharpness: 20.0,
            liveness: LivenessMode::Warn,
            max_failures: 5,
            lockout_ms: 30_000,
            admin_group: "siamedge".into(),
            door: false,
            snapshots: None,
        }
    }
}

fn installed_models() -> PathBuf {
    PathBuf::from(INSTALLED_MODELS)
}

impl DeviceConfig {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<DeviceConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        DeviceConfig::parse(&text).map_err(|reason| ConfigError::Invalid {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses and validates configuration text.
    pub fn parse(text: &str) -> Result<DeviceConfig, String> {
        let config: DeviceConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if self.threads == 0 {
            return Err("threads must be at least 1".into());
        }
        if !["MJPG", "YUYV", "GREY", "RGB3"].contains(&self.camera.format.as_str()) {
            return Err(format!(
                "camera.format {:?} is not one of MJPG, YUYV, GREY, RGB3",
                self.camera.format
            ));
        }
        if self.camera.width == 0 || self.camera.height == 0 {
            return Err("camera.width and camera.height must be positive".into());
        }
        if self.camera.fps == Some(0) {
            return Err("camera.fps must be positive".into());
        }
        if self.gpio.relay_pulse_ms == 0 || self.gpio.relay_pulse_ms > 60_000 {
            return Err(format!(
                "gpio.relay-pulse-ms {} is outside 1..=60000",
                self.gpio.relay_pulse_ms
            ));
        }
        let u = &self.unlock;
        if u.k == 0 || u.k > u.n || u.n > crate::unlock::MAX_WINDOW {
            return Err(format!(
                "unlock.k {} of unlock.n {} must satisfy 1 <= k <= n <= {}",
                u.k,
                u.n,
                crate::unlock::MAX_WINDOW
            ));
        }
        if !(u.far > 0.0 && u.far < 1.0) {
            return Err(format!("unlock.far {} must be between 0 and 1", u.far));
        }
        if u.timeout_ms == 0 || u.timeout_ms > 60_000 {
            return Err(format!(
                "unlock.timeout-ms {} is outside 1..=60000",
                u.timeout_ms
            ));
        }
        if self.gpio.relay_line == self.gpio.led_line {
            return Err(format!(
                "gpio.relay-line and gpio.led-line are both {}",
                self.gpio.relay_line
            ));
        }
        Ok(())
    }

    /// The embedding model this configuration runs.
    pub fn embedder_path(&self) -> PathBuf {
        self.models.join(self.variant.embedder_file())
    }

    /// The configuration as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a device configuration always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RPI4: &str = r#"
variant = "int8"
threads = 4
[camera]
device = "/dev/video0"
format = "MJPG"
width = 640
height = 480
[gpio]
chip = "/dev/gpiochip0"
relay-line = 17
led-line = 27
"#;

    #[test]
    fn parses_and_round_trips_with_the_installed_models_folder() {
        let c = DeviceConfig::parse(RPI4).unwrap();
        assert_eq!(c.models, PathBuf::from(INSTALLED_MODELS));
        assert_eq!(c.variant, ModelVariant::Int8);
        assert_eq!(
            c.embedder_path(),
            PathBuf::from(INSTALLED_MODELS).join("MobileFaceNet.int8.onnx")
        );
        assert_eq!(DeviceConfig::parse(&c.to_toml()).unwrap(), c);
    }

    #[test]
    fn variant_names_round_trip() {
        for v in ModelVariant::ALL {
            assert_eq!(v.name().parse::<ModelVariant>(), Ok(v));
        }
        assert!("int4"
            .parse::<ModelVariant>()
            .unwrap_err()
            .contains("pruned-int8"));
    }

    #[test]
    fn a_typo_names_the_field() {
        let err = DeviceConfig::parse(&RPI4.replace("relay-line", "relay_line")).unwrap_err();
        assert!(err.contains("relay_line"), "{err}");
    }

    #[test]
    fn impossible_values_are_refused() {
        for (from, to, says) in [
            ("threads = 4", "threads = 0", "threads"),
            ("\"MJPG\"", "\"H264\"", "H264"),
            ("led-line = 27", "led-line = 17", "both 17"),
            ("\"int8\"", "\"int4\"", "int4"),
        ] {
            let err = DeviceConfig::parse(&RPI4.replace(from, to)).unwrap_err();
            assert!(err.contains(says), "{from} -> {to}: {err}");
        }
    }
}
