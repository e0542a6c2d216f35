#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crux::fuzz::www_authenticate(data));
