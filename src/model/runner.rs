//! A model ready to run on images: the network, its manifest, and a reused input buffer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::network::read_model;
use super::{
    fill_input, ColorOrder, Dim, Execution, InputLayout, Manifest, ModelError, Network,
    NetworkOutputs, NodeTime,
};
use crate::image::RgbImage;

/// How many concrete input shapes of a symbolic-size model are kept optimised.
const SHAPE_CACHE: usize = 32;

/// A network loaded with its manifest, verified against the manifest's sha256,
/// optimised, warmed up, and fed from RGB images through the one preprocessing path.
///
/// A model with symbolic input dimensions (P-Net) is also optimised once per
/// concrete input shape it meets (an image pyramid repeats the same few
/// shapes): tract runs a concrete plan about twice as fast as a symbolic one.
#[derive(Debug)]
pub struct Model {
    manifest: Manifest,
    path: PathBuf,
    network: Network,
    by_shape: HashMap<[usize; 4], Network>,
    input: Vec<f32>,
    shape: [usize; 4],
}

impl Model {
    /// Loads `path` (an `.onnx` file) and the manifest `X.toml` beside it.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        Model::load_with(path, Execution::Auto)
    }

    /// Like [`Model::load`], on the engine `execution` asks for.
    pub fn load_with(path: &Path, execution: Execution) -> Result<Model, ModelError> {
        let (bytes, manifest) = load_verified(path)?;
        let dims: Vec<Dim> = manifest
            .input
            .shape
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                if d == 0 {
                    Dim::Symbol(format!("S{i}"))
                } else {
                    Dim::Fixed(d)
                }
            })
            .collect();
        let network = Network::from_bytes_with(path, &bytes, &[dims], execution)?;
        let shape: [usize; 4] = manifest
            .input
            .shape
            .clone()
            .try_into()
            .expect("validated rank 4");
        let mut model = Model {
            manifest,
            path: path.to_path_buf(),
            network,
            by_shape: HashMap::new(),
            input: Vec::new(),
            shape,
        };
        if shape.iter().all(|&d| d > 0) {
            model.warm_up()?;
        }
        Ok(model)
    }

    fn warm_up(&mut self) -> Result<(), ModelError> {
        self.input.clear();
        self.input.resize(self.shape.iter().product(), 0.0);
        let shape = self.shape;
        self.network.run(&[(&shape, &self.input)])?;
        Ok(())
    }

    /// The manifest this model was loaded with.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The image size `(width, height)` a fixed-size input expects, `None` when symbolic.
    pub fn image_size(&self) -> Option<(usize, usize)> {
        let (a, b) = (self.shape[2], self.shape[3]);
        if a == 0 || b == 0 {
            return None;
        }
        Some(match self.manifest.input.layout {
            InputLayout::Nchw => (b, a),
            InputLayout::Ncwh => (a, b),
        })
    }

    /// Preprocesses `img` as the manifest says and runs the network on it. A
    /// fixed-size input must be given an image of exactly that size.
    pub fn run_image(&mut self, img: &RgbImage) -> Result<&NetworkOutputs, ModelError> {
        let spec = &self.manifest.input;
        let channels = if spec.color == ColorOrder::Grey { 1 } else { 3 };
        let shape = match spec.layout {
            InputLayout::Nchw => [1, channels, img.height, img.width],
            InputLayout::Ncwh => [1, channels, img.width, img.height],
        };
        self.input.resize(img.width * img.height * channels, 0.0);
        fill_input(spec, &img.data, img.width, img.height, &mut self.input);
        network_for(
            &mut self.network,
            &mut self.by_shape,
            &self.path,
            self.shape,
            shape,
        )?
        .run(&[(&shape, &self.input)])
    }

    /// Each node's mean time over `runs` runs of the plan for input `shape`
    /// (its own concrete plan for a model with symbolic dimensions).
    pub fn profile(&mut self, shape: [usize; 4], runs: usize) -> Result<Vec<NodeTime>, ModelError> {
        network_for(
            &mut self.network,
            &mut self.by_shape,
            &self.path,
            self.shape,
            shape,
        )?
        .profile(&shape, runs)
    }

    /// The underlying network (for graph inspection).
    pub fn network(&self) -> &Network {
        &self.network
    }
}

/// Reads the model file at `path` and its manifest, and checks that the
/// manifest was written for exactly these bytes.
pub fn load_verified(path: &Path) -> Result<(Vec<u8>, Manifest), ModelError> {
    let bytes = read_model(path)?;
    let manifest = Manifest::load_for(path)?;
    let digest = sha256_hex(&bytes);
    if digest != manifest.sha256 {
        return Err(ModelError::Manifest {
            path: Manifest::path_for(path),
            reason: format!(
                "was written for a model with sha256 {}, but {} has sha256 {digest}; its \
                 thresholds and preprocessing may not hold for this file. Re-import the model \
                 with models/zoo/fetch.sh, or recalibrate and rewrite the manifest",
                manifest.sha256,
                path.display()
            ),
        });
    }
    Ok((bytes, manifest))
}

/// The network that runs input `shape`: `network` itself for a model of
/// fixed shape `model_shape`; for one with symbolic sizes (0 in
/// `model_shape`), the network optimised for exactly `shape`, loaded into
/// `cache` on first use.
fn network_for<'a>(
    network: &'a mut Network,
    cache: &'a mut HashMap<[usize; 4], Network>,
    path: &Path,
    model_shape: [usize; 4],
    shape: [usize; 4],
) -> Result<&'a mut Network, ModelError> {
    if !model_shape.contains(&0) {
        return Ok(network);
    }
    if !cache.contains_key(&shape) {
        if cache.len() >= SHAPE_CACHE {
            cache.clear();
        }
        let dims: Vec<Dim> = shape.iter().map(|&d| Dim::Fixed(d)).collect();
        cache.insert(shape, Network::load(path, &[dims])?);
    }
    Ok(cache.get_mut(&shape).expect("inserted above"))
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
