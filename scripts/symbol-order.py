#!/usr/bin/python3
"""Write build/symbol-order.txt: the functions the runtime runs on its usual paths,
most shared first, for the linker to lay out side by side (`make release` passes
it to lld as --symbol-ordering-file; see docs/benchmarks.md, "Memory").

symbol-order.py BINARY CALLGRIND_OUT... > build/symbol-order.txt

BINARY: an unstripped release build (CARGO_PROFILE_RELEASE_STRIP=false, same
RUSTFLAGS as `make release`); CALLGRIND_OUT: `valgrind --tool=callgrind
--demangle=no --callgrind-out-file=DIR/cg.%p` outputs of that binary running
run, create, state, start, delete, exec, kill and delete --force (one file per
process). A symbol missing from a later build is ignored by the linker: a stale
list costs locality, never correctness.
"""
import collections
import re
import subprocess
import sys


def main():
    binary, outputs = sys.argv[1], sys.argv[2:]
    nm = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
    text = {p[2] for p in (line.split() for line in nm.splitlines())
            if len(p) == 3 and p[1] in "tTwW"}
    count = collections.Counter()
    for path in outputs:
        names = set()
        with open(path) as f:
            for line in f:
                m = re.match(r"c?fn=\(\d+\)\s+(\S+)", line)
                if m:
                    names.add(m.group(1))
        count.update(names & text)
    # Functions every process runs (start-up, allocation, formatting) first,
    # then those of fewer commands: each phase's code stays close together.
    for name in sorted(count, key=lambda n: (-count[n], n)):
        print(name)


if __name__ == "__main__":
    main()
