#![no_main]
//! Fuzz target: siamedge_hostile::pam_args.
libfuzzer_sys::fuzz_target!(|data: &[u8]| siamedge_hostile::pam_args(data));
