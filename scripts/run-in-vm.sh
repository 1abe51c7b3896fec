#!/bin/bash
# run-in-vm.sh CMD [ARGS...]: run CMD inside a throwaway qemu guest that is a real cgroup v2
# host (Debian's stock kernel booted with cgroup_no_v1=all, cgroup2 on /sys/fs/cgroup with
# every controller enabled), with the host's / shared read-only over virtio-9p, so host
# binaries run unchanged. cwd is the caller's, the environment is forwarded (see FORWARD
# below), stdin is /dev/null, stdout+stderr of CMD arrive merged on stdout, and the exit
# status is CMD's. See docs/vm.md.
#
#   VM_RW="dir1 dir2"  host dirs shared writable at the same paths (else / is read-only and
#                      /tmp, /var/tmp, /run are fresh tmpfs in the guest)
#   VM_TIMEOUT=900     seconds before qemu is killed (exit 124); a hang report is printed first
#   VM_DEBUG=1         guest console on stderr, shell tracing in the guest's init
#   VM_KEEP=1          keep the run dir (console.log, cmd.sh, ...) and print its path
#   VM_ENV="A B"       extra variable names to forward
#   VM_MEM=1G VM_CPUS=2 VM_CPU=qemu64 VM_ACCEL=auto|tcg|kvm VM_KERNEL=/boot/vmlinuz-...
#   VM_APPEND="..."    extra kernel command line
#
# Exit status: CMD's; 124 timeout; 125 this script or the guest failed (missing packages,
# boot failure, cwd not visible in the guest); 128+N when this script got signal N.
set -uo pipefail

prog=run-in-vm.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
APT_CMD="apt-get install -y --no-install-recommends qemu-system-x86 linux-image-amd64 busybox-static cpio"
CACHE=${VM_CACHE:-/var/tmp/nook-vm}
MODULES="virtio_pci 9pnet_virtio 9p virtio_console"
MSIZE=512000

die() { # die STATUS MESSAGE
	echo "$prog: $2" >&2
	exit "$1"
}
missing() { die 125 "$1; install with: $APT_CMD (or: make vm-deps)"; }

[ $# -ge 1 ] || die 125 "usage: $prog CMD [ARGS...]"

timeout_s=${VM_TIMEOUT:-900}
if ! [[ $timeout_s =~ ^[0-9]+$ ]] || [ "$timeout_s" -eq 0 ]; then
	die 125 "VM_TIMEOUT must be a positive number of seconds, not '$timeout_s'"
fi

# ---- prerequisites ---------------------------------------------------------------------------
QEMU=$(command -v qemu-system-x86_64)
if [ -z "$QEMU" ] || [ ! -x "$QEMU" ]; then missing "qemu-system-x86_64 not found"; fi
command -v cpio >/dev/null || missing "cpio not found"
BUSYBOX=/bin/busybox
[ -x $BUSYBOX ] || missing "$BUSYBOX not found"
# True when ELF file $1 has a PT_INTERP program header (is dynamically linked).
has_interp() {
	local phoff phentsize phnum i
	phoff=$(od -An -tu8 -j32 -N8 "$1" | tr -d ' ')
	phentsize=$(od -An -tu2 -j54 -N2 "$1" | tr -d ' ')
	phnum=$(od -An -tu2 -j56 -N2 "$1" | tr -d ' ')
	for ((i = 0; i < phnum; i++)); do
		[ "$(od -An -tu4 -j$((phoff + i * phentsize)) -N4 "$1" | tr -d ' ')" = 3 ] && return 0
	done
	return 1
}
if has_interp $BUSYBOX; then missing "$BUSYBOX is dynamically linked (busybox-static is needed)"; fi
if [ -n "${VM_KERNEL:-}" ]; then
	vmlinuz=$VM_KERNEL
else
	vmlinuz=$(find /boot -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort -V | tail -n 1)
fi
[ -r "$vmlinuz" ] || missing "no kernel in /boot (vmlinuz-*)"
kver=${vmlinuz##*/vmlinuz-}
moddir=/lib/modules/$kver
[ -r "$moddir/modules.dep" ] || missing "$moddir/modules.dep not found for kernel $kver"
for f in init stage2; do [ -r "$here/vm-init/$f" ] || die 125 "$here/vm-init/$f is missing"; done

# ---- cache: uncompressed vmlinux (PVH entry, no in-guest XZ decompression) and initramfs -----
mkdir -p "$CACHE" || die 125 "cannot create $CACHE"

# Writes the ELF kernel embedded in bzImage $1 to $2; fails if none is found.
extract_vmlinux() {
	local magic tool off
	for magic in '\xfd7zXZ\x00:xz' '\x28\xb5\x2f\xfd:zstd' '\x1f\x8b\x08:gzip'; do
		tool=${magic##*:}
		command -v "$tool" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "${magic%:*}" "$1" | head -n 5 | cut -d: -f1); do
			tail -c +$((off + 1)) "$1" | "$tool" -dc 2>/dev/null >"$2"
			[ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && return 0
		done
	done
	return 1
}

kernel=$CACHE/vmlinux-$kver-$(stat -c %Y "$vmlinuz")
if [ ! -s "$kernel" ]; then
	tmp=$(mktemp "$CACHE/.vmlinux.XXXXXX") || die 125 "cannot write to $CACHE"
	if extract_vmlinux "$vmlinuz" "$tmp"; then
		chmod 0644 "$tmp"
		mv -f "$tmp" "$kernel"
		find "$CACHE" -maxdepth 1 -name "vmlinux-$kver-*" ! -path "$kernel" -delete
	else
		rm -f "$tmp"
		echo "$prog: could not extract an uncompressed vmlinux from $vmlinuz; booting it as is (slower)" >&2
		kernel=$vmlinuz
	fi
fi

key=$( {
	cat "$here/vm-init/init" "$here/vm-init/stage2"
	echo "$MODULES"
	stat -c '%s %Y' $BUSYBOX "$moddir/modules.dep"
} | sha256sum | cut -c1-16)
initrd=$CACHE/initramfs-$kver-$key.cpio
if [ ! -s "$initrd" ]; then
	# Module files in load order: every module after the ones it depends on (modules.dep).
	declare -A seen=()
	order=()
	add_module() { # add_module PATH-RELATIVE-TO-MODDIR
		local dep deps
		[ -n "${seen[$1]:-}" ] && return 0
		seen[$1]=1
		read -ra deps < <(awk -v m="$1:" '$1 == m { $1 = ""; print; exit }' "$moddir/modules.dep")
		for dep in "${deps[@]}"; do
			add_module "$dep"
		done
		order+=("$1")
	}
	for m in $MODULES; do
		rel=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n 1 | cut -d: -f1)
		[ -n "$rel" ] || missing "module $m not found in $moddir/modules.dep"
		add_module "$rel"
	done
	build=$(mktemp -d "$CACHE/.initramfs.XXXXXX") || die 125 "cannot write to $CACHE"
	(
		set -e
		mkdir -p "$build"/root/{bin,dev,proc,sys,newroot,lib/modules}
		cp $BUSYBOX "$build/root/bin/busybox"
		for a in $("$BUSYBOX" --list); do
			[ "$a" = busybox ] || ln -s busybox "$build/root/bin/$a"
		done
		install -m 0755 "$here/vm-init/init" "$build/root/init"
		install -m 0755 "$here/vm-init/stage2" "$build/root/stage2"
		: >"$build/root/lib/modules/modules.order"
		for rel in "${order[@]}"; do
			name=${rel##*/}
			case "$name" in
			*.ko.xz) xz -dc "$moddir/$rel" >"$build/root/lib/modules/${name%.xz}" ;;
			*.ko.zst) zstd -qdc "$moddir/$rel" >"$build/root/lib/modules/${name%.zst}" ;;
			*.ko.gz) gzip -dc "$moddir/$rel" >"$build/root/lib/modules/${name%.gz}" ;;
			*) cp "$moddir/$rel" "$build/root/lib/modules/$name" ;;
			esac
			echo "${name%.ko*}.ko" >>"$build/root/lib/modules/modules.order"
		done
		cd "$build/root"
		find . -print0 | LC_ALL=C sort -z | cpio --quiet -o -0 -H newc -R 0:0 >"$build/initramfs.cpio"
	) || {
		rm -rf "$build"
		die 125 "building the initramfs failed"
	}
	mv -f "$build/initramfs.cpio" "$initrd"
	rm -rf "$build"
	find "$CACHE" -maxdepth 1 -name "initramfs-$kver-*.cpio" ! -path "$initrd" -mmin +60 -delete
fi

# ---- per-run directory (shared with the guest as /run/vm) ------------------------------------
RUN=$(mktemp -d /tmp/nook-vm-run.XXXXXX) || die 125 "cannot create a run dir in /tmp"
qpid="" rpid="" tpid=""
# shellcheck disable=SC2317 # (called from traps)
cleanup() {
	set +e
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null
	[ -n "$tpid" ] && kill "$tpid" 2>/dev/null
	if [ "${VM_KEEP:-0}" = 1 ]; then
		echo "$prog: run dir kept: $RUN" >&2
	else
		rm -rf "$RUN"
	fi
}
# shellcheck disable=SC2317
on_signal() {
	trap - INT TERM HUP
	echo "$prog: got SIG$1, killing the guest" >&2
	cleanup
	trap - EXIT
	case $1 in INT) exit 130 ;; TERM) exit 143 ;; *) exit 129 ;; esac
}
trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# Quote for a POSIX shell (busybox sh runs cmd.sh): 'x' with ' written as '\''.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

cwd=$(pwd -P)
FORWARD='^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|TERM|TZ|CI|LC_[A-Z_]+|CARGO[A-Z0-9_]*|RUST[A-Z0-9_]*|NOOK_[A-Za-z0-9_]*)$'
{
	echo "cd -- $(q "$cwd") 2>/dev/null || {"
	echo "  echo $(q "$prog: cwd $cwd does not exist in the guest (host /tmp, /var/tmp and /run are not shared; add the dir to VM_RW)") >&2"
	echo "  exit 125"
	echo "}"
	while read -r name; do
		if [[ $name =~ $FORWARD ]] || [[ " ${VM_ENV:-} " == *" $name "* ]]; then
			echo "export $name=$(q "${!name}")"
		fi
	done < <(compgen -e)
	# A bare name goes through env(1) for a PATH lookup (busybox sh would run its own applet);
	# a path is exec'd directly (one dynamic exec less: cargo passes absolute paths).
	if [[ $1 == */* ]]; then printf 'exec'; else printf 'exec /usr/bin/env --'; fi
	for a in "$@"; do printf ' %s' "$(q "$a")"; done
	echo
} >"$RUN/cmd.sh"

debug=0
[ "${VM_DEBUG:-0}" = 1 ] && debug=1
hang_after=$((timeout_s > 60 ? timeout_s - 20 : timeout_s * 2 / 3))
printf 'HANG_AFTER=%d\nDEBUG=%d\n' "$hang_after" "$debug" >"$RUN/params"

# VM_RW: resolved, sorted (parents are mounted before their children).
read -ra rw_in <<<"${VM_RW:-}"
rw_dirs=()
for d in "${rw_in[@]}"; do
	[ -d "$d" ] || die 125 "VM_RW: $d is not a directory"
	d=$(cd "$d" && pwd -P)
	case "$d" in /) die 125 "VM_RW: / cannot be shared writable" ;; *,*) die 125 "VM_RW: '$d' contains a comma" ;; esac
	rw_dirs+=("$d")
done
shares=()
: >"$RUN/mounts"
i=0
[ ${#rw_dirs[@]} -gt 0 ] && mapfile -t rw_dirs < <(printf '%s\n' "${rw_dirs[@]}" | sort -u)
for d in "${rw_dirs[@]}"; do
	shares+=(-fsdev "local,id=rw$i,path=$d,security_model=passthrough,multidevs=remap"
		-device "virtio-9p-pci,fsdev=rw$i,mount_tag=rw$i")
	echo "rw$i $d" >>"$RUN/mounts"
	i=$((i + 1))
done

# KVM only where it can run a stock kernel: not kvm_pvm (paravirtual), and a CPU with vmx/svm.
accel=${VM_ACCEL:-auto}
if [ "$accel" = auto ]; then
	accel=tcg
	if [ -w /dev/kvm ] && [ ! -e /sys/module/kvm_pvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; fi
fi
if [ "$accel" = kvm ]; then cpu=${VM_CPU:-host}; else cpu=${VM_CPU:-qemu64}; fi
bios=()
[ -r /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)

# cryptomgr.notests: no crypto self-tests at boot (~0.3 s under TCG); pci=noacpi: no ACPI
# interrupt-link setup per virtio device (~0.1 s each; virtio-pci uses MSI-X).
append="console=ttyS0 panic=-1 cryptomgr.notests pci=noacpi cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 nookvm.msize=$MSIZE"
if [ $debug = 1 ]; then append+=" loglevel=7 nookvm.debug=1"; else append+=" quiet loglevel=3"; fi
append+=" ${VM_APPEND:-}"

mkfifo "$RUN/out"
: >"$RUN/console.log"

# Output reader: if our stdout goes away (| head), keep draining so the guest never blocks.
{
	cat <&3 || true
	cat <&3 >/dev/null
} 3<"$RUN/out" &
rpid=$!
if [ $debug = 1 ]; then
	tail -n +1 -f "$RUN/console.log" >&2 &
	tpid=$!
fi

timeout -k 5 "$timeout_s" "$QEMU" -nodefaults -no-user-config -display none -no-reboot \
	-machine "pc,accel=$accel" -cpu "$cpu" -m "${VM_MEM:-1G}" -smp "${VM_CPUS:-2}" "${bios[@]}" \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-serial "file:$RUN/console.log" \
	-device virtio-serial-pci -chardev "file,id=out,path=$RUN/out" -device virtserialport,chardev=out,name=out \
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap" \
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
	-fsdev "local,id=vmrun,path=$RUN,security_model=none,multidevs=remap" \
	-device virtio-9p-pci,fsdev=vmrun,mount_tag=vmrun \
	"${shares[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
qpid=$!
wait "$qpid"
qrc=$?
qpid=""
# Unblock the reader if qemu never opened the fifo, then let it drain to EOF.
: <>"$RUN/out"
wait "$rpid" 2>/dev/null
rpid=""
if [ -n "$tpid" ]; then
	sleep 0.2
	kill "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	tpid=""
fi

if [ -s "$RUN/rc" ]; then
	rc=$(cat "$RUN/rc")
	[[ $rc =~ ^[0-9]+$ ]] || die 125 "guest wrote a bad exit status '$rc'"
	exit "$rc"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "$prog: timed out after $timeout_s s (VM_TIMEOUT); CMD: $*" >&2
	if [ -s "$RUN/hang-report" ]; then
		echo "$prog: hang report written by the guest at $hang_after s:" >&2
		cat "$RUN/hang-report" >&2
	else
		echo "$prog: no hang report from the guest; console tail:" >&2
		tail -n 40 "$RUN/console.log" >&2
	fi
	exit 124
fi
echo "$prog: the guest exited without reporting CMD's status (qemu status $qrc)" >&2
[ -s "$RUN/init-error" ] && cat "$RUN/init-error" >&2
[ -s "$RUN/qemu.log" ] && sed 's/^/qemu: /' "$RUN/qemu.log" | tail -n 20 >&2
if [ $debug = 0 ]; then
	echo "$prog: console tail (VM_DEBUG=1 shows it all):" >&2
	tail -n 30 "$RUN/console.log" >&2
fi
exit 125
