#![no_main]
//! Fuzz target: siamedge_hostile::camera_frame.
libfuzzer_sys::fuzz_target!(|data: &[u8]| siamedge_hostile::camera_frame(data));
