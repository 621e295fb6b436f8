//! The `siamedge` binary as a user runs it: `compare` (text and `--json`),
//! `eval lfw` on a tiny LFW-layout fixture, `info` and `info --profile`,
//! `bench --json` (with replayed camera frames),
//! `capture` from a replay, `gpio` on a missing chip, and the errors for a
//! missing model, a sha256 mismatch and a manifest typo.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn siamedge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siamedge"))
        .current_dir(common::root())
        .env_remove("SIAMEDGE_MODELS")
        .env_remove("SIAMEDGE_CONFIG")
        .args(args)
        .output()
        .unwrap()
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn stderr_of_failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn compare_decides_same_and_different_people_with_json_fields() {
    let models = common::models();
    let (a, b, c) = (
        common::sample("obama.jpg"),
        common::sample("obama2.jpg"),
        common::sample("biden.jpg"),
    );
    let same = stdout_json(&siamedge(&[
        "compare",
        s(&a),
        s(&b),
        "--json",
        "--models",
        s(&models),
    ]));
    for field in [
        "score",
        "threshold",
        "far",
        "same_person",
        "variant",
        "engine",
        "images",
    ] {
        assert!(!same[field].is_null(), "field {field} missing: {same}");
    }
    assert_eq!(same["same_person"], true, "{same}");
    assert_eq!(same["variant"], "fp32");
    assert!(same["score"].as_f64().unwrap() > same["threshold"].as_f64().unwrap());
    assert_eq!(same["images"][0]["faces_found"], 1, "{same}");
    let other = stdout_json(&siamedge(&["compare", s(&a), s(&c), "--json"]));
    assert_eq!(other["same_person"], false, "{other}");
    let text = siamedge(&["compare", s(&a), s(&b)]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("SAME person") && text.contains("embedder: fp32 on tract"),
        "{text}"
    );
}

#[test]
fn eval_lfw_runs_the_protocol_on_a_tiny_fixture() {
    let data = tempfile::tempdir().unwrap();
    for (person, files) in [
        (
            "Obama",
            ["obama.jpg", "obama2.jpg", "obama3.jpg"].as_slice(),
        ),
        ("Biden", ["biden.jpg"].as_slice()),
    ] {
        fs::create_dir_all(data.path().join("images").join(person)).unwrap();
        for (i, f) in files.iter().enumerate() {
            let to = data
                .path()
                .join("images")
                .join(person)
                .join(format!("{person}_{:04}.jpg", i + 1));
            fs::copy(common::sample(f), to).unwrap();
        }
    }
    fs::write(
        data.path().join("pairs.txt"),
        "2 1\nObama 1 2\nObama 1 Biden 1\nObama 2 3\nObama 3 Biden 1\n",
    )
    .unwrap();
    let roc = data.path().join("roc.png");
    let r = stdout_json(&siamedge(&[
        "eval",
        "lfw",
        "--data",
        s(data.path()),
        "--threads",
        "1",
        "--json",
        "--roc",
        s(&roc),
    ]));
    assert_eq!(r["pairs"], 4, "{r}");
    assert_eq!(r["detector_misses"], 0, "{r}");
    assert_eq!(r["roc_auc"], 1.0, "{r}");
    assert_eq!(&fs::read(&roc).unwrap()[..4], b"\x89PNG");
}

/// `siamedge info MODEL` on a model in the test models folder: its stdout.
fn info(model: &str) -> String {
    let out = siamedge(&["info", model, "--models", s(&common::models())]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn info_shows_the_manifest_engine_and_graph_of_a_model_in_models() {
    let text = info("MobileFaceNet.onnx");
    assert!(text.contains("role = \"face-embed\""), "{text}");
    assert!(text.contains("# engine: tract"), "{text}");
    assert!(text.contains("# optimised graph:"), "{text}");
    let e = stderr_of_failure(&siamedge(&[
        "info",
        "MobileFaceNet.onnx",
        "--models",
        s(&common::models()),
        "--engine",
        "int8",
    ]));
    assert!(e.contains("not a QDQ-quantized graph"), "{e}");
}

#[test]
fn info_loads_the_tracker_head_with_its_two_feature_inputs() {
    let head = common::root().join("models/zoo/nanotrack/nanotrack_v3_head.onnx");
    let text = info(s(&head));
    assert!(text.contains("role = \"track-head\""), "{text}");
    assert!(text.contains("#   Source: 2"), "{text}");
}

/// `siamedge bench ARGS --runs RUNS --warmup 1 --json --variant fp32` on the test models.
fn bench_json(args: &[&str], runs: &str) -> Value {
    let models = common::models();
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.extend([
        "--runs",
        runs,
        "--warmup",
        "1",
        "--json",
        "--variant",
        "fp32",
        "--models",
        s(&models),
    ]);
    stdout_json(&siamedge(&all))
}

#[test]
fn bench_json_has_every_section() {
    let r = bench_json(&[], "3");
    let v = &r["variants"][0];
    assert_eq!(v["variant"], "fp32", "{r}");
    assert_eq!(v["engine"], "tract", "{r}");
    for field in ["load_ms", "throughput_per_s", "model_bytes"] {
        assert!(v[field].as_f64().unwrap() > 0.0, "{field}: {r}");
    }
    assert_eq!(v["embed"]["runs"], 3, "{r}");
    let frames = r["frames"].as_array().unwrap();
    assert_eq!(
        frames.len(),
        8,
        "YUYV and MJPG to RGB and grey at 640x480 and 1280x720: {r}"
    );
    assert!(frames
        .iter()
        .any(|f| f["conversion"] == "MJPG -> RGB" && f["width"] == 1280));
    assert_eq!(r["debug_build"], cfg!(debug_assertions), "{r}");
}

#[test]
fn info_profile_times_every_node_of_the_plan() {
    let r = stdout_json(&siamedge(&[
        "info",
        "pnet.onnx",
        "--profile",
        "--shape",
        "1,3,40,30",
        "--runs",
        "2",
        "--json",
        "--models",
        s(&common::models()),
    ]));
    let nodes = r.as_array().unwrap();
    assert!(nodes.len() > 10, "{r}");
    assert!(
        nodes.iter().all(|n| n["ms"].as_f64().unwrap() >= 0.0),
        "{r}"
    );
    let total: f64 = nodes.iter().map(|n| n["ms"].as_f64().unwrap()).sum();
    assert!(total > 0.0, "{r}");
    assert!(
        nodes
            .iter()
            .any(|n| n["op"] == "OptMatMul" && n["output"] != ""),
        "{r}"
    );
    assert!(
        nodes.iter().all(|n| n["op"] != "Reduce<Max>"),
        "the importer writes the softmax's maximum over two classes as a Max of slices: {r}"
    );
    let text = info("FaceAntiSpoofing.onnx");
    assert!(
        text.contains("im2col instead of direct spatial convolution")
            || text.contains("direct spatial convolution kept"),
        "the liveness net's 3x3 convolutions get both lowerings timed: {text}"
    );
    let e = stderr_of_failure(&siamedge(&[
        "info",
        "pnet.onnx",
        "--profile",
        "--models",
        s(&common::models()),
    ]));
    assert!(
        e.contains("symbolic input sizes") && e.contains("--shape"),
        "{e}"
    );
}

#[test]
fn bench_replays_photos_as_camera_frames_with_every_stage() {
    let photo = common::sample("obama.jpg");
    let r = bench_json(&[s(&photo), "--frame-size", "320x240"], "2");
    assert_eq!(r["input"], "1 photo(s) replayed as 320x240 frames", "{r}");
    let v = &r["variants"][0];
    let stages: Vec<&str> = v["pipeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| st["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "decode",
            "detect",
            "detect: P-Net",
            "detect: R-Net",
            "detect: O-Net",
            "align",
            "liveness",
            "embed",
            "total"
        ],
        "{r}"
    );
    let d = &v["detector"];
    assert_eq!(d["frames"], 3, "one warm-up and two timed runs: {r}");
    assert!(d["scales"].as_f64().unwrap() >= 3.0, "{r}");
    assert!(
        d["rnet_crops"].as_f64().unwrap() >= d["onet_crops"].as_f64().unwrap(),
        "{r}"
    );
    assert!(d["onet_crops"].as_f64().unwrap() >= 1.0, "{r}");
    let e = stderr_of_failure(&siamedge(&[
        "bench",
        s(&common::sample("obama.jpg")),
        "--frame-size",
        "640by480",
    ]));
    assert!(e.contains("640x480"), "{e}");
}

#[test]
fn capture_records_a_replay_that_replays_again() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let samples = common::root().join("models/build/samples");
    let obama = common::sample("obama.jpg");
    let r = stdout_json(&siamedge(&[
        "capture",
        "--source",
        s(&obama),
        s(&common::sample("biden.jpg")),
        "--frames",
        "2",
        "--out",
        s(&first),
        "--json",
    ]));
    assert_eq!(
        (r["frames"].as_u64(), r["format"].as_str()),
        (Some(2), Some("MJPG")),
        "{r}"
    );
    assert_eq!(
        fs::read(first.join("frame-000001.jpg")).unwrap(),
        fs::read(&obama).unwrap(),
        "JPEG bytes kept as sent"
    );
    let r = stdout_json(&siamedge(&[
        "capture",
        "--source",
        s(&first),
        "--frames",
        "2",
        "--out",
        s(&second),
        "--json",
    ]));
    assert_eq!(r["frames"], 2, "{r}");
    let e = stderr_of_failure(&siamedge(&[
        "capture",
        "--source",
        s(&first),
        "--frames",
        "3",
        "--out",
        s(&dir.path().join("third")),
    ]));
    assert!(
        e.contains("replay ended after 2 frames") && e.contains("after 2 of 3 frames"),
        "{e}"
    );
    let e = stderr_of_failure(&siamedge(&[
        "capture",
        "--source",
        s(&samples),
        "--frames",
        "1",
        "--out",
        s(&first),
    ]));
    assert!(e.contains("already holds a recording"), "{e}");
}

#[test]
fn hardware_errors_name_the_device() {
    let e = stderr_of_failure(&siamedge(&[
        "capture",
        "--device",
        "/dev/video-none-such",
        "--frames",
        "1",
        "--out",
        "/tmp/siamedge-never",
    ]));
    assert!(e.contains("no camera at /dev/video-none-such"), "{e}");
    let e = stderr_of_failure(&siamedge(&[
        "gpio",
        "pulse",
        "--chip",
        "/dev/gpiochip-none-such",
        "--line",
        "17",
    ]));
    assert!(e.contains("no GPIO chip at /dev/gpiochip-none-such"), "{e}");
}

#[test]
fn model_errors_name_the_file_and_the_fix() {
    let (a, b) = (common::sample("obama.jpg"), common::sample("obama2.jpg"));
    let e = stderr_of_failure(&siamedge(&[
        "compare",
        s(&a),
        s(&b),
        "--models",
        "/nonexistent-models",
    ]));
    assert!(e.contains("/nonexistent-models"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(common::models()).unwrap() {
        let p = entry.unwrap().path();
        // The fp32 files only: the int8 variant must be missing below.
        let int8 = p.to_string_lossy().contains(".int8.");
        if p.is_file() && !int8 {
            fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let manifest = dir.path().join("MobileFaceNet.toml");
    let original = fs::read_to_string(&manifest).unwrap();
    let sha = original.lines().find(|l| l.starts_with("sha256")).unwrap();
    let wrong = format!("sha256 = \"{}\"", "0".repeat(64));
    fs::write(&manifest, original.replace(sha, &wrong)).unwrap();
    let e = stderr_of_failure(&siamedge(&[
        "compare",
        s(&a),
        s(&b),
        "--variant",
        "fp32",
        "--models",
        s(dir.path()),
    ]));
    assert!(
        e.contains("MobileFaceNet.toml") && e.contains("sha256") && e.contains("fetch.sh"),
        "{e}"
    );

    fs::write(&manifest, original.replace("role =", "rol =")).unwrap();
    let e = stderr_of_failure(&siamedge(&[
        "compare",
        s(&a),
        s(&b),
        "--variant",
        "fp32",
        "--models",
        s(dir.path()),
    ]));
    assert!(e.contains("MobileFaceNet.toml") && e.contains("rol"), "{e}");

    fs::write(&manifest, original).unwrap();
    let e = stderr_of_failure(&siamedge(&[
        "compare",
        s(&a),
        s(&b),
        "--models",
        s(dir.path()),
        "--variant",
        "int8",
    ]));
    assert!(e.contains("MobileFaceNet.int8.onnx"), "{e}");
}

#[test]
fn track_names_a_bad_first_box_and_a_missing_tracker() {
    let e = stderr_of_failure(&siamedge(&["track", "--source", "x", "--init", "1,2,3"]));
    assert!(e.contains("x,y,w,h"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = stderr_of_failure(&siamedge(&[
        "track",
        "--source",
        s(dir.path()),
        "--init",
        "1,2,30,30",
        "--track-models",
        "/nonexistent-tracker",
    ]));
    assert!(
        e.contains("/nonexistent-tracker") && e.contains("nanotrack_v3_backbone.onnx"),
        "{e}"
    );
}
