#![no_main]
//! Fuzz target: siamedge_hostile::onnx_model.
libfuzzer_sys::fuzz_target!(|data: &[u8]| siamedge_hostile::onnx_model(data));
