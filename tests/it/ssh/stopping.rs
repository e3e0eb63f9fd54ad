//! Scripts that must stop: a timeout closes the channel and the session stays usable; a timed
//! out or abandoned script of a non-root user is stopped; privileged scripts of a non-root user
//! go through sudo, and sudo asking for a password is said as such.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_timeout_closes_the_channel_and_the_session_stays_usable() {
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let s = root_session(&host, &key).await;
    let mut slow = script("echo started; sleep 5");
    slow.step = "slow_step".into();
    slow.timeout = Duration::from_millis(700);
    let t0 = Instant::now();
    match s.run(&slow).await {
        Err(RemoteError::Timeout {
            what,
            secs,
            host: h,
        }) => {
            assert_eq!(what, "step slow_step");
            assert_eq!(secs, 1);
            assert_eq!(h, target(&host, "root").to_string());
        }
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());

    // The same connection runs the next scripts.
    let first = s.run(&script("echo $SSH_CONNECTION")).await.unwrap();
    let out = s.run(&script("echo still here")).await.unwrap();
    assert_eq!(out.stdout, "still here\n");
    assert_eq!(
        s.run(&script("echo $SSH_CONNECTION")).await.unwrap().stdout,
        first.stdout
    );
}

/// For non-root logins sshd honours the TERM we send on timeout (or when the caller drops the
/// run), so the remote shell is gone
/// (for root logins OpenSSH refuses session signals: "session signalling requires privilege
/// separation"; the process then runs on until it ends or next writes to the closed channel).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_or_abandoned_script_of_a_non_root_user_is_stopped() {
    require_users();
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let pids = host.dir().join("pids");
    std::fs::create_dir(&pids).unwrap();
    std::process::Command::new("chmod")
        .arg("1777")
        .arg(&pids)
        .status()
        .unwrap();
    let (c, _) = connector(&key);
    let s = c.connect(&target(&host, SUDO_USER)).await.unwrap();
    // Timed out (unprivileged and through sudo), and abandoned by the caller (future dropped).
    for (case, privileged, dropped) in [
        ("plain", false, false),
        ("sudo", true, false),
        ("dropped", false, true),
    ] {
        let pid_file = pids.join(format!("{case}.pid"));
        let mut slow = script(&format!("echo $$ > {}\nsleep 20", pid_file.display()));
        slow.privileged = privileged;
        if dropped {
            let abandoned = tokio::time::timeout(Duration::from_millis(700), s.run(&slow)).await;
            assert!(abandoned.is_err(), "{case}");
        } else {
            slow.timeout = Duration::from_millis(700);
            let r = s.run(&slow).await;
            assert!(
                matches!(r, Err(RemoteError::Timeout { .. })),
                "{case}: {r:?}"
            );
        }
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone_by = Instant::now() + Duration::from_secs(5);
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            assert!(
                Instant::now() < gone_by,
                "{case}: remote shell {pid} still running"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(s.run(&script("echo ok")).await.unwrap().stdout, "ok\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_root_user_runs_privileged_scripts_through_sudo() {
    require_users();
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let (c, _) = connector(&key);
    let s = c.connect(&target(&host, SUDO_USER)).await.unwrap();

    let mut sc = script("id -u; id -un; echo \"$GREETING\"");
    sc.env.push(("GREETING".into(), "hello 'there'".into()));
    sc.privileged = true;
    let out = s.run(&sc).await.unwrap();
    assert_eq!(out.stdout, "0\nroot\nhello 'there'\n", "{}", out.stderr);
    // Run by the dispatcher `sh -c <constant text>`, itself run by exactly
    // `sudo -n -- sh -c <the same text>`.
    let mut parent = script(
        "tr '\\0' ' ' < /proc/$$/cmdline; echo\n\
         tr '\\0' ' ' < /proc/$PPID/cmdline",
    );
    parent.privileged = true;
    let out = s.run(&parent).await.unwrap().stdout;
    let (shell, sudo) = out.trim_end().split_once('\n').unwrap();
    assert!(shell.starts_with("sh -c m=$(umask); "), "{shell}");
    assert_eq!(sudo, format!("sudo -n -- {}", shell.trim_end()));

    sc.privileged = false;
    let out = s.run(&sc).await.unwrap();
    assert_eq!(
        out.stdout,
        format!("{}\n{SUDO_USER}\nhello 'there'\n", uid(SUDO_USER))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_asking_for_a_password_is_sudo_password() {
    require_users();
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let (c, _) = connector(&key);
    let s = c.connect(&target(&host, PASSWORD_SUDO_USER)).await.unwrap();
    let mut sc = script("id -u");
    sc.privileged = true;
    match s.run(&sc).await {
        Err(RemoteError::SudoPassword { user, .. }) => assert_eq!(user, PASSWORD_SUDO_USER),
        other => panic!("{other:?}"),
    }
    // Unprivileged scripts still run as the user.
    sc.privileged = false;
    assert_eq!(
        s.run(&sc).await.unwrap().stdout.trim(),
        uid(PASSWORD_SUDO_USER)
    );
}
