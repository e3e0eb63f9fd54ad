//! `kubectl get nodes -o wide --no-headers`, parsed.

/// One node line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Node name (the host name).
    pub name: String,
    /// `Ready` in its STATUS column.
    pub ready: bool,
    /// `SchedulingDisabled` in its STATUS column (cordoned).
    pub cordoned: bool,
    /// Kubelet version (`v1.33.4`).
    pub version: String,
}

/// Parses the table; lines that do not look like node lines are skipped.
pub fn parse(out: &str) -> Vec<Node> {
    out.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_ascii_whitespace().collect();
            let (name, status, version) = (cols.first()?, cols.get(1)?, cols.get(4)?);
            Some(Node {
                name: name.to_ascii_lowercase(),
                ready: status.split(',').any(|s| s == "Ready"),
                cordoned: status.split(',').any(|s| s == "SchedulingDisabled"),
                version: (*version).to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_version() {
        let out = "cp1   Ready      control-plane   5m   v1.33.4   10.0.0.1   <none>   Ubuntu 24.04   6.8.0   containerd://1.7.24\n\
                   w1    NotReady   <none>          1m   v1.33.4   10.0.0.2   <none>   Ubuntu 24.04   6.8.0   containerd://1.7.24\n\
                   w2    Ready,SchedulingDisabled   <none>   1m   v1.33.4   10.0.0.3   <none>   x   y   z\n";
        let n = parse(out);
        assert_eq!(n.len(), 3);
        assert!(n[0].ready && !n[1].ready && n[2].ready);
        assert!(!n[0].cordoned && n[2].cordoned);
        assert_eq!(n[0].version, "v1.33.4");
    }
}
