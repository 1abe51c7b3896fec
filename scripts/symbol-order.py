#!/usr/bin/python3
"""Write build/symbol-order.txt: the functions the runtime runs on its usual paths,
most shared first and in the order they first run, for the linker to lay out side
by side (`make release` passes it to lld as --symbol-ordering-file; see
docs/benchmarks.md, "Memory").

symbol-order.py BINARY ROOTFS > build/symbol-order.txt   (as root; `make symbol-order`)

BINARY: an unstripped release build (the release profile and RUSTFLAGS of `make
release`: the names carry cargo's metadata hash). ROOTFS: the fixture rootfs (busybox);
bundles over it run `true` and a long sleep. Every function of BINARY gets a uprobe (tracefs), and the commands
engines use (run, create, state, start, delete, exec, kill, delete --force, list)
run under them: each process of each command, the container's init included,
reports the functions it enters, wherever it runs (after pivot_root too). The
commands run under a seccomp filter that fails madvise: a uprobe is a breakpoint
written into the process's copy of a text page, and the runtime's MADV_DONTNEED of
its text (kernel/memory.rs) would drop those copies and the probes with them. A
symbol missing from a later build is ignored by the linker: a stale list costs
locality, never correctness.
"""
import collections
import ctypes
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

GROUP = "nookorder"


def tracefs():
    for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if os.path.exists(os.path.join(d, "uprobe_events")):
            return d, None
    d = tempfile.mkdtemp(prefix="tracefs.")
    subprocess.run(["mount", "-t", "tracefs", "nodev", d], check=True)
    return d, d


def functions(binary):
    """{name: file offset} of the text symbols (uprobes take file offsets)."""
    headers = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True,
                             check=True).stdout
    loads = []
    for line in headers.splitlines():
        p = line.split()
        if p and p[0] == "LOAD" and "E" in p[6:-1]:
            loads.append((int(p[2], 16), int(p[1], 16), int(p[5], 16)))  # vaddr, offset, memsz
    nm = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True,
                        check=True).stdout
    out = {}
    for line in nm.splitlines():
        p = line.split()
        if len(p) != 3 or p[1] not in "tTwW":
            continue
        addr = int(p[0], 16)
        for vaddr, offset, size in loads:
            if vaddr <= addr < vaddr + size:
                out.setdefault(p[2], addr - vaddr + offset)
    return out


def bundles(binary, rootfs, work):
    """Two bundles over ROOTFS with the runtime's default config: `true`, and a sleep."""
    out = []
    for name, args in (("true", ["/bin/true"]), ("sleep", ["/bin/sleep", "100"])):
        b = os.path.join(work, name)
        os.mkdir(b)
        os.symlink(rootfs, os.path.join(b, "rootfs"))
        subprocess.run([binary, "spec", "--bundle", b], check=True)
        path = os.path.join(b, "config.json")
        with open(path) as f:
            config = json.load(f)
        config["process"].update(terminal=False, args=args)
        with open(path, "w") as f:
            json.dump(config, f)
        out.append(b)
    return out


def fail_madvise():
    """preexec_fn: no_new_privs and a filter that fails madvise(2) with EPERM."""
    ld_nr, ld_arch, jeq, ret = 0x20, 0x20, 0x15, 0x06
    prog = [(ld_arch, 0, 0, 4), (jeq, 0, 3, 0xC000003E),  # not x86-64: allow
            (ld_nr, 0, 0, 0), (jeq, 0, 1, 28),  # madvise
            (ret, 0, 0, 0x0005_0001),  # SECCOMP_RET_ERRNO | EPERM
            (ret, 0, 0, 0x7FFF_0000)]  # SECCOMP_RET_ALLOW
    buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in prog))
    fprog = struct.pack("HxxxxxxQ", len(prog), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp")


def write(path, text):
    with open(path, "a") as f:
        f.write(text)


def main():
    binary, rootfs = (os.path.abspath(a) for a in sys.argv[1:3])
    work = tempfile.mkdtemp(prefix="symbol-order.")
    bundle, sleeper = bundles(binary, rootfs, work)
    tfs, mounted = tracefs()
    funcs = functions(binary)
    names = sorted(funcs)
    events = os.path.join(tfs, "uprobe_events")
    buffer_kb = os.path.join(tfs, "buffer_size_kb")
    with open(buffer_kb) as f:
        buffer_was = f.read().split()[0]
    try:
        write(buffer_kb, "262144\n")
        refused = 0
        fd = os.open(events, os.O_WRONLY | os.O_APPEND)
        try:
            for i, n in enumerate(names):
                try:
                    os.write(fd, f"p:{GROUP}/f{i} {binary}:{funcs[n]:#x}\n".encode())
                except OSError:
                    refused += 1  # e.g. an offset uprobes cannot probe
        finally:
            os.close(fd)
        print(f"{refused} functions not probed", file=sys.stderr)
        write(os.path.join(tfs, "trace"), "")
        # Global and kept across mounts of tracefs: a trace stopped by
        # someone else would record nothing.
        write(os.path.join(tfs, "tracing_on"), "1\n")
        write(os.path.join(tfs, "events", GROUP, "enable"), "1\n")
        seen = workload(binary, bundle, sleeper, tfs)
    finally:
        if os.path.exists(os.path.join(tfs, "events", GROUP)):
            write(os.path.join(tfs, "events", GROUP, "enable"), "0\n")
        with open(events, "w") as f:  # O_TRUNC removes every probe
            f.write("")
        write(buffer_kb, buffer_was + "\n")
        if mounted:
            subprocess.run(["umount", mounted])
            os.rmdir(mounted)
        shutil.rmtree(work)
    # Per process, its functions in the order they first ran.
    count = collections.Counter()
    first = {}
    for order in seen.values():
        for rank, i in enumerate(order):
            count[i] += 1
            first[i] = min(first.get(i, 1.0), rank / len(order))
    print(f"{len(seen)} processes, {len(count)} of {len(names)} functions", file=sys.stderr)
    for pid, order in seen.items():
        print(f"  pid {pid}: {len(order)} functions, first {names[order[0]][:60]}", file=sys.stderr)
    # Functions every process runs (start-up, allocation, formatting) first, then
    # those of fewer processes: each phase's code stays close together.
    for i in sorted(count, key=lambda i: (-count[i], first[i], names[i])):
        print(names[i])


LINE = re.compile(r"^\s*\S+-(\d+)\s+\[\d+\].*?\sf(\d+): \(")


def workload(binary, bundle, sleeper, tfs):
    root = tempfile.mkdtemp(prefix="symbol-order-root.")
    seen = collections.defaultdict(dict)  # pid -> {function: None}, in first-run order

    def collect():
        trace = os.path.join(tfs, "trace")
        with open(trace) as f:
            for line in f:
                m = LINE.match(line)
                if m:
                    seen[int(m.group(1))].setdefault(int(m.group(2)))
        write(trace, "")

    def rt(*args):
        print(" ".join(args), file=sys.stderr)
        subprocess.run([binary, "--root", root, *args], check=True, preexec_fn=fail_madvise,
                       stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        collect()

    for n in range(2):
        rt("run", "--bundle", bundle, f"r{n}")
        rt("create", "--bundle", bundle, f"c{n}")
        rt("state", f"c{n}")
        rt("start", f"c{n}")
        rt("delete", f"c{n}")
    rt("run", "--detach", "--bundle", sleeper, "s")
    rt("exec", "s", "/bin/true")
    rt("list")
    rt("kill", "s", "KILL")
    rt("delete", "--force", "s")
    shutil.rmtree(root)
    return {pid: list(order) for pid, order in seen.items()}


if __name__ == "__main__":
    main()
