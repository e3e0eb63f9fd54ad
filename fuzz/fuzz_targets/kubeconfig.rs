#![no_main]
use labkube::kube::kubeconfig::ClusterCredentials;
libfuzzer_sys::fuzz_target!(|text: &str| {
    let ip = std::net::IpAddr::from([10, 0, 0, 1]);
    let _ = ClusterCredentials::from_kubeconfig(text, ip);
    let _ = ClusterCredentials::from_store(text, Some(ip));
});
