#!/bin/sh
# os_release: print the host's os-release file, from which the engine picks the scripts for
# its OS (ID, then ID_LIKE).
#
# Privileges:  none (the only step the engine runs without sudo).
# Env:         none. LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      the file as is: /etc/os-release, or /usr/lib/os-release where /etc has none
#              (the fallback os-release(5) specifies).
# Exit:        0; 1 with a message on stderr if neither file is readable.
# Idempotency: read-only.
set -eu
R="${LABKUBE_ROOT:-}"

main() {
    for file in "$R/etc/os-release" "$R/usr/lib/os-release"; do
        if [ -r "$file" ]; then
            cat "$file"
            return 0
        fi
    done
    echo "os_release: neither /etc/os-release nor /usr/lib/os-release is readable" >&2
    return 1
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
