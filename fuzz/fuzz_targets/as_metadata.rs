#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crux::fuzz::as_metadata(data));
