#!/usr/bin/env bash
# Installs the real SSH peers that Nacre's interop tests and benchmarks talk to:
# OpenSSH 10 (client, server, sftp-server) from Debian's bookworm-backports
# suite, plus sshpass, puttygen (putty-tools, the oracle for PuTTY key files),
# git (nacre-keygen's git commit -S test), tmux (nacre's interactive sessions
# are typed through it) and curl (the SOCKS client for -D). ssh2 (the
# JavaScript peer) comes from npm as a dev dependency. Idempotent: when everything is present it exits in well under a
# second. Needs root (or sudo) on Debian 12.
set -euo pipefail

want_major=10
have_openssh10() {
  command -v ssh >/dev/null 2>&1 && command -v sshd >/dev/null 2>&1 || return 1
  ssh -V 2>&1 | grep -q "^OpenSSH_${want_major}\." || return 1
  command -v sshpass >/dev/null 2>&1 || return 1
  command -v puttygen >/dev/null 2>&1 || return 1
  command -v git >/dev/null 2>&1 || return 1
  command -v tmux >/dev/null 2>&1 || return 1
  command -v curl >/dev/null 2>&1 || return 1
  return 0
}

if have_openssh10; then
  mkdir -p /run/sshd 2>/dev/null || true
  echo "install-test-peers: $(ssh -V 2>&1) already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-test-peers: need root to install OpenSSH ${want_major}; interop tests will skip" >&2
    exit 1
  fi
fi

src=/etc/apt/sources.list.d/debian.sources
dst=/etc/apt/sources.list.d/backports.sources
if [ ! -f "$dst" ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Derive the backports entry from the first stanza of the existing source,
  # so no mirror host name is written here.
  awk 'BEGIN{RS="";ORS="\n\n"} NR==1' "$src" | sed 's/^Suites:.*/Suites: bookworm-backports/' | $SUDO tee "$dst" >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq -t bookworm-backports \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  openssh-client openssh-server openssh-sftp-server
$SUDO apt-get install -y -qq sshpass putty-tools git tmux curl
$SUDO mkdir -p /run/sshd
echo "install-test-peers: $(ssh -V 2>&1)"
