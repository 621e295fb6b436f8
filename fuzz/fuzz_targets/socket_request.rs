#![no_main]
//! Fuzz target: siamedge_hostile::socket_request.
libfuzzer_sys::fuzz_target!(|data: &[u8]| siamedge_hostile::socket_request(data));
