#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| siemflow_components::fuzzing::hec_answers(data));
