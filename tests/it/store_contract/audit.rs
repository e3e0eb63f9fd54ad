//! The audit trail on every store: a new job's entry is written with the job, in the same
//! transaction; every entry is linked into a hash chain that verifies; retention prunes the
//! oldest entries and the rest still verifies from the anchor.

use labkube::store::audit_chain::Verdict;

use super::*;

fn intact(v: Verdict) -> (u64, Option<(u64, u64)>) {
    match v {
        Verdict::Intact { entries, span, .. } => (entries, span),
        broken => panic!("{broken}"),
    }
}

pub fn a_queued_job_is_audited_with_it<S: JobStore>(s: &S) {
    let id = add(s, 1);
    let entries = s.recent_audit(10).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].outcome, AuditOutcome::Queued { job: id });
    assert_eq!(entries[0].command, "/selftest 1");
    assert_eq!(entries[0].who, who());
    // A redelivered event stores no second job and no second entry.
    s.enqueue(new_job(1), "k1").unwrap();
    assert_eq!(s.recent_audit(10).unwrap().len(), 1);
}

pub fn the_audit_trail_is_a_hash_chain_kept_by_retention<S: JobStore>(s: &S) {
    assert_eq!(intact(s.audit_verify().unwrap()), (0, None));
    let mut old = audit_entry("/old");
    old.at_ms = 1;
    s.append_audit(old.clone()).unwrap();
    s.append_audit(old).unwrap();
    add(s, 7);
    s.append_audit(audit_entry("/newer")).unwrap();
    assert_eq!(intact(s.audit_verify().unwrap()), (4, Some((1, 4))));
    // Entries 1 and 2 are older than the cut (the job's, now, and the last, at 5 ms, are not).
    assert_eq!(s.prune_audit(3).unwrap(), 2);
    assert_eq!(s.prune_audit(3).unwrap(), 0);
    assert_eq!(intact(s.audit_verify().unwrap()), (2, Some((3, 4))));
    s.append_audit(audit_entry("/after")).unwrap();
    assert_eq!(intact(s.audit_verify().unwrap()), (3, Some((3, 5))));
}
