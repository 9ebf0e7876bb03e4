#!/usr/bin/env bash
# Builds fractale's release artifacts without Docker, and checks them:
#   - the abi3 wheel for Linux x86_64 tagged manylinux2014 (glibc >= 2.17), linked by zig
#     through maturin against glibc 2.17's symbols, which `auditwheel show` must agree with;
#   - the sdist.
# Usage: scripts/build-wheels.sh [OUT_DIR]     (default: dist/ in the repository)
# Its tools (maturin, ziglang, auditwheel) come from PyPI into their own venv,
# $FRACTALE_WHEEL_TOOLS (default: wheel-tools/ under the cargo target directory).
# Cargo honours CARGO_TARGET_DIR; the zig build lands under <target>/x86_64-unknown-linux-gnu/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/dist}")
target_dir=${CARGO_TARGET_DIR:-$root/target}
tools=${FRACTALE_WHEEL_TOOLS:-$target_dir/wheel-tools}
# The exact ziglang the manylinux2014 link was checked with (zig releases change its cc driver).
ZIGLANG="ziglang==0.17.1"
AUDITWHEEL="auditwheel>=6.3,<7"
TAG="manylinux2014_x86_64"
POLICY="manylinux_2_17_x86_64" # auditwheel's PEP 600 name for manylinux2014

die() { echo "build-wheels: $*" >&2; exit 1; }

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] ||
  die "builds the x86_64 manylinux wheel only, on a Linux x86_64 host (this is $(uname -sm))"
command -v cargo >/dev/null || die "cargo is not on PATH (a Rust toolchain >= the crate's rust-version)"

# The version (Cargo.toml's) and maturin's range (pyproject.toml's build-system) are read
# from where they are kept.
read_manifests() {
  python3 - "$root" <<'EOF'
import sys, tomllib
from pathlib import Path
root = Path(sys.argv[1])
cargo = tomllib.loads((root / "Cargo.toml").read_text())
pyproject = tomllib.loads((root / "pyproject.toml").read_text())
maturin = next(r for r in pyproject["build-system"]["requires"] if r.startswith("maturin"))
print(cargo["package"]["version"], maturin.replace(" ", ""))
EOF
}
manifests=$(read_manifests) || die "cannot read Cargo.toml and pyproject.toml (this script needs Python >= 3.11)"
read -r version maturin_req <<<"$manifests"

[ -x "$tools/bin/python" ] || python3 -m venv "$tools"
"$tools/bin/python" -m pip install -q --disable-pip-version-check "$maturin_req" "$ZIGLANG" "$AUDITWHEEL"
# maturin finds zig as `python3 -m ziglang`: the tools venv must come first on PATH.
export PATH="$tools/bin:$PATH"
mkdir -p "$out"

cd "$root"
start=$SECONDS
maturin build --release --zig --compatibility manylinux2014 \
  --target x86_64-unknown-linux-gnu --out "$out"
echo "build-wheels: manylinux2014 wheel built in $((SECONDS - start)) s"
maturin sdist --out "$out"

wheel="$out/fractale-$version-cp39-abi3-$TAG.manylinux_2_17_x86_64.whl"
sdist="$out/fractale-$version.tar.gz"
[ -f "$wheel" ] || die "maturin did not write $wheel"
[ -f "$sdist" ] || die "maturin did not write $sdist"

# auditwheel judges the wheel by the symbols it links, not by its name.
auditwheel show "$wheel"
audit=$(auditwheel show --json "$wheel")
python3 - "$POLICY" "$audit" <<'EOF' || die "auditwheel does not agree that $wheel is $TAG"
import json, sys
policy, audit = sys.argv[1], json.loads(sys.argv[2])
if audit["overall_tag"] != policy or audit["external_libs"] or audit["unsupported_isa"]:
    sys.exit(f"auditwheel: overall tag {audit['overall_tag']}, external libraries "
             f"{sorted(audit['external_libs'])}, unsupported ISA {audit['unsupported_isa']}")
EOF
echo "build-wheels: auditwheel agrees that $(basename "$wheel") is $POLICY ($TAG)"
echo "build-wheels: wrote $wheel and $sdist"
