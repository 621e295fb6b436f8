#![no_main]
//! Fuzz target: siamedge_hostile::bundle_archive.
libfuzzer_sys::fuzz_target!(|data: &[u8]| siamedge_hostile::bundle_archive(data));
