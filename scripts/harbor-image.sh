#!/usr/bin/env bash
# Builds the image the Harbor round-trip tests run Harbor's own code in (tests/helpers/harbor.ts), idempotently:
# Harbor needs Python >= 3.12 and Debian 12 has 3.11, so it is installed in a Debian 13 (trixie, Python 3.13) image.
#
#   1. debian:trixie-slim, with `tmax images bootstrap --suite trixie` (debootstrap from the apt mirror), if missing;
#   2. Harbor's wheels for Python 3.13, downloaded on the host with pip (containers need not reach the package
#      index), cached in ~/.cache/tmax/harbor-wheels-<version>;
#   3. python3 + venv from apt and `pip install --no-index harbor==<version>` from those wheels, in a build whose
#      wheels are bind-mounted (they are not kept in the image).
#
# The image is tagged by the pinned Harbor version; when it exists nothing is done. Prints the tag on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

HARBOR_VERSION="${TMAX_HARBOR_VERSION:-0.26.0}"
TAG="localhost/tmax-harbor-test:${HARBOR_VERSION}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/tmax"
WHEELS="$CACHE/harbor-wheels-$HARBOR_VERSION"
mkdir -p "$CACHE"

conf="$(mktemp)"
trap 'rm -f "$conf"' EXIT
printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n' >"$conf"
if command -v runc >/dev/null 2>&1; then printf 'runtime = "runc"\n' >>"$conf"; fi
export CONTAINERS_CONF="${CONTAINERS_CONF:-$conf}"

# One build at a time (test files run concurrently); the second waits and then finds the image.
exec 9>"$CACHE/harbor-image.lock"
flock 9

if podman image exists "$TAG"; then
  echo "$TAG"
  exit 0
fi

start=$SECONDS
if ! podman image exists debian:trixie-slim; then
  echo "harbor-image: bootstrapping debian:trixie-slim" >&2
  node dist/cli/main.js images bootstrap --suite trixie >&2
fi

if [ ! -f "$WHEELS/.complete" ]; then
  echo "harbor-image: downloading harbor==$HARBOR_VERSION wheels for Python 3.13" >&2
  pip=(python3 -m pip)
  if [ -x .venv/bin/pip ]; then pip=(.venv/bin/pip); fi
  rm -rf "$WHEELS.partial"
  "${pip[@]}" download --quiet --disable-pip-version-check --dest "$WHEELS.partial" \
    --python-version 3.13 --implementation cp --abi cp313 --abi abi3 --abi none \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 --platform manylinux_2_5_x86_64 --platform any \
    --only-binary=:all: "harbor==$HARBOR_VERSION" 2> >(grep -v "^WARNING: Location" >&2)
  touch "$WHEELS.partial/.complete"
  rm -rf "$WHEELS"
  mv "$WHEELS.partial" "$WHEELS"
fi

echo "harbor-image: building $TAG" >&2
context="$(mktemp -d "$CACHE/harbor-build.XXXXXX")"
trap 'rm -f "$conf"; rm -rf "$context"' EXIT
cat >"$context/Containerfile" <<EOF
FROM debian:trixie-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null \\
    && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,source=wheels,target=/wheels python3 -m venv /opt/harbor \\
    && /opt/harbor/bin/pip install --quiet --disable-pip-version-check --no-index --find-links /wheels "harbor==$HARBOR_VERSION" \\
    && rm -rf /root/.cache
LABEL tmax.harbor-version="$HARBOR_VERSION"
EOF
cp -rl "$WHEELS" "$context/wheels" 2>/dev/null || cp -r "$WHEELS" "$context/wheels"
podman build --quiet --tag "$TAG" "$context" >/dev/null
echo "harbor-image: built $TAG in $((SECONDS - start)) s" >&2
echo "$TAG"
