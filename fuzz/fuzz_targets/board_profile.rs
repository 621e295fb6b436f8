#![no_main]
//! Fuzz target: siamedge_hostile::board_profile.
libfuzzer_sys::fuzz_target!(|data: &[u8]| siamedge_hostile::board_profile(data));
