//! Data: labelled image sets, their preprocessing into network input, augmentation.
//!
//! Images are decoded with the runtime's `siamedge::image::load`, resized once
//! to the network's input size with `siamedge::image::resize`, and turned into
//! tensors by the runtime's `siamedge::model::fill_input` under the same
//! [`InputSpec`] the exported manifest carries: training, export and
//! inference share one preprocessing path.

pub mod augment;
pub mod folder;
pub mod idx;

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};
use siamedge::image::{ResizeScratch, RgbImage};
use siamedge::model::{fill_input, ColorOrder, InputLayout, InputSpec};

/// Between a class name and its rotation in degrees ("greek/c1@90"): written
/// by [`ImageSet::with_rotated_classes`], read by [`ImageSet::class_groups`].
const ROTATED: char = '@';

/// Labelled images, all of one size.
#[derive(Debug, Clone, Default)]
pub struct ImageSet {
    /// The images.
    pub images: Vec<RgbImage>,
    /// `labels[i]` indexes `classes` for `images[i]`.
    pub labels: Vec<usize>,
    /// Class names (folder paths relative to the root, or IDX label numbers).
    pub classes: Vec<String>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Appends `other`. A class whose name we already hold is the same class
    /// (the same root given twice, or Omniglot's `images_background_small1`
    /// and `small2`, which both hold Greek and Latin): its images join ours,
    /// and an image identical to one already in that class is left out.
    /// Returns how many were left out.
    pub fn extend(&mut self, other: ImageSet) -> usize {
        let mut index: HashMap<String, usize> = self
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        let remap: Vec<(usize, bool)> = other
            .classes
            .into_iter()
            .map(|c| match index.get(&c) {
                Some(&i) => (i, true),
                None => {
                    let i = self.classes.len();
                    index.insert(c.clone(), i);
                    self.classes.push(c);
                    (i, false)
                }
            })
            .collect();
        let mut skipped = 0;
        for (img, l) in other.images.into_iter().zip(other.labels) {
            let (label, shared) = remap[l];
            let duplicate = shared
                && self
                    .images
                    .iter()
                    .zip(&self.labels)
                    .any(|(have, &hl)| hl == label && *have == img);
            if duplicate {
                skipped += 1;
            } else {
                self.images.push(img);
                self.labels.push(label);
            }
        }
        skipped
    }

    /// Adds each class rotated by 90, 180 and 270 degrees as three new
    /// classes (a rotated character is a different character), quadrupling the classes.
    pub fn with_rotated_classes(&self) -> ImageSet {
        let mut out = self.clone();
        let mut current = self.clone();
        for turn in [90, 180, 270] {
            current.images = current.images.iter().map(rotate90).collect();
            current.classes = self
                .classes
                .iter()
                .map(|c| format!("{c}{ROTATED}{turn}"))
                .collect();
            out.extend(current.clone());
        }
        out
    }

    /// The group of each class: the folder above it (an Omniglot alphabet)
    /// and its rotation, if any. Classes of one group look alike, as the 20
    /// characters of an Omniglot test run (one alphabet) do.
    pub fn class_groups(&self) -> Vec<usize> {
        let mut names: Vec<String> = Vec::new();
        self.classes
            .iter()
            .map(|c| {
                let (base, turn) = c.rsplit_once(ROTATED).unwrap_or((c, ""));
                let folder = base.rsplit_once('/').map_or("", |(f, _)| f);
                let name = format!("{folder}{ROTATED}{turn}");
                names.iter().position(|n| *n == name).unwrap_or_else(|| {
                    names.push(name);
                    names.len() - 1
                })
            })
            .collect()
    }

    /// The images whose class is in `keep`, relabelled `0..keep.len()` in that order.
    pub fn select_classes(&self, keep: &[usize]) -> ImageSet {
        let mut out = ImageSet {
            classes: keep.iter().map(|&c| self.classes[c].clone()).collect(),
            ..ImageSet::default()
        };
        for (img, &l) in self.images.iter().zip(&self.labels) {
            if let Some(new) = keep.iter().position(|&c| c == l) {
                out.images.push(img.clone());
                out.labels.push(new);
            }
        }
        out
    }
}

/// `img` turned a quarter clockwise.
pub fn rotate90(img: &RgbImage) -> RgbImage {
    let (w, h) = (img.width, img.height);
    let mut out = RgbImage::new(h, w);
    for y in 0..h {
        for x in 0..w {
            let (nx, ny) = (h - 1 - y, x);
            out.data[(ny * h + nx) * 3..][..3].copy_from_slice(&img.data[(y * w + x) * 3..][..3]);
        }
    }
    out
}

/// How images become network input: side length, grey or colour, and
/// whether the ink is dark on a light background (then it is inverted so
/// that the background is 0, and augmentation pads with white).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preprocess {
    /// Square input side in pixels.
    pub size: usize,
    /// One grey channel instead of RGB.
    pub grey: bool,
    /// Dark ink on a light background (Omniglot, signatures).
    pub dark_on_light: bool,
}

impl Preprocess {
    /// The manifest input spec: `(pixel - mean) * scale`, which maps the
    /// background to 0 and full ink to 1 for dark-on-light data, and 0..255 to
    /// 0..1 otherwise.
    pub fn input_spec(&self) -> InputSpec {
        let (mean, scale) = if self.dark_on_light {
            (255.0, -1.0 / 255.0)
        } else {
            (0.0, 1.0 / 255.0)
        };
        InputSpec {
            name: "input".into(),
            shape: vec![1, self.channels(), self.size, self.size],
            layout: InputLayout::Nchw,
            color: if self.grey {
                ColorOrder::Grey
            } else {
                ColorOrder::Rgb
            },
            mean: [mean; 3],
            scale,
        }
    }

    /// Input channels.
    pub fn channels(&self) -> usize {
        if self.grey {
            1
        } else {
            3
        }
    }

    /// Resizes a decoded image to the input size (area averaging when shrinking).
    pub fn fit(&self, img: &RgbImage, scratch: &mut ResizeScratch) -> RgbImage {
        let mut out = RgbImage::default();
        siamedge::image::resize(img, self.size, self.size, &mut out, scratch);
        out
    }

    /// A `[n, c, size, size]` batch of input-size images, through `fill_input`.
    pub fn batch<'a>(
        &self,
        images: impl IntoIterator<Item = &'a RgbImage>,
        device: &Device,
    ) -> Tensor<4> {
        let spec = self.input_spec();
        let plane = self.channels() * self.size * self.size;
        let mut data = Vec::new();
        let mut n = 0;
        for img in images {
            debug_assert_eq!((img.width, img.height), (self.size, self.size));
            data.resize(data.len() + plane, 0.0f32);
            let at = data.len() - plane;
            fill_input(&spec, &img.data, img.width, img.height, &mut data[at..]);
            n += 1;
        }
        Tensor::<4>::from_data(
            TensorData::new(data, [n, self.channels(), self.size, self.size]),
            device,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dark_ink_maps_to_one_and_background_to_zero() {
        let p = Preprocess {
            size: 2,
            grey: true,
            dark_on_light: true,
        };
        let img = RgbImage::from_grey(2, 2, &[255, 0, 255, 255]);
        let v = p
            .batch([&img], &Device::flex())
            .to_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(v[0].abs() < 1e-3 && (v[1] - 1.0).abs() < 1e-3, "{v:?}");
        assert_eq!(p.input_spec().shape, vec![1, 1, 2, 2]);
    }

    #[test]
    fn extending_merges_classes_by_name_and_leaves_out_identical_images() {
        let a = RgbImage::from_grey(1, 1, &[1]);
        let b = RgbImage::from_grey(1, 1, &[2]);
        let c = RgbImage::from_grey(1, 1, &[3]);
        let mut set = ImageSet {
            images: vec![a.clone(), b.clone()],
            labels: vec![0, 1],
            classes: vec!["greek/c1".into(), "greek/c2".into()],
        };
        let other = ImageSet {
            images: vec![b.clone(), c.clone(), a.clone()],
            labels: vec![0, 0, 1],
            classes: vec!["greek/c2".into(), "latin/c1".into()],
        };
        assert_eq!(set.extend(other), 1, "b is already in greek/c2");
        assert_eq!(set.classes, ["greek/c1", "greek/c2", "latin/c1"]);
        assert_eq!(set.images, [a.clone(), b, c, a]);
        assert_eq!(
            set.labels,
            [0, 1, 1, 2],
            "the same picture in another class stays"
        );
    }

    #[test]
    fn classes_group_by_folder_and_rotation() {
        let set = ImageSet {
            classes: ["greek/a", "greek/b", "latin/a", "greek/a@90", "x"]
                .map(String::from)
                .to_vec(),
            ..ImageSet::default()
        };
        assert_eq!(set.class_groups(), [0, 0, 1, 2, 3]);
    }

    #[test]
    fn rotation_turns_a_quarter_and_adds_classes() {
        // 2x1 image [a b] -> 1x2 column [a; b] turned clockwise.
        let img = RgbImage::from_grey(2, 1, &[10, 20]);
        let r = rotate90(&img);
        assert_eq!((r.width, r.height, r.data[0], r.data[3]), (1, 2, 10, 20));
        let four = (0..4).fold(img.clone(), |i, _| rotate90(&i));
        assert_eq!(four, img);
        let set = ImageSet {
            images: vec![img],
            labels: vec![0],
            classes: vec!["a".into()],
        };
        let rot = set.with_rotated_classes();
        assert_eq!(rot.labels, vec![0, 1, 2, 3]);
        assert_eq!(rot.classes[3], "a@270");
    }

    #[test]
    fn select_classes_relabels() {
        let img = RgbImage::new(1, 1);
        let set = ImageSet {
            images: vec![img.clone(), img.clone(), img],
            labels: vec![0, 1, 2],
            classes: vec!["a".into(), "b".into(), "c".into()],
        };
        let s = set.select_classes(&[2, 0]);
        assert_eq!(s.labels, vec![1, 0]);
        assert_eq!(s.classes, vec!["c".to_string(), "a".to_string()]);
    }
}
