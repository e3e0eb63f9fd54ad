//! Authorisation as a table: command x role x room x ownership.

use labkube::auth::{
    ClusterOwner, Denied, Facts, Policy, Principal, Role, RoomRef, RoomSettings, authorize,
};
use labkube::command::parse;

fn room(r: &str) -> RoomRef {
    RoomRef {
        platform: "matrix".into(),
        room: r.into(),
    }
}

fn who(u: &str) -> Principal {
    Principal {
        platform: "matrix".into(),
        user: u.into(),
    }
}

fn policy() -> Policy {
    let mut p = Policy::new();
    for r in ["!a", "!b"] {
        p.allow_room(
            room(r),
            RoomSettings {
                namespace: "demo".into(),
                ..Default::default()
            },
        );
    }
    p.allow_user(who("viewer"), Role::Viewer);
    p.allow_user(who("oper"), Role::Operator);
    p.allow_user(who("admin"), Role::Admin);
    p
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Ok,
    Room,
    Unknown,
    Role,
    Owner,
    OtherJob,
}

fn owned_by(r: &str) -> Facts {
    Facts {
        cluster: Some(("lab-1".into(), ClusterOwner::Room(room(r)))),
        job_room: None,
    }
}

fn unowned() -> Facts {
    Facts {
        cluster: Some(("lab-1".into(), ClusterOwner::Nobody)),
        job_room: None,
    }
}

fn job_in(r: &str) -> Facts {
    Facts {
        cluster: None,
        job_room: Some((7, room(r))),
    }
}

#[test]
fn the_table() {
    use Want::*;
    let none = Facts::default;
    let cases: Vec<(&str, &str, &str, Facts, Want)> = vec![
        // Anyone in an allowed room may ask for help and whoami; nobody anything in another room.
        ("/help", "stranger", "!a", none(), Ok),
        ("/whoami", "stranger", "!a", none(), Ok),
        ("/help", "admin", "!c", none(), Room),
        ("/whoami", "admin", "!c", none(), Room),
        ("/jobs", "stranger", "!a", none(), Unknown),
        // Viewer reads, never changes.
        ("/jobs all", "viewer", "!a", none(), Ok),
        ("/cluster list", "viewer", "!a", none(), Ok),
        ("/ge status orion", "viewer", "!a", none(), Ok),
        ("/ge catalog", "viewer", "!a", none(), Ok),
        (
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3",
            "viewer",
            "!a",
            none(),
            Role,
        ),
        ("/ge install orion ns=demo", "viewer", "!a", none(), Role),
        ("/rollback orion", "viewer", "!a", none(), Role),
        ("/cancel 7", "viewer", "!a", job_in("!a"), Role),
        // Operator changes what its room owns.
        (
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3",
            "oper",
            "!a",
            none(),
            Ok,
        ),
        ("/cluster plan 10.0.0.1", "oper", "!a", none(), Ok),
        ("/cluster delete lab-1", "oper", "!a", owned_by("!a"), Ok),
        ("/cluster delete lab-1", "oper", "!b", owned_by("!a"), Owner),
        ("/cluster use lab-1", "oper", "!b", owned_by("!a"), Owner),
        ("/cluster delete lab-1", "oper", "!a", unowned(), Owner),
        (
            "/ge install orion cluster=lab-1",
            "oper",
            "!b",
            owned_by("!a"),
            Owner,
        ),
        (
            "/ge upgrade orion version=4.1.0 cluster=lab-1",
            "oper",
            "!a",
            owned_by("!a"),
            Ok,
        ),
        (
            "/rollback orion cluster=lab-1",
            "oper",
            "!b",
            owned_by("!a"),
            Owner,
        ),
        ("/cancel 7", "oper", "!a", job_in("!a"), Ok),
        ("/cancel 7", "oper", "!b", job_in("!a"), OtherJob),
        ("/job 7", "viewer", "!b", job_in("!a"), OtherJob),
        ("/audit", "oper", "!a", none(), Role),
        ("/host forget 10.0.0.1", "oper", "!a", none(), Role),
        ("/selftest", "oper", "!a", none(), Role),
        // Admin may do everything in allowed rooms, whoever owns the target.
        ("/cluster delete lab-1", "admin", "!b", owned_by("!a"), Ok),
        ("/cluster delete lab-1", "admin", "!b", unowned(), Ok),
        ("/cancel 7", "admin", "!b", job_in("!a"), Ok),
        ("/job 7", "admin", "!b", job_in("!a"), Ok),
        ("/audit 5", "admin", "!a", none(), Ok),
        ("/selftest steps=2", "admin", "!a", none(), Ok),
        (
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3",
            "admin",
            "!c",
            none(),
            Room,
        ),
    ];
    let p = policy();
    for (text, user, r, facts, want) in cases {
        let cmd = parse(text, None)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .unwrap();
        let got = match authorize(&p, &who(user), &room(r), &cmd, &facts) {
            Result::Ok(_) => Ok,
            Err(Denied::RoomNotAllowed) => Room,
            Err(Denied::UnknownUser { .. }) => Unknown,
            Err(Denied::Role { .. }) => Role,
            Err(Denied::NotOwner { .. }) => Owner,
            Err(Denied::OtherRoomsJob { .. }) => OtherJob,
        };
        assert_eq!(got, want, "{text} by {user} in {r}");
    }
}

#[test]
fn roles_are_ordered_and_refusals_explain_themselves() {
    assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    let cmd = parse("/cluster create 10.0.0.1 10.0.0.2 10.0.0.3", None)
        .unwrap()
        .unwrap();
    let err = authorize(
        &policy(),
        &who("viewer"),
        &room("!a"),
        &cmd,
        &Facts::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "/cluster create needs the operator role; you are a viewer"
    );
    let err = authorize(&policy(), &who("oper"), &room("!b"), &cmd, &owned_by("!a")).unwrap_err();
    assert!(
        err.to_string()
            .contains("cluster lab-1 belongs to another room"),
        "{err}"
    );
    let role = authorize(
        &policy(),
        &who("admin"),
        &room("!a"),
        &cmd,
        &Facts::default(),
    )
    .unwrap();
    assert_eq!(role, Some(Role::Admin));
}
