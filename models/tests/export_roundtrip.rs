//! Export round trip: checkpoint save/load, ONNX + manifest, and the runtime's
//! (tract's) embedding against the trainer's eval-mode forward.

mod common;

use burn::module::Module;
use burn::tensor::Device;
use siamedge::model::{Manifest, Model, Role};
use siamedge_models::checkpoint::{self, CheckpointMeta};
use siamedge_models::export::{check_pattern, export, runtime_cosine, ExportInfo};
use siamedge_models::net::Layout;
use siamedge_models::train::train;

#[test]
fn trained_encoder_round_trips_through_onnx_and_tract() {
    let dev = Device::flex();
    let data = common::tiny_set(6, 4, 3);
    let prep = common::prep();
    let dir = tempfile::tempdir().unwrap();
    for layout in [Layout::MobileNetV2, Layout::MobileFaceNet] {
        let mut config = common::tiny_config(3);
        config.encoder.layout = layout;
        let net = train(&config, &data, &prep, &dev).unwrap().net;
        let stem = dir.path().join(format!("{layout:?}"));
        let meta = CheckpointMeta {
            encoder: config.encoder.clone(),
            pseudo: false,
            preprocess: prep.into(),
            command: "test".into(),
            data: vec!["generated".into()],
            train_seconds: 0.0,
            hardware: "test".into(),
            trainer: "siamedge-models test".into(),
        };
        let eval_net = net.valid();
        checkpoint::save(net, &meta, &stem).unwrap();
        let (loaded, loaded_meta) = checkpoint::load(&stem, &dev).unwrap();
        assert_eq!(loaded_meta, meta);
        checkpoint::save(loaded.clone(), &meta, &stem).unwrap();
        for kept in ["bpk.bak", "json.bak"] {
            assert!(
                stem.with_extension(kept).exists(),
                "saving over a checkpoint keeps the previous {kept}"
            );
        }
        let img = check_pattern(common::SIZE);
        let before = siamedge_models::eval::embed(
            eval_net.branch(0),
            &prep,
            std::slice::from_ref(&img),
            &dev,
        );
        let after =
            siamedge_models::eval::embed(loaded.branch(0), &prep, std::slice::from_ref(&img), &dev);
        assert!(
            siamedge::distance::cosine(&before, &after) > 0.99999,
            "checkpoint changed the embedding"
        );

        let onnx = dir.path().join(format!("{layout:?}.onnx"));
        let info = ExportInfo {
            train_command: "test".into(),
            data: "generated".into(),
            trainer: "siamedge-models test".into(),
            trained_on: "0 s on test".into(),
            export_command: "test".into(),
            weights_sha256: "0".repeat(64),
        };
        let manifest = export(loaded.branch(0), &prep, &onnx, &info).unwrap();
        assert_eq!(manifest.role, Role::Embed);
        assert_eq!(Manifest::load_for(&onnx).unwrap(), manifest);
        assert_eq!(manifest.embedding_dim, Some(16));
        let model = Model::load(&onnx).unwrap();
        assert_eq!(model.image_size(), Some((common::SIZE, common::SIZE)));
        for image in [img.clone(), data.images[0].clone(), data.images[5].clone()] {
            let cos = runtime_cosine(loaded.branch(0), &prep, &image, &onnx).unwrap();
            assert!(cos >= 0.9999, "{layout:?}: runtime vs trainer cosine {cos}");
        }
    }
}
