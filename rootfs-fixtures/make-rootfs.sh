#!/usr/bin/env bash
# make-rootfs.sh OUT_DIR [PROBE_PATH]
#
# Build a minimal test rootfs at OUT_DIR from scratch: the directory skeleton, the
# committed files under skeleton/, the host's static busybox (Debian busybox-static) with
# one symlink per applet in /bin, and the static probe as /probe. Idempotent: OUT_DIR is
# rebuilt from nothing each time, in OUT_DIR.tmp, and renamed into place only when
# complete, so a half-built tree is never left at OUT_DIR.
#
# PROBE_PATH defaults to the static build under the repository root:
#   target/static/x86_64-unknown-linux-gnu/release/probe
set -euo pipefail

FIXTURE_VERSION=1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
busybox=/bin/busybox

die() { echo "make-rootfs: $*" >&2; exit 1; }

if [[ $# -lt 1 || $# -gt 2 || -z "$1" ]]; then
    die "usage: make-rootfs.sh OUT_DIR [PROBE_PATH]"
fi
out="${1%/}"
probe="${2:-$repo/target/static/x86_64-unknown-linux-gnu/release/probe}"
case "$out" in
    ""|/|.|..) die "refusing to use '$1' as OUT_DIR" ;;
esac
[[ "$(cd "$(dirname "$out")" 2>/dev/null && pwd)/$(basename "$out")" != "$repo" ]] \
    || die "refusing to use the repository root as OUT_DIR"

# A binary counts as static when it has no program interpreter.
is_static() {
    local info
    if command -v file >/dev/null 2>&1; then
        info="$(file -L "$1")"
        [[ "$info" == *"statically linked"* || "$info" == *"static-pie linked"* ]]
    elif command -v ldd >/dev/null 2>&1; then
        info="$(LC_ALL=C ldd "$1" 2>&1 || true)"
        [[ "$info" == *"not a dynamic executable"* || "$info" == *"statically linked"* ]]
    else
        echo "make-rootfs: warning: neither file nor ldd found; cannot check that $1 is static" >&2
    fi
}

[[ -x "$busybox" ]] || die "/bin/busybox not found: apt-get install busybox-static"
is_static "$busybox" || die "/bin/busybox is not statically linked: apt-get install busybox-static"
[[ -f "$probe" ]] || die "probe not found at $probe: build it with" \
    "RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -p runtime-tests" \
    "--bin probe --target x86_64-unknown-linux-gnu --target-dir target/static"
is_static "$probe" || die "$probe is not statically linked: build it with RUSTFLAGS='-C target-feature=+crt-static'"

tmp="$out.tmp"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
chmod 0755 "$tmp"

# Directories (git cannot hold empty ones, so they are made here).
for d in bin sbin dev proc sys etc var var/tmp run mnt home home/nook usr usr/bin usr/sbin; do
    mkdir -p "$tmp/$d"
    chmod 0755 "$tmp/$d"
done
mkdir -p "$tmp/tmp" "$tmp/root"
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
chmod 0700 "$tmp/root"
# Rootless builds cannot chown to 1000; the home directory then stays owned by the builder.
chown 1000:1000 "$tmp/home/nook" 2>/dev/null || true

# Committed files (passwd, group, hostname), with modes that do not depend on umask.
cp -R "$here/skeleton/." "$tmp/"
find "$tmp/etc" -type f -exec chmod 0644 {} +

# busybox and one symlink per applet, all in /bin (the default PATH includes /bin).
cp "$busybox" "$tmp/bin/busybox"
chmod 0755 "$tmp/bin/busybox"
applets="$("$busybox" --list)" || die "'$busybox --list' failed"
while IFS= read -r applet; do
    [[ -z "$applet" || "$applet" == busybox || "$applet" == */* ]] && continue
    ln -s busybox "$tmp/bin/$applet"
done <<<"$applets"

cp "$probe" "$tmp/probe"
chmod 0755 "$tmp/probe"

banner="$("$busybox" 2>&1 || true)"
{
    echo "nook-rootfs-fixture $FIXTURE_VERSION"
    echo "busybox: ${banner%%$'\n'*}"
} >"$tmp/.nook-fixture"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
