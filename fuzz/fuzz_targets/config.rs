#![no_main]
libfuzzer_sys::fuzz_target!(|text: &str| {
    let _ = labkube::config::Config::parse(text, "fuzz.toml");
});
