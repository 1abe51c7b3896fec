#!/usr/bin/env bash
# make-bundle.sh OUT_DIR [PROBE_PATH]
#
# Create an OCI bundle for `make demo`: OUT_DIR/rootfs (via make-rootfs.sh) and
# OUT_DIR/config.json, the same document `runc spec` writes except that the process runs
# `/bin/sh -c 'hostname; ps'` without a terminal and the hostname is "nook-demo".
# The config is generated here (python3) rather than by runc, so the demo does not
# need runc installed; its fields mirror runc 1.1's default spec.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "make-bundle: $*" >&2; exit 1; }

if [[ $# -lt 1 || $# -gt 2 || -z "$1" ]]; then
    die "usage: make-bundle.sh OUT_DIR [PROBE_PATH]"
fi
out="${1%/}"
command -v python3 >/dev/null 2>&1 || die "python3 not found: apt-get install python3"

mkdir -p "$out"
"$here/make-rootfs.sh" "$out/rootfs" ${2:+"$2"}

python3 - "$out/config.json" <<'PY'
import json
import os
import sys

NOSUID_NOEXEC_NODEV = ["nosuid", "noexec", "nodev"]
DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

config = {
    "ociVersion": "1.0.2-dev",
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": ["/bin/sh", "-c", "hostname; ps"],
        "env": [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm",
        ],
        "cwd": "/",
        "capabilities": {
            kind: list(DEFAULT_CAPS)
            for kind in ("bounding", "effective", "permitted", "ambient")
        },
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "nook-demo",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": NOSUID_NOEXEC_NODEV + ["mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": list(NOSUID_NOEXEC_NODEV)},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": NOSUID_NOEXEC_NODEV + ["ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": NOSUID_NOEXEC_NODEV + ["relatime", "ro"]},
    ],
    "linux": {
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        "maskedPaths": [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
            "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
        ],
        "readonlyPaths": [
            "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
        ],
    },
}

path = sys.argv[1]
with open(path + ".tmp", "w") as f:
    json.dump(config, f, indent="\t")
    f.write("\n")
os.replace(path + ".tmp", path)
PY
