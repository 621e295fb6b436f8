#![no_main]
//! Fuzz target: siamedge_hostile::device_config.
libfuzzer_sys::fuzz_target!(|data: &[u8]| siamedge_hostile::device_config(data));
