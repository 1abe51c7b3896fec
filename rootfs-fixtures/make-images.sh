#!/usr/bin/env bash
# make-images.sh OUT_DIR [ROOTFS]
#
# Tiny test images from the fixture rootfs (busybox + probe; `make fixtures`),
# made offline with umoci and skopeo (Debian packages), no third-party image:
#   OUT_DIR/oci/                 OCI layout: tags busybox, multi
#   OUT_DIR/busybox-docker.tar   docker-archive  (skopeo copy ... docker-archive:)
#   OUT_DIR/busybox-oci.tar      OCI archive     (skopeo copy ... oci-archive:)
#   OUT_DIR/multi-docker.tar     three layers: files deleted (whiteouts), a directory
#   OUT_DIR/multi-oci.tar        emptied and refilled, a file replaced by a symlink,
#                                a hardlink, a setuid file, a 0555 directory
#   OUT_DIR/hostile/*.tar        traversal, absolute path, escaping symlink write,
#                                escaping hardlink, digest mismatch, truncated
# Built in OUT_DIR.tmp and renamed into place when complete.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
die() { echo "make-images: $*" >&2; exit 1; }
[[ $# -ge 1 && -n "$1" ]] || die "usage: make-images.sh OUT_DIR [ROOTFS]"
out="${1%/}"
rootfs="${2:-$repo/target/fixtures/rootfs}"
[[ -x "$rootfs/bin/busybox" ]] || die "no fixture rootfs at $rootfs (run 'make fixtures')"
for t in umoci skopeo python3; do command -v $t >/dev/null || die "$t is missing (apt-get install umoci skopeo python3)"; done

tmp="$out.tmp"
rm -rf "$tmp" && mkdir -p "$tmp/hostile"
oci="$tmp/oci"
export SOURCE_DATE_EPOCH=1600000000
umoci init --layout "$oci"

# busybox: one layer, the fixture rootfs.
umoci new --image "$oci:busybox"
umoci unpack --rootless --image "$oci:busybox" "$tmp/b1" >/dev/null
cp -a "$rootfs/." "$tmp/b1/rootfs/"
umoci repack --image "$oci:busybox" "$tmp/b1"
umoci config --image "$oci:busybox" --config.cmd /bin/sh --config.env PATH=/bin:/sbin \
    --config.workingdir / --config.user root --config.label org.nook.fixture=busybox
rm -rf "$tmp/b1"

# multi: busybox plus two layers that exercise whiteouts and metadata.
umoci unpack --rootless --image "$oci:busybox" "$tmp/m"
mkdir -p "$tmp/m/rootfs/data/old" "$tmp/m/rootfs/srv/ro"
echo one > "$tmp/m/rootfs/data/old/a"; echo two > "$tmp/m/rootfs/data/keep"
echo gone > "$tmp/m/rootfs/etc/motd"; echo real > "$tmp/m/rootfs/srv/target"
cp "$rootfs/bin/busybox" "$tmp/m/rootfs/srv/suid"; chmod 4755 "$tmp/m/rootfs/srv/suid"
echo ro > "$tmp/m/rootfs/srv/ro/f"; chmod 0555 "$tmp/m/rootfs/srv/ro"
umoci repack --image "$oci:multi" "$tmp/m"
chmod -R u+w "$tmp/m" && rm -rf "$tmp/m"
umoci unpack --rootless --image "$oci:multi" "$tmp/m" >/dev/null
rm -rf "$tmp/m/rootfs/data/old" "$tmp/m/rootfs/etc/motd" "$tmp/m/rootfs/etc/hostname"
echo new > "$tmp/m/rootfs/data/new"
ln "$tmp/m/rootfs/data/new" "$tmp/m/rootfs/data/new-hardlink"
rm "$tmp/m/rootfs/srv/target"; ln -s /data/new "$tmp/m/rootfs/srv/target"
umoci repack --image "$oci:multi" "$tmp/m"
umoci config --image "$oci:multi" --config.cmd /bin/sh --config.workingdir /data
chmod -R u+w "$tmp/m" && rm -rf "$tmp/m"
umoci gc --layout "$oci"

for img in busybox multi; do
    skopeo copy --quiet "oci:$oci:$img" "docker-archive:$tmp/$img-docker.tar:$img:latest"
    skopeo copy --quiet "oci:$oci:$img" "oci-archive:$tmp/$img-oci.tar:$img:latest"
done

python3 "$here/make-hostile.py" "$tmp/hostile" "$tmp/busybox-docker.tar"

rm -rf "$out" && mv "$tmp" "$out"
echo "make-images: $(ls "$out" | tr '\n' ' ')"
