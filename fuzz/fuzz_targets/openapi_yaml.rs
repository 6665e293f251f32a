#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| scopegate_fuzz::openapi_yaml(data));
