//! What the `facts` step reports about a host, parsed from its `key=value` lines.

/// A host's facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Host name (what Kubernetes will call the node).
    pub hostname: String,
    /// CPU count.
    pub cpus: u32,
    /// Memory, MB.
    pub mem_mb: u64,
    /// Swap, MB.
    pub swap_mb: u64,
    /// Kernel release.
    pub kernel: String,
    /// DMI product UUID (must differ between nodes).
    pub product_uuid: String,
    /// Required ports already listening.
    pub ports_busy: Vec<u16>,
    /// `ufw`, `firewalld` or `none`.
    pub firewall: String,
    /// Installed containerd version, empty if none.
    pub containerd: String,
    /// Installed kubeadm version (`v1.35.4`), empty if none.
    pub kubeadm: String,
    /// `kubeadm init` has run here.
    pub control_plane: bool,
    /// `kubeadm join` has run here.
    pub joined: bool,
    /// Global addresses with their prefix (`10.0.0.5/24`); empty when unknown.
    pub addrs: Vec<String>,
    /// The interface of each of [`Facts::addrs`], in the same order (`eth0`).
    pub addr_devs: Vec<String>,
    /// `/etc/machine-id` (must differ between nodes; cloned VMs share it).
    pub machine_id: String,
    /// The host's clock, seconds since the epoch, when it reported.
    pub time_s: Option<i64>,
    /// How far the host's clock is ahead of the bot's (negative: behind), s; set by the
    /// engine when the facts arrive.
    pub clock_skew_s: Option<i64>,
    /// Whether the CPU has AVX (MongoDB 5.0 and later need it); `None` when not reported.
    pub avx: Option<bool>,
}

impl Facts {
    /// Parses the step's output; unknown keys are ignored, malformed numbers are an error
    /// naming the key.
    pub fn parse(out: &str) -> Result<Facts, String> {
        let mut f = Facts::default();
        for line in out.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim();
            let num = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("facts: {k}={v:?} is not a number"))
            };
            match k.trim() {
                "hostname" => f.hostname = v.to_ascii_lowercase(),
                "cpus" => f.cpus = u32::try_from(num(v)?).unwrap_or(u32::MAX),
                "mem_mb" => f.mem_mb = num(v)?,
                "swap_mb" => f.swap_mb = num(v)?,
                "kernel" => f.kernel = v.into(),
                "product_uuid" => f.product_uuid = v.to_ascii_lowercase(),
                "ports_busy" => {
                    f.ports_busy = v
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .filter_map(|p| p.trim().parse().ok())
                        .collect();
                }
                "firewall" => f.firewall = v.into(),
                "containerd" => f.containerd = v.into(),
                "kubeadm" => f.kubeadm = v.into(),
                "control_plane" => f.control_plane = v == "yes",
                "joined" => f.joined = v == "yes",
                "addrs" => {
                    f.addrs = v
                        .split(',')
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(str::to_string)
                        .collect();
                }
                "addr_devs" => {
                    f.addr_devs = v
                        .split(',')
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(str::to_string)
                        .collect();
                }
                "machine_id" => f.machine_id = v.to_ascii_lowercase(),
                "time" if !v.is_empty() => {
                    f.time_s = Some(i64::try_from(num(v)?).unwrap_or(i64::MAX));
                }
                "avx" if !v.is_empty() => f.avx = Some(v == "yes"),
                _ => {}
            }
        }
        if f.hostname.is_empty() {
            return Err("facts: the host reported no hostname".into());
        }
        Ok(f)
    }

    /// `true` if this host already runs Kubernetes (as control plane or joined worker).
    pub fn in_cluster(&self) -> bool {
        self.control_plane || self.joined
    }

    /// The first global IPv6 address on the interface that holds `addr` (the address the
    /// host was given), with that interface's name; `None` for the address when it has none.
    /// That is the IPv6 address a dual-stack node registers and flannel tunnels to: flannel
    /// takes the interface of its `--iface-can-reach` route and that interface's first global
    /// IPv6 address (flannel-io/flannel `pkg/ipmatch/match.go`, `LookupExtIface`).
    pub fn ipv6_beside(
        &self,
        addr: std::net::IpAddr,
    ) -> (Option<&str>, Option<std::net::Ipv6Addr>) {
        let parsed = |a: &String| a.split('/').next()?.parse::<std::net::IpAddr>().ok();
        let Some(dev) = self.device_of(addr) else {
            return (None, None);
        };
        let v6 = self
            .addrs
            .iter()
            .zip(&self.addr_devs)
            .filter(|(_, d)| d.as_str() == dev)
            .find_map(|(a, _)| match parsed(a)? {
                std::net::IpAddr::V6(v6) => Some(v6),
                std::net::IpAddr::V4(_) => None,
            });
        (Some(dev), v6)
    }

    /// The interface that holds `addr` (where flannel tunnels and kube-vip announces).
    pub fn device_of(&self, addr: std::net::IpAddr) -> Option<&str> {
        let parsed = |a: &String| a.split('/').next()?.parse::<std::net::IpAddr>().ok();
        self.addrs
            .iter()
            .zip(&self.addr_devs)
            .find(|(a, _)| parsed(a) == Some(addr))
            .map(|(_, d)| d.as_str())
    }

    /// `true` if the installed kubeadm is of Kubernetes minor `minor` (`1.35`).
    pub fn kubeadm_is(&self, minor: &str) -> bool {
        let v = self.kubeadm.trim_start_matches('v');
        v == minor || v.starts_with(&format!("{minor}."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_step_output() {
        let f = Facts::parse(
            "hostname=CP1\ncpus=4\nmem_mb=7900\nswap_mb=0\nkernel=6.8.0\nproduct_uuid=ABC\nports_busy=6443,10250\n\
             firewall=ufw\ncontainerd=1.7.24\nkubeadm=v1.35.4\ncontrol_plane=yes\njoined=\n",
        )
        .unwrap();
        assert_eq!(f.hostname, "cp1");
        assert_eq!(f.ports_busy, vec![6443, 10250]);
        assert!(f.control_plane && !f.joined && f.in_cluster());
        assert!(f.kubeadm_is("1.35") && !f.kubeadm_is("1.3"));
        let f = Facts::parse(
            "hostname=a\naddrs=10.0.0.5/24,2001:db8::7/64,2001:db8::5/64\naddr_devs=eth0,eth1,eth0\n",
        )
        .unwrap();
        let v4 = "10.0.0.5".parse().unwrap();
        assert_eq!(
            f.ipv6_beside(v4),
            (Some("eth0"), Some("2001:db8::5".parse().unwrap()))
        );
        assert_eq!(f.ipv6_beside("10.0.0.9".parse().unwrap()), (None, None));
    }

    #[test]
    fn malformed_numbers_are_named() {
        let e = Facts::parse("hostname=a\ncpus=many\n").unwrap_err();
        assert!(e.contains("cpus"), "{e}");
        assert!(Facts::parse("cpus=2\n").is_err());
    }
}
