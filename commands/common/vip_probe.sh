#!/bin/sh
# vip_probe: one move of the probe that a virtual IP (endpoint=) can carry the cluster's API
# endpoint on this lab's network, before anything is installed. The bot holds the address on
# one control plane, asks another host whether it answers there, and lets it go, for each
# control plane in turn: kube-vip will move it the same way when a control plane is lost. On
# OpenStack a VM's port drops every packet sent from an address not on the port (port
# security) unless allowed_address_pairs lists it, so the address answers on the host that
# holds it and nowhere else; that is what this finds out.
#   ACTION=reach:   ping -c 2 -W 1 -q VIP from this host; prints "answers=yes" or "answers=no".
#   ACTION=hold:    ip addr add VIP/32 (/128 for IPv6) dev VIP_INTERFACE with a lifetime of
#                   HOLD_SECONDS: the kernel takes the address away by itself when it ends,
#                   even if the bot never comes back to release it (ip-address(8), valid_lft).
#   ACTION=release: ip addr del of that address, when this host still has it.
#
# Privileges:  root (hold, release); none (reach).
# Env:         ACTION         reach, hold or release (required)
#              VIP            the virtual IP, an IPv4 or IPv6 address (required)
#              VIP_INTERFACE  the interface of this host's cluster address (hold, release)
#              HOLD_SECONDS   the held address's lifetime, 5-600 (hold)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      reach: "answers=yes|no"; hold, release: one line saying what changed.
# Exit:        0; ip's status if it refuses the change; 1 for malformed parameters.
# Idempotency: hold replaces nothing the host had (an address it already has is refused
#              before the probe starts: the preflight reads every host's addresses); release
#              does nothing when the address is gone.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=vip_probe

# held: this host has the VIP on VIP_INTERFACE now.
held() {
    ip -o addr show scope global | awk -v a="$VIP" -v d="$VIP_INTERFACE" '
        $2 == d { split($4, p, "/"); if (p[1] == a) found = 1 } END { exit !found }'
}

main() {
    if [ "${ACTION:-}" = reach ]; then vip_params no; else vip_params yes; fi
    case "$VIP" in *:*) prefix=128 ;; *) prefix=32 ;; esac
    case "$ACTION" in
        reach)
            need_ping
            if ping -c 2 -W 1 -q "$VIP" >/dev/null 2>&1; then
                echo "answers=yes"
            else
                echo "answers=no"
            fi
            ;;
        hold)
            case "${HOLD_SECONDS:-}" in
                [5-9] | [1-9][0-9] | [1-5][0-9][0-9] | 600) ;;
                *) fail "HOLD_SECONDS must be a number of seconds from 5 to 600" ;;
            esac
            ip addr add "$VIP/$prefix" dev "$VIP_INTERFACE" valid_lft "$HOLD_SECONDS" preferred_lft "$HOLD_SECONDS"
            echo "vip_probe: holding $VIP on $VIP_INTERFACE for at most $HOLD_SECONDS s"
            ;;
        release)
            if held; then
                ip addr del "$VIP/$prefix" dev "$VIP_INTERFACE"
                echo "vip_probe: released $VIP"
            else
                echo "vip_probe: $VIP is not held here; nothing to release"
            fi
            ;;
        *) fail "ACTION must be reach, hold or release" ;;
    esac
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
