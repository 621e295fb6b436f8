#![no_main]
//! Fuzz target: siamedge_hostile::tflite_model.
libfuzzer_sys::fuzz_target!(|data: &[u8]| siamedge_hostile::tflite_model(data));
