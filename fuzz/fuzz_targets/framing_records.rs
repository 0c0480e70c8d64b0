#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| siemflow_core::fuzzing::framing_and_records(data));
