//! How many control planes a cluster may have. Each control plane runs a member of the
//! cluster's stacked etcd, and etcd writes only while a majority of its members (its quorum)
//! agree ("FAQ: Why an odd number of cluster members?", etcd.io/docs/v3.6/faq): an even count
//! tolerates no more failed members than one fewer does, and costs a member more.

/// The counts `control-planes=` takes: 1 (no fault tolerance), 3 (tolerates one lost control
/// plane) or 5 (two). kubeadm's HA guide asks for at least three; more than five makes every
/// etcd write wait on more members without a use in a lab.
pub const CONTROL_PLANE_COUNTS: [u64; 3] = [1, 3, 5];

/// The majority of `members` etcd members that must agree for a write.
pub const fn quorum(members: usize) -> usize {
    members / 2 + 1
}

/// How many of `members` may fail while etcd still has its quorum.
pub const fn tolerated(members: usize) -> usize {
    members - quorum(members)
}

/// The accepted form of a control-plane count.
pub const FORM: &str = "1, 3 or 5 control planes (an odd number: etcd needs a majority of its \
                        members)";

/// Checks a control-plane count: `Err(reason)` says why it is refused.
///
/// # Errors
/// An even count (with the quorum reason), 0, or more than 5.
pub fn check(n: u64) -> Result<u64, String> {
    if CONTROL_PLANE_COUNTS.contains(&n) {
        return Ok(n);
    }
    if n == 0 {
        return Err("a cluster needs at least one control plane".into());
    }
    if n > 5 {
        return Err(format!(
            "{n} is more than 5; five control planes already tolerate two lost ones"
        ));
    }
    // Even: 2 or 4.
    let m = usize::try_from(n).unwrap_or(usize::MAX);
    let lost = match tolerated(m) {
        0 => "no lost control plane".to_string(),
        1 => "1 lost control plane".to_string(),
        k => format!("{k} lost control planes"),
    };
    Err(format!(
        "{n} control planes run {n} etcd members, and etcd writes only while a majority ({}) \
         of them answer: like {}, they survive {lost}; use {} or {}",
        quorum(m),
        n - 1,
        n - 1,
        n + 1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_counts_pass_and_even_ones_name_the_quorum() {
        for n in CONTROL_PLANE_COUNTS {
            assert_eq!(check(n), Ok(n));
        }
        assert_eq!(
            check(2).unwrap_err(),
            "2 control planes run 2 etcd members, and etcd writes only while a majority (2) of \
             them answer: like 1, they survive no lost control plane; use 1 or 3"
        );
        let four = check(4).unwrap_err();
        assert!(
            four.contains("majority (3)")
                && four.contains("like 3, they survive 1 lost control plane; use 3 or 5"),
            "{four}"
        );
        assert!(check(0).is_err() && check(7).unwrap_err().contains("more than 5"));
        assert_eq!(
            (quorum(3), tolerated(3), quorum(5), tolerated(5)),
            (2, 1, 3, 2)
        );
    }
}
