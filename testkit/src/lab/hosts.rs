//! The fake hosts: what each flavour's `/` holds before labkube touches it.

use std::path::{Path, PathBuf};

use labkube::provision::os::OsInfo;

use super::CRATE;

/// A real os-release file from `tests/fixtures/os-release`.
pub fn os_release(name: &str) -> String {
    let path = Path::new(CRATE)
        .join("tests/fixtures/os-release")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The kinds of host the tests build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// Ubuntu 24.04 with ufw active.
    Ubuntu,
    /// Debian 12, no firewall.
    Debian,
    /// Rocky Linux 9 with firewalld running and SELinux enforcing.
    Rocky,
}

impl Flavour {
    /// All of them.
    pub const ALL: [Flavour; 3] = [Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky];

    pub fn os_release_file(self) -> &'static str {
        match self {
            Flavour::Ubuntu => "ubuntu-24.04",
            Flavour::Debian => "debian-12",
            Flavour::Rocky => "rocky-9",
        }
    }

    /// Debian family (apt) or not (dnf).
    pub fn is_debian(self) -> bool {
        matches!(self, Flavour::Ubuntu | Flavour::Debian)
    }

    /// The kubelet's environment file its packages read (`KUBELET_EXTRA_ARGS`).
    pub fn kubelet_env_file(self) -> &'static str {
        if self.is_debian() {
            "/etc/default/kubelet"
        } else {
            "/etc/sysconfig/kubelet"
        }
    }
}

/// One fake host.
#[derive(Debug)]
pub struct Host {
    /// Host name (and node name).
    pub name: String,
    /// What it runs.
    pub flavour: Flavour,
    /// Its address.
    pub ip: String,
    /// Its `/` (`LABKUBE_ROOT`).
    pub root: PathBuf,
    /// Its recording of stand-in calls (outside the root, like a test artefact).
    pub record: PathBuf,
    /// Its `TMPDIR`.
    pub tmp: PathBuf,
    /// Its OS as the engine detects it.
    pub os: OsInfo,
}

/// Builds host `i`'s `/`: os-release, proc files (CPUs, memory, swap on, IPv4 and IPv6
/// forwarding off), fstab with a swap line, DMI product UUID, host name; and its stand-in world (address,
/// firewall, SELinux).
pub fn prepare_root(host: &Host, i: usize) {
    let root = &host.root;
    let w = |p: &str, text: &str| {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    std::fs::create_dir_all(&host.tmp).unwrap();
    w(
        "etc/os-release",
        &os_release(host.flavour.os_release_file()),
    );
    w("etc/hostname", &format!("{}\n", host.name));
    // As cloud-init's template for Debian and Ubuntu images writes it (RHEL's differs only
    // in aliases).
    w(
        "etc/hosts",
        &format!(
            "127.0.0.1 localhost\n127.0.1.1 {0} {0}\n\n# The following lines are desirable for IPv6 capable hosts\n\
             ::1 localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n",
            host.name
        ),
    );
    w("proc/sys/kernel/hostname", &format!("{}\n", host.name));
    let cpus: String = (0..4)
        .map(|n| {
            format!(
                "processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel Xeon Processor (Icelake)\n\
                 cpu MHz\t\t: 2593.906\ncache size\t: 16384 KB\n\
                 flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 \
                 clflush mmx fxsr sse sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl \
                 xtopology cpuid pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt \
                 aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch avx2 bmi1 bmi2\n\n"
            )
        })
        .collect();
    w("proc/cpuinfo", &cpus);
    w(
        "proc/meminfo",
        "MemTotal:        8148304 kB\nMemFree:         6201232 kB\nMemAvailable:    7402112 kB\n\
         Buffers:           93476 kB\nCached:          1208896 kB\nSwapCached:            0 kB\n\
         SwapTotal:       2097148 kB\nSwapFree:        2097148 kB\n",
    );
    let (swap_dev, fstab) = match host.flavour {
        Flavour::Ubuntu => (
            "/swap.img\tfile\t\t2097148\t\t0\t\t-2",
            "# /etc/fstab: static file system information.\nLABEL=cloudimg-rootfs\t/\text4\tdiscard,errors=remount-ro\t0 1\n\
             LABEL=UEFI\t/boot/efi\tvfat\tumask=0077\t0 1\n/swap.img\tnone\tswap\tsw\t0\t0\n",
        ),
        Flavour::Debian => (
            "/dev/vda5\tpartition\t2097148\t\t0\t\t-2",
            "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n\
             UUID=5f0c5b4e-4f1a-4d7e-9b2e-0a1b2c3d4e5f /               ext4    errors=remount-ro 0       1\n\
             # swap was on /dev/vda5 during installation\n\
             UUID=0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d none            swap    sw              0       0\n",
        ),
        Flavour::Rocky => (
            "/dev/dm-1\tpartition\t2097148\t\t0\t\t-2",
            "/dev/mapper/rl-root     /                       xfs     defaults        0 0\n\
             UUID=3c2b1a09-8f7e-4d6c-5b4a-392817263544 /boot    xfs     defaults        0 0\n\
             /dev/mapper/rl-swap     none                    swap    defaults        0 0\n",
        ),
    };
    w(
        "proc/swaps",
        &format!("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n{swap_dev}\n"),
    );
    w("etc/fstab", fstab);
    w("proc/sys/net/ipv4/ip_forward", "0\n");
    // IPv6 is on in every kernel these OSes ship, global address or not.
    w("proc/sys/net/ipv6/conf/all/forwarding", "0\n");
    w(
        "proc/mounts",
        "/dev/vda1 / ext4 rw,relatime,discard 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n",
    );
    w(
        "sys/class/dmi/id/product_uuid",
        &format!("4c4c4544-0038-5a10-8044-b4c04f5a33{i:02}\n"),
    );
    w(".standin/node-ip", &format!("{}\n", host.ip));
    w(
        "etc/machine-id",
        &format!("5d1e0a3c9b7f4e21a8c6d0f2b4e6a8{i:02}\n"),
    );
    match host.flavour {
        Flavour::Ubuntu => {
            w(".standin/ufw/installed", "");
            w(".standin/ufw/active", "");
            w(".standin/ufw/rules", "22/tcp\n");
        }
        Flavour::Debian => {}
        Flavour::Rocky => {
            w(".standin/firewalld/installed", "");
            w(".standin/firewalld/running", "");
            w(".standin/firewalld/runtime", "22/tcp\n");
            w(".standin/firewalld/permanent", "22/tcp\n");
            w(".standin/selinux", "Enforcing\n");
            w("etc/sysconfig/network", "# Created by anaconda\n");
            w(
                "etc/selinux/config",
                "# This file controls the state of SELinux on the system.\nSELINUX=enforcing\nSELINUXTYPE=targeted\n",
            );
        }
    }
}
