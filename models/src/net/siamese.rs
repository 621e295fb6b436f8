//! The Siamese wrapper: one encoder for every input (shared weights), or one
//! encoder per branch (pseudo-Siamese, for inputs of two different kinds).

use burn::prelude::*;

use super::encoder::{Encoder, EncoderConfig};
use crate::TrainError;

/// One shared encoder, or two unshared ones.
#[derive(Module, Debug)]
pub struct SiameseNet {
    /// One encoder (Siamese) or two (pseudo-Siamese: anchor side, compared side).
    pub branches: Vec<Encoder>,
}

impl SiameseNet {
    /// A Siamese net (`pseudo == false`: one set of weights for every input)
    /// or a pseudo-Siamese one (two independently initialised branches).
    pub fn new(
        config: &EncoderConfig,
        pseudo: bool,
        device: &Device,
    ) -> Result<SiameseNet, TrainError> {
        let n = if pseudo { 2 } else { 1 };
        let branches = (0..n)
            .map(|_| config.init(device))
            .collect::<Result<_, _>>()?;
        Ok(SiameseNet { branches })
    }

    /// Whether the branches have their own weights.
    pub fn is_pseudo(&self) -> bool {
        self.branches.len() > 1
    }

    /// The encoder of branch `i` (0: anchor side, 1: compared side); both are
    /// the same encoder in a Siamese net.
    pub fn branch(&self, i: usize) -> &Encoder {
        &self.branches[i.min(self.branches.len() - 1)]
    }

    /// Embeddings of a batch on the anchor side and on the compared side; a
    /// Siamese net computes them once and returns the same tensor twice.
    pub fn embed_both(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let left = self.branches[0].forward(x.clone());
        let right = match self.branches.get(1) {
            Some(b) => b.forward(x),
            None => left.clone(),
        };
        (left, right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Layout;

    #[test]
    fn siamese_shares_and_pseudo_does_not() {
        let dev = Device::flex();
        let c = EncoderConfig {
            layout: Layout::MobileNetV2,
            width: 0.25,
            embedding_dim: 8,
            input_size: 16,
            in_channels: 1,
            stem_stride: 1,
        };
        let x = Tensor::<4>::random([2, 1, 16, 16], burn::tensor::Distribution::Default, &dev);
        let s = SiameseNet::new(&c, false, &dev).unwrap().valid();
        let (l, r) = s.embed_both(x.clone());
        assert_eq!(
            l.to_data().try_to_vec::<f32>().unwrap(),
            r.to_data().try_to_vec::<f32>().unwrap()
        );
        let p = SiameseNet::new(&c, true, &dev).unwrap().valid();
        assert!(p.is_pseudo());
        let (l, r) = p.embed_both(x);
        assert_ne!(
            l.to_data().try_to_vec::<f32>().unwrap(),
            r.to_data().try_to_vec::<f32>().unwrap()
        );
    }
}
