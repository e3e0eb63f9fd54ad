//! Resident memory of a process, from `/proc/<pid>/status`.

/// VmRSS, RssAnon and RssFile of a process, kB.
#[derive(Clone, Copy, Debug)]
pub struct Resident {
    pub total: u64,
    pub anon: u64,
    pub file: u64,
}

impl Resident {
    pub fn of(pid: u32) -> Resident {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kb = |key: &str| -> u64 {
            let line = status.lines().find(|l| l.starts_with(key)).unwrap();
            line.split_whitespace().nth(1).unwrap().parse().unwrap()
        };
        Resident {
            total: kb("VmRSS:"),
            anon: kb("RssAnon:"),
            file: kb("RssFile:"),
        }
    }

    /// A Markdown table row: `| name | VmRSS | RssAnon | RssFile |`, MB.
    pub fn row(&self, name: &str) -> String {
        let mb = |kb: u64| kb as f64 / 1024.0;
        format!(
            "| {name} | {:.1} MB | {:.1} MB | {:.1} MB |",
            mb(self.total),
            mb(self.anon),
            mb(self.file)
        )
    }

    pub fn total_mb(&self) -> f64 {
        self.total as f64 / 1024.0
    }
}
