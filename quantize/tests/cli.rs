//! The `siamedge-quantize` binary as a user runs it: `quantize` the real
//! MobileFaceNet (fetched by `models/zoo/fetch.sh`) and `report --json` on it,
//! and the int8 file must plan entirely into siamedge's integer engine.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use siamedge::model::{Execution, Model};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn quantize_cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_siamedge-quantize"));
    c.current_dir(root());
    c
}

/// The fetched fp32 MobileFaceNet, or the command to fetch it.
fn mobilefacenet() -> PathBuf {
    let p = root().join("models/build/onnx/MobileFaceNet.onnx");
    assert!(
        p.is_file(),
        "{} is missing: run models/zoo/fetch.sh first",
        p.display()
    );
    p
}

/// Twelve calibration/comparison images: the six demo photos and their mirror images.
fn image_folder(dir: &Path) -> PathBuf {
    let samples = root().join("models/build/samples");
    let out = dir.join("images");
    std::fs::create_dir_all(&out).unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(&samples).expect("run models/zoo/fetch-samples.sh first") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "jpg") {
            continue;
        }
        let img = siamedge::image::load(&path).unwrap();
        let mut mirrored = img.clone();
        for y in 0..img.height {
            for x in 0..img.width {
                let src = (y * img.width + img.width - 1 - x) * 3;
                let dst = (y * img.width + x) * 3;
                mirrored.data[dst..dst + 3].copy_from_slice(&img.data[src..src + 3]);
            }
        }
        for (i, im) in [img, mirrored].iter().enumerate() {
            let mut png = Vec::new();
            let mut enc = png::Encoder::new(&mut png, im.width as u32, im.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.write_header()
                .unwrap()
                .write_image_data(&im.data)
                .unwrap();
            std::fs::write(out.join(format!("{n:02}-{i}.png")), png).unwrap();
        }
        n += 1;
    }
    assert_eq!(n, 6, "six demo photos");
    out
}

fn json_of(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn quantize_then_report_and_the_int8_file_runs_on_the_integer_engine() {
    let fp32 = mobilefacenet();
    let dir = tempfile::tempdir().unwrap();
    let images = image_folder(dir.path());
    let int8 = dir.path().join("MobileFaceNet.int8.onnx");
    let q = json_of(
        &quantize_cli()
            .arg("quantize")
            .arg(&fp32)
            .arg(&int8)
            .arg("--images")
            .arg(&images)
            .args(["--calibration-images", "8", "--eval-images", "4", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(q["recipe"]["int8_convs"], 52, "{q}");
    assert_eq!(q["recipe"]["float_convs"], 0, "{q}");
    assert_eq!(q["recipe"]["calibration_inputs"], 8, "{q}");
    let cosine = q["cosine_vs_fp32"]["mean"].as_f64().unwrap();
    assert!(cosine > 0.98 && cosine <= 1.0, "{q}");
    assert!(
        int8.with_extension("toml").is_file(),
        "the manifest is written beside it"
    );

    let model = Model::load_with(&int8, Execution::Int8)
        .unwrap_or_else(|e| panic!("the integer engine declined the quantizer's file: {e}"));
    assert_eq!(model.network().engine_name(), "siamedge-int8");
    assert!(model.network().int8_declined().is_none());
    let fp32_model = Model::load(&fp32).unwrap();
    let e = Model::load_with(&fp32, Execution::Int8)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a QDQ-quantized graph"), "{e}");
    assert_eq!(fp32_model.network().engine_name(), "tract");

    let r = json_of(
        &quantize_cli()
            .arg("report")
            .arg(&fp32)
            .arg(&int8)
            .args(["--runs", "3", "--warmup", "1", "--json"])
            .output()
            .unwrap(),
    );
    let (a, b) = (&r["reference_facts"], &r["candidate_facts"]);
    assert!(a["conv_macs"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(
        a["conv_macs"], b["conv_macs"],
        "quantization keeps every MAC: {r}"
    );
    assert_eq!(b["int8_convs"], b["convs"], "{r}");
    let latency = &r["siamedge_latency"];
    assert_eq!(latency["candidate_engine"], "siamedge-int8", "{r}");
    assert_eq!(latency["reference_engine"], "tract", "{r}");
    assert!(r["accuracy"].is_null(), "no LFW given: {r}");
}

#[test]
fn import_errors_name_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.tflite");
    std::fs::write(&bogus, b"not a flatbuffer").unwrap();
    let out = quantize_cli()
        .arg("import")
        .arg(&bogus)
        .arg(dir.path().join("out.onnx"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bogus.tflite"), "{stderr}");
    assert!(
        !dir.path().join("out.onnx").exists(),
        "nothing written on failure"
    );
}
