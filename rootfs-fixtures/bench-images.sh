#!/usr/bin/env bash
# bench-images.sh WORK_DIR NOOK_BINARY [ROOTFS]
#
# Not a timed test: builds a ~100 MiB image (the fixture rootfs plus four layers
# of 25 MiB of incompressible files, gzip), then in one run, side by side:
#   nook load -i OCI_DIR          (verify + store blobs + unpack every layer)
#   nook load -i DOCKER_ARCHIVE   (same, from a skopeo docker-archive)
#   umoci unpack --image OCI_DIR  (verify + unpack into a bundle)
# and prints wall time, MiB/s (of uncompressed layer data) and peak RSS.
set -euo pipefail
work="${1:?usage: bench-images.sh WORK_DIR NOOK_BINARY [ROOTFS]}"
nook="$(realpath "${2:?nook binary}")"
rootfs="${3:-target/fixtures/rootfs}"
rm -rf "$work" && mkdir -p "$work"
oci="$work/oci"
umoci init --layout "$oci"
umoci new --image "$oci:big"
umoci unpack --rootless --image "$oci:big" "$work/b" >/dev/null
cp -a "$rootfs/." "$work/b/rootfs/"
umoci repack --image "$oci:big" "$work/b"
for layer in 1 2 3 4; do
    mkdir -p "$work/b/rootfs/data$layer"
    for f in $(seq 1 100); do
        head -c 262144 /dev/urandom > "$work/b/rootfs/data$layer/f$f"
    done
    umoci repack --image "$oci:big" "$work/b"
done
rm -rf "$work/b"
skopeo copy --quiet "oci:$oci:big" "docker-archive:$work/big-docker.tar:big:latest"
mib=$(python3 - "$oci" <<'PY'
import json, sys, os
oci = sys.argv[1]
idx = json.load(open(f"{oci}/index.json"))
d = idx["manifests"][0]["digest"].split(":")[1]
man = json.load(open(f"{oci}/blobs/sha256/{d}"))
cfg = json.load(open(f"{oci}/blobs/sha256/{man['config']['digest'].split(':')[1]}"))
print(f"{sum(l['size'] for l in man['layers']) / 2**20:.1f}")
PY
)
echo "image: $(python3 -c "import json;print(len(json.load(open('$oci/index.json'))['manifests']))") manifest, 5 layers, $mib MiB of compressed layer blobs"
measure() { # name, command...
    local name="$1"; shift
    python3 - "$name" "$@" <<'PY'
import resource, subprocess, sys, time
name, cmd = sys.argv[1], sys.argv[2:]
t = time.monotonic()
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
dt = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
import os
mib = float(os.environ["UNPACKED_MIB"])
print(f"{name:<28} {dt:7.2f} s  {mib / dt:6.1f} MiB/s  peak RSS {rss:6.1f} MiB")
PY
}
size=$(du -sm --apparent-size "$rootfs" | cut -f1)
export UNPACKED_MIB=$((size + 100))
echo "uncompressed: ~$UNPACKED_MIB MiB"
measure "nook load (OCI dir)" "$nook" --root "$work/store1" load -q -i "$oci"
measure "nook load (docker-archive)" "$nook" --root "$work/store2" load -q -i "$work/big-docker.tar"
measure "umoci unpack" umoci unpack --image "$oci:big" "$work/bundle"
du -sm "$work/store1/layers" "$work/bundle/rootfs" | sed 's/^/size on disk: /'
rm -rf "$work"
