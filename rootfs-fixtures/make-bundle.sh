#!/usr/bin/env bash
# make-bundle.sh OUT_DIR [PROBE_PATH]
#
# Create an OCI bundle for `make demo`: OUT_DIR/rootfs (via make-rootfs.sh) and
# OUT_DIR/config.json, the default config that `nook-runtime spec` writes (equal to runc's),
# except that the process runs `/bin/sh -c 'hostname; ps'` without a terminal and the
# hostname is "nook-demo". NOOK_RUNTIME names the runtime binary (default: the debug build).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "make-bundle: $*" >&2; exit 1; }

if [[ $# -lt 1 || $# -gt 2 || -z "$1" ]]; then
    die "usage: make-bundle.sh OUT_DIR [PROBE_PATH]"
fi
out="${1%/}"
runtime="${NOOK_RUNTIME:-$here/../target/debug/nook-runtime}"
[[ -x "$runtime" ]] || die "$runtime not found: build it first (cargo build)"
command -v python3 >/dev/null 2>&1 || die "python3 not found: apt-get install python3"

mkdir -p "$out"
"$here/make-rootfs.sh" "$out/rootfs" ${2:+"$2"}
rm -f "$out/config.json" "$out/config.json.tmp"
"$runtime" spec --bundle "$out"

python3 - "$out/config.json" <<'PY'
import json
import os
import sys

path = sys.argv[1]
with open(path) as f:
    config = json.load(f)
config["process"]["terminal"] = False
config["process"]["args"] = ["/bin/sh", "-c", "hostname; ps"]
config["hostname"] = "nook-demo"
with open(path + ".tmp", "w") as f:
    json.dump(config, f, indent="\t")
    f.write("\n")
os.replace(path + ".tmp", path)
PY
