#![no_main]
//! Fuzz target: siamedge_hostile::gallery_file.
libfuzzer_sys::fuzz_target!(|data: &[u8]| siamedge_hostile::gallery_file(data));
