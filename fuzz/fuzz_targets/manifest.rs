#![no_main]
//! Fuzz target: siamedge_hostile::manifest.
libfuzzer_sys::fuzz_target!(|data: &[u8]| siamedge_hostile::manifest(data));
