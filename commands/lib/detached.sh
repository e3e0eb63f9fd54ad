# shellcheck shell=sh disable=SC2154
# detached: runs one step detached from the SSH session, at most once per job and step, and
# follows it. The engine (src/provision/runs.rs) sends this file instead of the step for the
# steps that must never run twice at once (kubeadm init and join, package installs, reset),
# with two shell variables set in front of it:
#   labkube_body  the step script (helpers included), sent as one quoted word;
#   labkube_run   the run's name, <job>-<job created ms>-<step> ([a-z0-9_-] only).
#
# A run lives in /run/labkube/runs/<run>/ (root-only, 0700; /run is cleared at boot, when no
# run can survive anyway): script (the step's text: no secret, those come through the
# environment, which the run inherits and which is written nowhere), out, err, lock, and rc
# (its exit status, written last, atomically). The run itself is `setsid`: sshd's hang-up when
# the bot dies or the connection drops does not reach it. It holds an flock on its lock from
# before it is detached until it ends, and waits on <step>.lock first, so two jobs' runs of
# the same step on one host never overlap (the later one's own probe then decides).
#
# This script: if there is no marker of this run, makes one and starts the run; if there is,
# the run was started by an earlier attempt of the same job (before a crash or a lost
# connection) and is not started again. Either way it then waits (at most LABKUBE_RUN_WAIT s)
# for the run to end, prints its output and exits with its status. The marker stays: the bot
# that started the run may be gone (its follower here lives on until the run ends, writing to a
# closed connection), and the resumed job reads the outcome from it. A marker whose run ended
# without an exit status (killed) is removed and the step is run afresh; a finished one is
# removed when the bot, having read its failure, tries again (LABKUBE_RUN_AGAIN=yes), or a day
# after the run ended.
#
# Privileges:  root.
# Env:         LABKUBE_RUN_WAIT  seconds to wait for the run (the step's timeout; required)
#              LABKUBE_RUN_AGAIN  yes: a finished run of this name is forgotten, not read
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
#              The step's own variables, passed on to it.
# Output:      the step's stdout and stderr; one line on stderr when waiting for an earlier run.
# Exit:        the step's status; 75 if it is still running after LABKUBE_RUN_WAIT s (it goes
#              on: the next attempt waits for it) or another job's run of the step held it up
#              that long; 70 if the run ended without a status twice.
# Idempotency: the point of it: one run per job, step and host, whatever the attempts.
set -eu
R="${LABKUBE_ROOT:-}"
case "${LABKUBE_RUN_WAIT:-}" in
    "" | *[!0-9]*)
        echo "detached: LABKUBE_RUN_WAIT must be a number of seconds" >&2
        exit 1
        ;;
esac
case "$labkube_run" in
    "" | *[!a-z0-9_-]*)
        echo "detached: malformed run name" >&2
        exit 1
        ;;
esac
runs="$R/run/labkube/runs"
dir="$runs/$labkube_run"
step=${labkube_run##*-}
umask 077
mkdir -p "$runs"
chmod 0700 "$R/run/labkube" "$runs"
if [ "${LABKUBE_RUN_AGAIN:-no}" = yes ] && [ -f "$dir/rc" ]; then
    # The bot read this run's failure and tries the step again.
    rm -rf "$dir"
fi
# Markers of runs that ended more than a day ago go (a job interrupted longer than that runs
# the step again, and the step's own probe decides).
for old in "$runs"/*; do
    [ -d "$old" ] && [ -n "$(find "$old" -maxdepth 0 -mmin +1440)" ] &&
        flock -n "$old/lock" true && rm -rf "$old"
done

start() {
    mkdir "$dir" || return 1
    printf '%s\n' "$labkube_body" >"$dir/script"
    : >"$dir/out"
    : >"$dir/err"
    # The run's lock is taken here and inherited by the detached run (descriptor 9: one open
    # file, one lock), so it is held without a gap until the run ends.
    exec 9>"$dir/lock"
    flock -x 9
    # shellcheck disable=SC2016 # expanded by the run's own shell
    setsid sh -c '
        trap "" HUP
        d=$1
        exec 8>"$2"
        if flock -x -w "$3" 8; then
            s=0
            sh "$d/script" </dev/null >"$d/out" 2>"$d/err" 8>&- 9>&- || s=$?
        else
            echo "another run of this step on this host still holds $2 after $3 s" >"$d/err"
            s=75
        fi
        printf "%s\n" "$s" >"$d/rc.new" && mv -f "$d/rc.new" "$d/rc"
    ' labkube-run "$dir" "$runs/$step.lock" "$LABKUBE_RUN_WAIT" </dev/null >/dev/null 2>&1 &
    exec 9>&-
}

# follow: waits for the run to end; 0 with its outcome, 2 if it ended without an exit status.
follow() {
    flock -s -w "$LABKUBE_RUN_WAIT" "$dir/lock" true || {
        echo "detached: $step is still running on this host after $LABKUBE_RUN_WAIT s; the next attempt waits for it" >&2
        exit 75
    }
    [ -f "$dir/rc" ] || return 2
}

attempt=0
while :; do
    attempt=$((attempt + 1))
    if [ ! -d "$dir" ]; then
        start || true
    else
        echo "detached: $step was started on this host by an earlier attempt of this job; waiting for it instead of starting it again" >&2
    fi
    if follow; then
        break
    fi
    rm -rf "$dir"
    if [ "$attempt" -ge 2 ]; then
        echo "detached: $step ended without an exit status twice" >&2
        exit 70
    fi
done
cat "$dir/out"
cat "$dir/err" >&2
exit "$(cat "$dir/rc")"
