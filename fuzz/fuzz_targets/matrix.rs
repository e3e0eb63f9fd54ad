#![no_main]
libfuzzer_sys::fuzz_target!(|json: &str| {
    let _ = labkube::chat::matrix_decode::classify(json, "!room:lab", "@labkube:lab");
});
