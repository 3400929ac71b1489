#!/usr/bin/env bash
# Sets up tmax on a Debian/Ubuntu machine, idempotently: podman, runc, debootstrap, iptables (allowlist tasks),
# OpenSSH (ssh:// engines and their test's private sshd) and chromium (the viewer's browser tests) from apt (if missing),
# npm packages, the compiled CLI, the Python learner in a project virtualenv (.venv), and the offline Debian base
# image (debian:bookworm-slim, built with debootstrap).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for tool in podman runc debootstrap iptables; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=("python3-venv")
# Debian's chromium: the browser tests of `tmax view` drive it headless with playwright-core.
[ -x /usr/bin/chromium ] || missing+=("chromium")
# OpenSSH: ssh:// engine URLs go through ssh; the engine tests run a private sshd of their own.
command -v ssh >/dev/null 2>&1 || missing+=("openssh-client")
[ -x /usr/sbin/sshd ] || missing+=("openssh-server")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]} from apt"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "setup: npm packages"
npm ci --no-audit --no-fund --loglevel=error
echo "setup: compiling"
npm run --silent build

echo "setup: Python learner in .venv"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e "learner[dev]"

echo "setup: base image"
node dist/cli/main.js images bootstrap
