#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| siemflow_defender_mapping::fuzzing::encoders(data));
