//! One function per kind of input that siamedge reads without having written
//! it: socket messages, gallery files, PAM arguments, configuration and
//! manifest TOML, board profiles, bundles, images, camera frames, TFLite
//! and ONNX models. Each takes arbitrary bytes and must return (an error is fine, a
//! panic, a hang or a huge allocation is a finding). The fuzz targets in
//! `fuzz/` call these functions, and `tests/replay.rs` feeds them every
//! corpus file and every crash found, so that a regression fails the suite.

use std::io::BufReader;
use std::path::Path;
use std::time::Duration;

use siamedge::config::DeviceConfig;
use siamedge::face::gallery::UserGallery;
use siamedge::image::{decode, FrameConverter, FrameInfo, GreyImage, PixelFormat, RgbImage};
use siamedge::model::{Dim, Manifest, Network};
use siamedge_protocol::{read_message, valid_user, write_message, Outcome, Request, Response};

/// A fuzz target's function.
pub type Target = fn(&[u8]);

/// The fuzz targets: name (the folder of its corpus) and function.
pub const TARGETS: [(&str, Target); 11] = [
    ("socket_request", socket_request),
    ("gallery_file", gallery_file),
    ("pam_args", pam_args),
    ("device_config", device_config),
    ("manifest", manifest),
    ("board_profile", board_profile),
    ("bundle_archive", bundle_archive),
    ("image_file", image_file),
    ("camera_frame", camera_frame),
    ("tflite_model", tflite_model),
    ("onnx_model", onnx_model),
];

/// The largest frame side [`camera_frame`] claims (its first bytes choose the size).
const MAX_FRAME_SIDE: usize = 4096;

/// What the unlock daemon does with the bytes of one connection before any
/// camera work: read messages (at most one line of `MAX_MESSAGE` bytes each),
/// check the user name, and write back the answer to a bad one.
pub fn socket_request(data: &[u8]) {
    let mut reader = BufReader::new(data);
    loop {
        let (response, more) = match read_message::<Request>(&mut reader) {
            Ok(None) => return,
            Ok(Some(Request::Status)) => (Response::new(Outcome::Ok, "ready"), true),
            Ok(Some(Request::Enrolled { user } | Request::Authenticate { user, .. })) => {
                if valid_user(&user) {
                    (Response::new(Outcome::Ok, user), true)
                } else {
                    (
                        Response::new(Outcome::Invalid, "not a valid user name"),
                        true,
                    )
                }
            }
            Err(e) => (Response::new(Outcome::Invalid, e.to_string()), false),
        };
        let mut out = Vec::new();
        write_message(&mut out, &response).expect("writing to memory");
        if !more {
            return;
        }
    }
}

/// A gallery file as the daemon reads it for user `alice`.
pub fn gallery_file(data: &[u8]) {
    let _ = UserGallery::parse(data, "alice");
}

/// The PAM module's arguments: the bytes split at NUL and newline, as the
/// PAM configuration line would give them.
pub fn pam_args(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let args: Vec<&str> = text.split(['\0', '\n']).collect();
    let parsed = pam_siamedge::Args::parse(&args);
    assert!(parsed.timeout >= Duration::from_secs(1));
}

/// The device configuration (`/etc/siamedge/siamedge.toml`).
pub fn device_config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = DeviceConfig::parse(text);
    }
}

/// A model manifest (`X.toml` beside `X.onnx`).
pub fn manifest(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(m) = Manifest::parse(text) {
            let _ = m.to_toml();
        }
    }
}

/// A board profile (`boards/NAME/board.toml`).
pub fn board_profile(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = siamedge_boards::board::Board::parse(text, "rpi4");
    }
}

/// A bundle archive as `siamedge-board verify` opens it.
pub fn bundle_archive(data: &[u8]) {
    let _ = siamedge_boards::bundle::Bundle::from_bytes(Path::new("fuzz.tar.gz"), data);
}

/// An image file (JPEG, PNG, PGM, PPM) as the CLI and enrolment read it.
pub fn image_file(data: &[u8]) {
    let _ = decode(data);
}

/// A camera frame: the first byte picks the pixel format, the next four the
/// claimed width and height (up to [`MAX_FRAME_SIDE`]), the rest is the
/// frame, converted to RGB and to grey as the capture loop does.
pub fn camera_frame(data: &[u8]) {
    let [f, w0, w1, h0, h1, frame @ ..] = data else {
        return;
    };
    let formats = PixelFormat::ALL;
    let info = FrameInfo {
        format: formats[*f as usize % formats.len()],
        width: usize::from(u16::from_le_bytes([*w0, *w1])) % (MAX_FRAME_SIDE + 1),
        height: usize::from(u16::from_le_bytes([*h0, *h1])) % (MAX_FRAME_SIDE + 1),
        sequence: 0,
        timestamp: Duration::ZERO,
    };
    let mut converter = FrameConverter::new();
    let _ = converter.to_rgb(frame, &info, &mut RgbImage::default());
    let _ = converter.to_grey(frame, &info, &mut GreyImage::default());
}

/// A TFLite model through `siamedge-quantize import`, in memory.
pub fn tflite_model(data: &[u8]) {
    let options = siamedge_quantize::import::ImportOptions::default();
    let _ = siamedge_quantize::import::import(Path::new("fuzz.tflite"), data, &options);
}

/// An ONNX model file through the loader with a fixed 1x3x24x24 input: the
/// integer engine's planner for a QDQ graph, tract's loader and optimiser
/// otherwise (the manifest beside a model is the `manifest` target).
pub fn onnx_model(data: &[u8]) {
    let shape = vec![Dim::Fixed(1), Dim::Fixed(3), Dim::Fixed(24), Dim::Fixed(24)];
    let _ = Network::from_bytes(Path::new("fuzz.onnx"), data, &[shape]);
}
