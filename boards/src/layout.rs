//! Where a bundle installs each file on the board, and the systemd unit and
//! udev rule that refer to those places.

use siamedge::config::INSTALLED_MODELS;

use crate::board::Board;

/// The runtime binary.
pub const BINARY: &str = "/usr/local/bin/siamedge";
/// The device configuration.
pub const CONFIG: &str = "/etc/siamedge/siamedge.toml";
/// The systemd unit.
pub const UNIT: &str = "/etc/systemd/system/siamedge.service";
/// The udev rule.
pub const UDEV_RULE: &str = "/etc/udev/rules.d/60-siamedge.rules";

/// The `pam-auth-update` profile of the PAM module (not enabled by the
/// bundle: `sudo pam-auth-update --enable siamedge` is the owner's choice).
pub const PAM_CONFIG: &str = "/usr/share/pam-configs/siamedge";

/// The profile's text, as shipped in pam/pam-auth-update/.
pub const PAM_CONFIG_TEXT: &str = include_str!("../../pam/pam-auth-update/siamedge");

/// Where the PAM module goes: libpam's module folder of the board's multiarch triple.
pub fn pam_module(arch: crate::board::Arch) -> &'static str {
    match arch {
        crate::board::Arch::Aarch64 => "/usr/lib/aarch64-linux-gnu/security/pam_siamedge.so",
        crate::board::Arch::Armv7 => "/usr/lib/arm-linux-gnueabihf/security/pam_siamedge.so",
    }
}

/// The models folder (the runtime's configuration default).
pub const MODELS: &str = INSTALLED_MODELS;

/// Where `systemctl enable` links the unit (the bundle is installed enabled).
pub const UNIT_WANTS: &str = "/etc/systemd/system/multi-user.target.wants/siamedge.service";

/// The systemd unit that starts the face-unlock daemon with the installed
/// binary, configuration and models. It runs as root, as fprintd does (the
/// gallery is root's, 0600 in a 0700 folder), confined by systemd: read-only
/// system, its own state, runtime (socket) and log folders, the camera and
/// the GPIO chip as its only devices, AF_UNIX only. After any stop, a crash
/// or SIGKILL included, `gpio off` drives the relay to its off level again,
/// since a released line can keep its last level on a Raspberry Pi.
pub fn systemd_unit(board: &Board) -> String {
    let d = &board.device;
    format!(
        "# siamedge for {description}; installed by siamedge-board.\n\
[Unit]\n\
Description=siamedge face unlock ({name})\n\
After=systemd-udev-settle.service\n\
ConditionPathExists={CONFIG}\n\
\n\
[Service]\n\
Type=simple\n\
ExecStart={BINARY} --models {models} unlock --config {CONFIG}\n\
ExecStopPost={BINARY} gpio off --config {CONFIG}\n\
StateDirectory=siamedge siamedge/faces\n\
StateDirectoryMode=0700\n\
RuntimeDirectory=siamedge\n\
RuntimeDirectoryMode=0755\n\
LogsDirectory=siamedge\n\
LogsDirectoryMode=0700\n\
UMask=0077\n\
DevicePolicy=closed\n\
DeviceAllow={camera} rw\n\
DeviceAllow={chip} rw\n\
ProtectSystem=strict\n\
ProtectHome=yes\n\
PrivateTmp=yes\n\
PrivateNetwork=yes\n\
NoNewPrivileges=yes\n\
RestrictAddressFamilies=AF_UNIX\n\
SystemCallFilter=@system-service\n\
SystemCallArchitectures=native\n\
MemoryDenyWriteExecute=yes\n\
ProtectKernelTunables=yes\n\
ProtectKernelModules=yes\n\
ProtectKernelLogs=yes\n\
ProtectControlGroups=yes\n\
ProtectClock=yes\n\
ProtectHostname=yes\n\
RestrictNamespaces=yes\n\
RestrictRealtime=yes\n\
LockPersonality=yes\n\
CapabilityBoundingSet=\n\
Restart=on-failure\n\
RestartSec=2\n\
\n\
[Install]\n\
WantedBy=multi-user.target\n",
        description = board.description,
        name = board.name,
        models = MODELS,
        camera = d.camera.device.display(),
        chip = d.gpio.chip.display(),
    )
}

/// The udev rule giving the service's groups the camera and the GPIO chip.
pub fn udev_rule(board: &Board) -> String {
    let d = &board.device;
    let node = |p: &std::path::Path| {
        p.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    format!(
        "# siamedge for {description}: the camera and the GPIO chip the daemon drives.\n\
SUBSYSTEM==\"video4linux\", KERNEL==\"{camera}\", GROUP=\"video\", MODE=\"0660\"\n\
SUBSYSTEM==\"gpio\", KERNEL==\"{chip}\", GROUP=\"gpio\", MODE=\"0660\"\n",
        description = board.description,
        camera = node(&d.camera.device),
        chip = node(&d.gpio.chip),
    )
}

/// The device configuration file's text.
pub fn device_config(board: &Board) -> String {
    format!(
        "# siamedge device configuration for {}; generated from boards/{}/board.toml.\n{}",
        board.description,
        board.name,
        board.device.to_toml()
    )
}
