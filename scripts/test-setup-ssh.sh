#!/usr/bin/env bash
# Prepares this machine for the SSH integration tests and the ssh_overhead benchmark
# (testkit/src/sshd.rs starts real OpenSSH sshd processes on 127.0.0.N). Idempotent: run it as
# often as you like; it only adds what is missing.
#
# What it sets up:
# - packages: openssh-server (sshd, ssh-keygen), openssh-client (ssh, for the benchmark), sudo;
# - /run/sshd, the privilege-separation directory sshd refuses to start without (there is no
#   systemd here to create it);
# - two local users for the non-root tests, both with shell /bin/sh and the password field `*`
#   (no password can ever match; unlike a `!`-locked account, sshd with `UsePAM no` still lets
#   them log in with a key):
#   - labkube-ci: passwordless sudo (`labkube-ci ALL=(ALL) NOPASSWD: ALL`);
#   - labkube-pw: in sudoers WITHOUT NOPASSWD, so `sudo -n` says "a password is required".
#
# Usage: scripts/test-setup-ssh.sh   (as root, or as a user with sudo)
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v sudo >/dev/null 2>&1 || missing+=(sudo)
command -v visudo >/dev/null 2>&1 || missing+=(sudo)
if [ "${#missing[@]}" -gt 0 ]; then
  # shellcheck disable=SC2207
  pkgs=($(printf '%s\n' "${missing[@]}" | sort -u))
  echo "installing: ${pkgs[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"
fi

# sshd's privilege-separation directory (normally created by systemd's RuntimeDirectory).
as_root mkdir -p /run/sshd
as_root chmod 0755 /run/sshd

ensure_user() {
  local user=$1
  if ! id -u "$user" >/dev/null 2>&1; then
    echo "creating user $user"
    as_root useradd --create-home --shell /bin/sh "$user"
  fi
  # `*`: no password matches. Not `!`: sshd (UsePAM no) refuses `!`-locked accounts outright.
  if [ "$(as_root getent shadow "$user" | cut -d: -f2)" != '*' ]; then
    as_root usermod --password '*' "$user"
  fi
  if [ "$(getent passwd "$user" | cut -d: -f7)" != /bin/sh ]; then
    as_root usermod --shell /bin/sh "$user"
  fi
}

ensure_sudoers() {
  local line=$2 file=/etc/sudoers.d/$1 tmp
  tmp=$(mktemp)
  printf '%s\n' "$line" > "$tmp"
  if ! as_root cmp -s "$tmp" "$file" 2>/dev/null; then
    as_root visudo -cf "$tmp" >/dev/null
    as_root install -m 0440 -o root -g root "$tmp" "$file"
    echo "wrote $file"
  fi
  rm -f "$tmp"
  as_root chmod 0440 "$file"
  as_root visudo -cf "$file" >/dev/null
}

ensure_user labkube-ci
ensure_user labkube-pw
ensure_sudoers labkube-ci 'labkube-ci ALL=(ALL) NOPASSWD: ALL'
ensure_sudoers labkube-pw 'labkube-pw ALL=(ALL) ALL'

echo "ssh test prerequisites are in place"
