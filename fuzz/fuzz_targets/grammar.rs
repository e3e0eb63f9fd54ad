#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| {
    let _ = labkube::command::parse(text, Some("labkube_bot"));
    let _ = labkube::command::redact_text(text);
});
