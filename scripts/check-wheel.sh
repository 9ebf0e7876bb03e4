#!/usr/bin/env bash
# Installs what scripts/build-wheels.sh built the way a user would, and runs it outside the
# source tree:
#   - the manylinux2014 wheel, into a fresh venv with no Rust on PATH;
#   - with --sdist, the sdist, built by pip into another fresh venv: from scratch unless
#     CARGO_TARGET_DIR names a target directory whose release build cargo may reuse.
# In each, from a directory outside the repository: README.md's main command against the
# bundled example fleet (absolute paths), then scripts/smoke-installed.py.
# Usage: scripts/check-wheel.sh DIST_DIR [--sdist]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "check-wheel: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: scripts/check-wheel.sh DIST_DIR [--sdist]"
dist=$(realpath "$1")
with_sdist=false
case "${2:-}" in
  --sdist) with_sdist=true ;;
  "") ;;
  *) die "unknown option ${2} (usage: scripts/check-wheel.sh DIST_DIR [--sdist])" ;;
esac
TAG="cp39-abi3-manylinux2014_x86_64"
version=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["package"]["version"])' \
  "$root/Cargo.toml")
wheel="$dist/fractale-$version-$TAG.manylinux_2_17_x86_64.whl"
sdist="$dist/fractale-$version.tar.gz"
[ -f "$wheel" ] || die "no $wheel (run scripts/build-wheels.sh $dist first)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# README.md's main command and the smoke test, run by the venv $1 from outside the repository.
exercise() {
  local venv=$1 tag=${2:-}
  (
    cd "$work"
    "$venv/bin/fractale" script --config-dir "$root/examples/fleet" \
      "$root/examples/jobs/gromacs.sh" --require 'gromacs>=2023' --by cost >script.out
    grep -qFx '# Software on quartz, found by fractale' script.out &&
      grep -qFx 'spack load gromacs@2023.1/q3kcqxs' script.out &&
      grep -qFx '#SBATCH --nodes=4' script.out ||
      { cat script.out; die "README's main command did not write quartz's script"; }
    echo "check-wheel: README's main command wrote quartz's Slurm script with its spack load"
    "$venv/bin/python" "$root/scripts/smoke-installed.py" "$root/examples" $tag
  )
}

# The wheel, with every PATH entry that holds a Rust toolchain left out.
no_rust=""
IFS=: read -ra entries <<<"$PATH"
for entry in "${entries[@]}"; do
  [ -n "$entry" ] || continue
  [ -e "$entry/cargo" ] || [ -e "$entry/rustc" ] || [ -e "$entry/rustup" ] && continue
  no_rust="${no_rust:+$no_rust:}$entry"
done
python3 -m venv "$work/wheel-venv"
(
  export PATH="$work/wheel-venv/bin:$no_rust"
  unset CARGO_HOME RUSTUP_HOME RUSTUP_TOOLCHAIN CARGO_TARGET_DIR
  ! command -v cargo >/dev/null && ! command -v rustc >/dev/null ||
    die "Rust is still on PATH ($(command -v cargo rustc | tr '\n' ' '))"
  cd "$work"
  python -m pip install -q --disable-pip-version-check --only-binary=:all: "$wheel"
  exercise "$work/wheel-venv" "$TAG"
)
echo "check-wheel: the manylinux2014 wheel installs and runs without Rust"

if $with_sdist; then
  [ -f "$sdist" ] || die "no $sdist (run scripts/build-wheels.sh $dist first)"
  python3 -m venv "$work/sdist-venv"
  start=$SECONDS
  (cd "$work" && "$work/sdist-venv/bin/python" -m pip install -q --disable-pip-version-check \
    --no-cache-dir --no-binary fractale "$sdist")
  echo "check-wheel: the sdist built and installed in $((SECONDS - start)) s" \
    "(cargo target: ${CARGO_TARGET_DIR:-a fresh one})"
  exercise "$work/sdist-venv"
fi
