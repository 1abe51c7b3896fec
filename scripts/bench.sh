#!/usr/bin/env bash
# bench.sh [host|v2|all]: `make bench` (all), `make bench-v2` (v2 only).
#
# Builds the release binaries (static, as `make release`) and a busybox bundle running /bin/true, then measures
# nook-runtime, runc and crun side by side in ONE interleaved run (scripts/bench.py),
# plus the floor (`unshare` of the same namespaces + fork + exec of true, and true):
#   host: inside a private mount namespace with /sys/fs/cgroup/unified unmounted
#         (crun refuses the hybrid layout otherwise; the host's mounts are untouched,
#         every runtime then sees the same pure cgroup v1), and the seccomp benchmarks;
#   v2:   the same in the cgroup v2 qemu guest (scripts/run-in-vm.sh), fewer rounds.
#   host also: the front end, `nook run --rm busybox true` vs `podman run --rm` (runc, crun,
#         nook-runtime; overlay storage under the work dir) and the image path (load of
#         target/fixtures/images/busybox-docker.tar + the first run) from an empty store.
# BENCH_EXTRA="NAME=PATH ..." adds runtimes (an earlier build: before/after in one run),
# BENCH_FRONT_EXTRA="NAME=PATH ..." more `nook` front ends, BENCH_ARGS more bench.py flags.
# Tables are printed and written into docs/benchmarks.md between the
# `<!-- bench:host -->` / `<!-- bench:v2 -->` markers. Raw JSON: target/bench/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode=${1:-all}
out=$PWD/target/bench
nook=$PWD/target/static/x86_64-unknown-linux-gnu/release/nook-runtime
front=(--front "nook=${nook%-runtime}" --image "$PWD/target/fixtures/images/busybox-docker.tar")
# BENCH_FRONT_EXTRA="NAME=PATH ...": more `nook` front ends (an earlier build).
for extra in ${BENCH_FRONT_EXTRA:-}; do front+=(--front "$extra"); done
command -v podman >/dev/null || { echo "no podman (make engine-deps): front-end phases skipped"; front=(); }
py=/usr/bin/python3
rts=(--runtime "nook=$nook" --runtime runc=/usr/sbin/runc --runtime crun=/usr/bin/crun)
# BENCH_EXTRA="NAME=PATH ...": more runtimes in the same run (e.g. an earlier nook build,
# for before/after figures of a change).
for extra in ${BENCH_EXTRA:-}; do rts+=(--runtime "$extra"); done

command -v crun >/dev/null || {
	echo "installing crun"
	apt-get install -y -qq crun >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq crun >/dev/null; }
}
# The shipped build: release profile, static (the flags are the Makefile's).
make --no-print-directory release
mkdir -p "$out"

# The bundle: the fixture rootfs (busybox-static + probe), runc's default config
# (read-only root, pid/net/ipc/uts/mount namespaces), running /bin/true.
bundle=$out/bundle
rm -rf "$bundle" && mkdir -p "$bundle"
cp -a target/fixtures/rootfs "$bundle/rootfs"
"$nook" spec --bundle "$bundle"
$py - "$bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"].update(terminal=False, args=["/bin/true"])
json.dump(c, open(p, "w"), indent=1)
PY

host_line() {
	echo "$(date -u +%FT%RZ); kernel $(uname -r), $(nproc) cores," \
		"$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
		"load average $(cut -d' ' -f1-3 /proc/loadavg) at the start;" \
		"$(/usr/sbin/runc --version | head -1), $(crun --version | head -1)"
}

if [[ $mode == all || $mode == host ]]; then
	desc=$(host_line)
	echo "== seccomp: compile time of the default profile"
	cargo run --quiet --release --example seccomp_bench | tee "$out/seccomp-compile.txt"
	echo "== seccomp: cost per syscall, unconfined vs the default profile"
	NOOK_RUNTIME=$nook cargo run --quiet --release -p runtime-tests --example seccomp_overhead |
		tee "$out/seccomp-loop.txt"
	echo "== containers (host, cgroup v1; private mount namespace for crun)"
	rm -rf /tmp/nook-bench-host
	unshare -m --propagation private sh -c \
		'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh \
		$py scripts/bench.py --bundle "$bundle" --work /tmp/nook-bench-host \
		--out "$out/host.json" "${rts[@]}" "${front[@]}" ${BENCH_ARGS:-}
	rm -rf /tmp/nook-bench-host
	$py scripts/bench-report.py "This host (hybrid cgroups, seen as pure v1): $desc" \
		"$out/host.json" "$out/seccomp-compile.txt" "$out/seccomp-loop.txt" \
		--doc docs/benchmarks.md --section host
fi

if [[ $mode == all || $mode == v2 ]]; then
	echo "== containers (cgroup v2 qemu guest, TCG: ~10-30x slower, fewer rounds)"
	desc="guest kernel $(ls /boot/vmlinuz-* | sort -V | tail -1 | sed 's|.*vmlinuz-||'), 2 vCPUs (TCG), 1 GiB, the runtimes' binaries on ext4 (loop); host: $(host_line)"
	# The guest's /tmp is its own tmpfs: the bundle is copied there. The guest sees the
	# host's / over read-only 9p, and where a binary lives changes what each runtime does
	# at its start: crun skips its CVE-2019-5736 step on a read-only filesystem (and on
	# tmpfs takes it twice), overlayfs refuses 9p as a layer (nook's sealed view falls
	# back to a memfd copy). So every runtime's binary is copied onto an ext4 filesystem
	# (a loop device in the guest), as a local disk holds it.
	guest_rts=() copies=()
	for ((i = 1; i < ${#rts[@]}; i += 2)); do
		name=${rts[i]%%=*} path=${rts[i]#*=}
		guest_rts+=(--runtime "$name=/tmp/rt/$name/$(basename "$path")")
		copies+=("$name" "$path")
	done
	# shellcheck disable=SC2016 # expanded by the guest's sh
	VM_RW="$out" VM_TIMEOUT=1200 scripts/run-in-vm.sh sh -c '
		cp -a "$1" /tmp/bundle && shift && n=$1 && shift
		mkdir -p /tmp/rt
		modprobe loop && truncate -s 64M /tmp/rt.img && mkfs.ext4 -q -F /tmp/rt.img &&
			mount -o loop /tmp/rt.img /tmp/rt ||
			{ echo "bench: cannot mount an ext4 filesystem for the binaries in the guest" >&2; exit 1; }
		while [ "$n" -gt 0 ]; do
			mkdir -p "/tmp/rt/$1" && cp "$2" "/tmp/rt/$1/" || exit 1
			shift 2 && n=$((n - 1))
		done
		exec "$@"' \
		sh "$bundle" $((${#copies[@]} / 2)) "${copies[@]}" \
		$py scripts/bench.py --bundle /tmp/bundle --work /tmp/nook-bench \
		--out "$out/v2.json" --quick "${guest_rts[@]}"
	$py scripts/bench-report.py "cgroup v2 guest: $desc" "$out/v2.json" \
		--doc docs/benchmarks.md --section v2
fi
