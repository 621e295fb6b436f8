//! Shared helpers of the integration tests: where the fetched models and demo
//! photos are, failing with the command to run when they are missing (CI
//! always fetches them; they come from the npm and PyPI registries).

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `models/build/onnx`, after checking the five imported models are there.
pub fn models() -> PathBuf {
    let dir = root().join("models/build/onnx");
    for m in ["pnet", "rnet", "onet", "MobileFaceNet", "FaceAntiSpoofing"] {
        assert!(
            dir.join(format!("{m}.onnx")).is_file() && dir.join(format!("{m}.toml")).is_file(),
            "{}/{m}.onnx or its manifest is missing: run models/zoo/fetch.sh first",
            dir.display()
        );
    }
    dir
}

/// A demo photo from `models/build/samples` (not every test binary uses it).
#[allow(dead_code)]
pub fn sample(name: &str) -> PathBuf {
    let p = root().join("models/build/samples").join(name);
    assert!(
        p.is_file(),
        "{} is missing: run models/zoo/fetch-samples.sh first",
        p.display()
    );
    p
}
