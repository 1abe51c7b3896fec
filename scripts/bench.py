#!/usr/bin/python3
"""Container start benchmark: nook-runtime, runc and crun side by side, interleaved.

bench.py --bundle DIR --work DIR --out FILE.json [--runtime NAME=PATH ...] [--quick]

Run by scripts/bench.sh (`make bench`, `make bench-v2`); see docs/benchmarks.md.
Every runtime gets the same bundle (busybox rootfs running /bin/true) and its own
--root. Rounds are interleaved (each round runs every runtime once, in a rotating
order) so that load from other work on the machine hits all of them alike.
Each command is started with posix_spawn and reaped with wait4: its wall time and
ru_maxrss (the largest of the process and every descendant it reaped, so `run`,
which waits for the container's init, includes init before its execve).
"""
import argparse
import json
import os
import signal
import statistics
import sys
import time

DEVNULL_R = (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)
DEVNULL_W = (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)
TIMEOUT = 30


class Timeout(Exception):
    pass


def _alarm(_sig, _frame):
    raise Timeout()


signal.signal(signal.SIGALRM, _alarm)


def spawn(argv, err_path):
    """Start argv (stdin/stdout /dev/null, stderr to err_path) in its own process group."""
    acts = [DEVNULL_R, DEVNULL_W,
            (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=acts, setpgroup=0)


def reap(pid, t0):
    """wait4 with a timeout; returns (seconds, exit code, maxrss KiB)."""
    signal.alarm(TIMEOUT)
    try:
        _, status, ru = os.wait4(pid, 0)
    except Timeout:
        os.killpg(pid, signal.SIGKILL)
        _, status, ru = os.wait4(pid, 0)
        return time.perf_counter() - t0, 124, ru.ru_maxrss
    finally:
        signal.alarm(0)
    return time.perf_counter() - t0, os.waitstatus_to_exitcode(status), ru.ru_maxrss


def timed(argv, err_path):
    t0 = time.perf_counter()
    return reap(spawn(argv, err_path), t0)


class Rt:
    """One runtime binary with its own state root."""

    def __init__(self, name, path, work):
        self.name, self.path = name, path
        self.root = os.path.join(work, "root-" + name)
        self.err = os.path.join(work, "stderr-" + name)
        self.n = 0

    def argv(self, *args):
        return [self.path, "--root", self.root, *args]

    def new_id(self):
        self.n += 1
        return f"bench-{self.name}-{os.getpid()}-{self.n}"

    def cmd(self, *args, check=True):
        dt, rc, _ = timed(self.argv(*args), self.err)
        if check and rc != 0:
            with open(self.err) as f:
                msg = f.read().strip().splitlines()[-1:] or ["(no stderr)"]
            raise RuntimeError(f"{self.name} {' '.join(args)}: exit {rc}: {msg[0]}")
        return dt, rc

    def state_pid(self, cid):
        r, w = os.pipe()
        pid = os.posix_spawn(self.path, self.argv("state", cid), os.environ,
                             file_actions=[DEVNULL_R, (os.POSIX_SPAWN_DUP2, w, 1)])
        os.close(w)
        out = b""
        while chunk := os.read(r, 65536):
            out += chunk
        os.close(r)
        os.waitpid(pid, 0)
        return json.loads(out)["pid"]

    def cleanup(self, cid):
        timed(self.argv("delete", "--force", cid), self.err)


def stats(xs):
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=10, method="inclusive") if len(xs) > 1 else xs * 9
    return {"median": statistics.median(xs), "p10": q[0], "p90": q[-1], "n": len(xs)}


def rotate(items, k):
    k %= len(items)
    return items[k:] + items[:k]


def write_config(src_bundle, dst, edit):
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(src_bundle, "config.json")) as f:
        cfg = json.load(f)
    cfg["root"]["path"] = os.path.join(os.path.abspath(src_bundle), cfg["root"]["path"])
    edit(cfg)
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f)
    return dst


def proc_mem(pid):
    """VmRSS and Pss (KiB) of a process."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                out["pss"] = int(line.split()[1])
    return out


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Ctx:
    """What every phase needs: the runtimes, the bundles, the floor commands."""

    def __init__(self, args):
        self.rts = [Rt(n, p, args.work) for n, p in (r.split("=", 1) for r in args.runtime)]
        self.work = args.work
        self.bundle = os.path.abspath(args.bundle)
        with open(os.path.join(self.bundle, "config.json")) as f:
            cfg = json.load(f)
        self.true = os.path.join(self.bundle, cfg["root"]["path"], "bin/true")
        flag = {"pid": "--pid", "network": "--net", "ipc": "--ipc", "uts": "--uts",
                "mount": "--mount", "cgroup": "--cgroup", "user": "--user"}
        self.floor = ["/usr/bin/unshare",
                      *[flag[n["type"]] for n in cfg["linux"]["namespaces"]], "--fork", self.true]
        self.runs, self.warm = (12, 2) if args.quick else (args.runs, 5)
        self.quick = args.quick
        self.front, self.image, self.front_runs = args.front, args.image, args.front_runs
        self.err = os.path.join(args.work, "stderr-floor")
        self.sleeper = write_config(self.bundle, os.path.join(args.work, "bundle-sleep"),
                                    lambda c: c["process"].update(args=["/bin/sleep", "1000"]))

    def rounds(self):
        """(round number, counted?) for the warm-up and the measured rounds."""
        return ((i, i >= self.warm) for i in range(self.warm + self.runs))


def phase_run(c, res):
    """`run` of true, interleaved with the floors."""
    log(f"run true: {c.runs} rounds after {c.warm} warm-up")
    times = {r.name: [] for r in c.rts} | {"unshare floor": [], "true": []}
    for i, counted in c.rounds():
        jobs = [(r.name, r) for r in c.rts] + [("unshare floor", c.floor), ("true", [c.true])]
        for name, job in rotate(jobs, i):
            if isinstance(job, Rt):
                dt, _ = job.cmd("run", "--bundle", c.bundle, job.new_id())
            else:
                dt, rc, _ = timed(job, c.err)
                assert rc == 0, f"{job}: exit {rc}"
            if counted:
                times[name].append(dt)
    res["run"] = {k: stats(v) for k, v in times.items()}
    res["floor_cmd"] = " ".join(c.floor)


def phase_csd(c, res):
    """create -> start -> delete, each step timed."""
    log("create/start/delete")
    csd = {r.name: {"create": [], "start": [], "delete": [], "total": []} for r in c.rts}
    for i, counted in c.rounds():
        for r in rotate(c.rts, i):
            cid = r.new_id()
            t = [r.cmd("create", "--bundle", c.bundle, cid)[0], r.cmd("start", cid)[0],
                 r.cmd("delete", "--force", cid)[0]]
            if counted:
                for k, v in zip(("create", "start", "delete", "total"), t + [sum(t)]):
                    csd[r.name][k].append(v)
    res["create_start_delete"] = {n: {k: stats(v) for k, v in d.items()} for n, d in csd.items()}


def phase_waiting(c, res):
    """A container between create and start: its processes' memory."""
    log("waiting container memory")
    waiting = {r.name: [] for r in c.rts}
    for i in range(3):
        for r in rotate(c.rts, i):
            cid = r.new_id()
            r.cmd("create", "--bundle", c.bundle, cid)
            try:
                waiting[r.name].append(proc_mem(r.state_pid(cid)))
            finally:
                r.cleanup(cid)
    res["waiting"] = {n: {k: statistics.median(m[k] for m in v) for k in ("rss", "pss")}
                      for n, v in waiting.items()}


def phase_many(c, res):
    """N sequential runs, and 10 concurrent runs."""
    seq_n = 20 if c.quick else 100
    log(f"{seq_n} sequential runs")
    seq = {r.name: [] for r in c.rts}
    for i in range(1 if c.quick else 3):
        for r in rotate(c.rts, i):
            t0 = time.perf_counter()
            for _ in range(seq_n):
                r.cmd("run", "--bundle", c.bundle, r.new_id())
            seq[r.name].append(time.perf_counter() - t0)
    res["sequential"] = {"n": seq_n} | {n: statistics.median(v) for n, v in seq.items()}
    conc_n = 10
    log(f"{conc_n} concurrent runs")
    conc = {r.name: [] for r in c.rts}
    for i in range(3 if c.quick else 10):
        for r in rotate(c.rts, i):
            t0 = time.perf_counter()
            pids = [spawn(r.argv("run", "--bundle", c.bundle, r.new_id()), r.err + str(k))
                    for k in range(conc_n)]
            codes = [reap(p, t0)[1] for p in pids]
            conc[r.name].append(time.perf_counter() - t0)
            assert codes == [0] * conc_n, f"{r.name} concurrent runs: exit codes {codes}"
    res["concurrent"] = {"n": conc_n} | {n: statistics.median(v) for n, v in conc.items()}


def phase_exec(c, res):
    """exec of true into a running container."""
    log("exec")
    ids = {}
    for r in c.rts:
        ids[r.name] = r.new_id()
        r.cmd("run", "--detach", "--bundle", c.sleeper, ids[r.name])
    ex = {r.name: [] for r in c.rts}
    try:
        for i, counted in c.rounds():
            for r in rotate(c.rts, i):
                dt, _ = r.cmd("exec", ids[r.name], "/bin/true")
                if counted:
                    ex[r.name].append(dt)
    finally:
        for r in c.rts:
            r.cleanup(ids[r.name])
    res["exec"] = {n: stats(v) for n, v in ex.items()}


def phase_memlimit(c, res):
    """The smallest memory limit under which `run true` succeeds (bisection, 4 KiB steps)."""
    log("smallest memory limit")
    res["min_memory"] = {}
    for r in c.rts:
        def ok(limit):
            b = write_config(c.bundle, os.path.join(c.work, f"bundle-mem-{r.name}"),
                             lambda cfg: cfg["linux"].setdefault("resources", {}).update(
                                 memory={"limit": limit}))
            cid = r.new_id()
            _, rc = r.cmd("run", "--bundle", b, cid, check=False)
            r.cleanup(cid)
            return rc == 0
        lo, hi = 0, 64 << 20
        if not ok(hi):
            res["min_memory"][r.name] = None
            continue
        while hi - lo > 4096:
            mid = (lo + hi) // 2 // 4096 * 4096
            if ok(mid):
                hi = mid
            else:
                lo = mid
        res["min_memory"][r.name] = hi


def phase_rss(c, res):
    """Peak RSS per command, from /usr/bin/time: a small process that forks (the
    ru_maxrss of a child of Python would include Python's own pages, folded in at
    execve). `true` under the same wrapper shows what the wrapper adds."""
    log("peak RSS")
    out = os.path.join(c.work, "maxrss")

    def maxrss(argv):
        _, rc, _ = timed(["/usr/bin/time", "-f", "%M", "-o", out, *argv], c.err)
        with open(out) as f:
            return int(f.read().split()[-1]), rc
    peak = {r.name: {} for r in c.rts}
    for i in range(3):
        for r in rotate(c.rts, i):
            def note(what, argv):
                kb, rc = maxrss(argv)
                assert rc == 0 or what == "delete", f"{r.name} {what}: exit {rc}"
                peak[r.name][what] = max(peak[r.name].get(what, 0), kb)
            note("run", r.argv("run", "--bundle", c.bundle, r.new_id()))
            cid = r.new_id()
            note("create", r.argv("create", "--bundle", c.bundle, cid))
            note("start", r.argv("start", cid))
            note("delete", r.argv("delete", "--force", cid))
            cid = r.new_id()
            r.cmd("run", "--detach", "--bundle", c.sleeper, cid)
            try:
                note("exec", r.argv("exec", cid, "/bin/true"))
            finally:
                r.cleanup(cid)
    res["peak_rss"] = peak
    res["peak_rss_wrapper_true"] = maxrss([c.true])[0]
    res["binary_size"] = {r.name: os.path.getsize(r.path) for r in c.rts}


PODMAN_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
tmp_dir = "{d}/tmp"
volume_path = "{d}/volumes"
static_dir = "{d}/root/libpod"
[network]
network_config_dir = "{d}/net"
"""


class Front:
    """A docker-style front end with its own store: `nook` (--root) or podman (--root,
    --runroot, overlay storage, cgroupfs, a containers.conf of its own; the host's hard
    RLIMIT_NOFILE is 20000, hence its ulimits; netns none = loopback only, as nook's
    default) with a given OCI runtime."""

    def __init__(self, name, work, nook=None, runtime=None):
        self.name, self.runtime = name, runtime
        self.dir = os.path.join(work, "front-" + name.replace(" ", "_").replace("/", "_"))
        self.err = self.dir + ".stderr"
        if nook:
            self.base = [nook, "--root", os.path.join(self.dir, "store")]
        else:
            self.base = ["/usr/bin/podman", "--root", os.path.join(self.dir, "root"),
                         "--runroot", os.path.join(self.dir, "rr"),
                         "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
                         "--runtime", runtime]

    def reset(self):
        """An empty store (the image path starts from nothing)."""
        if os.path.isdir(self.dir):
            if self.runtime:
                os.environ["CONTAINERS_CONF"] = os.path.join(self.dir, "containers.conf")
                timed(self.base + ["system", "reset", "--force"], self.err)
            timed(["/bin/rm", "-rf", self.dir], self.err)
        os.makedirs(os.path.join(self.dir, "tmp"))
        with open(os.path.join(self.dir, "containers.conf"), "w") as f:
            f.write(PODMAN_CONF.format(d=self.dir))

    def cmd(self, *args):
        os.environ["CONTAINERS_CONF"] = os.path.join(self.dir, "containers.conf")
        dt, rc, _ = timed(self.base + list(args), self.err)
        if rc != 0:
            with open(self.err) as f:
                msg = f.read().strip().splitlines()[-1:] or ["(no stderr)"]
            raise RuntimeError(f"{self.name} {' '.join(args)}: exit {rc}: {msg[0]}")
        return dt


def fronts(c):
    out = [Front(n, c.work, nook=p) for n, p in (f.split("=", 1) for f in c.front)]
    out.append(Front("podman/runc", c.work, runtime="/usr/sbin/runc"))
    if os.path.exists("/usr/bin/crun"):
        out.append(Front("podman/crun", c.work, runtime="/usr/bin/crun"))
    for r in c.rts:
        if r.name == "nook":
            out.append(Front("podman/nook-runtime", c.work, runtime=r.path))
    return out


def phase_image(c, res):
    """The image path from an empty store: load the busybox archive (verify, store,
    unpack), then the first `run --rm IMAGE true`; nook vs podman/runc, interleaved."""
    fs = [f for f in fronts(c) if f.name == "podman/runc" or not f.name.startswith("podman")]
    rounds = 3 if c.quick else 10
    log(f"image path (load + first run): {rounds} rounds")
    t = {f.name: {"load": [], "first run": [], "total": []} for f in fs}
    for i in range(rounds):
        for f in rotate(fs, i):
            f.reset()
            load = f.cmd("load", "-q", "-i", c.image)
            first = f.cmd("run", "--rm", "busybox", "true")
            for k, v in (("load", load), ("first run", first), ("total", load + first)):
                t[f.name][k].append(v)
    for f in fs:
        f.reset()
    res["image_path"] = {n: {k: stats(v) for k, v in d.items()} for n, d in t.items()}


def phase_front(c, res):
    """`run --rm busybox true` through each front end, the image loaded, interleaved:
    what a user waits for (nook: the client until the monitor's EXIT)."""
    fs = fronts(c)
    rounds, warm = (6, 1) if c.quick else (c.front_runs, 2)
    log(f"front end run --rm: {rounds} rounds after {warm} warm-up")
    for f in fs:
        f.reset()
        f.cmd("load", "-q", "-i", c.image)
    t = {f.name: [] for f in fs}
    for i in range(warm + rounds):
        for f in rotate(fs, i):
            dt = f.cmd("run", "--rm", "busybox", "true")
            if i >= warm:
                t[f.name].append(dt)
    for f in fs:
        f.reset()
        timed(["/bin/rm", "-rf", f.dir], f.err)
    res["front"] = {n: stats(v) for n, v in t.items()}


PHASES = {"run": phase_run, "csd": phase_csd, "waiting": phase_waiting, "many": phase_many,
          "exec": phase_exec, "memlimit": phase_memlimit, "rss": phase_rss,
          "image": phase_image, "front": phase_front}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runtime", action="append", required=True, help="NAME=PATH")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="few rounds (the TCG guest)")
    ap.add_argument("--front", action="append", default=[],
                    help="NAME=PATH of a `nook` front end: adds the image and front phases")
    ap.add_argument("--image", help="the busybox docker-archive the front phases load")
    ap.add_argument("--front-runs", type=int, default=20)
    ap.add_argument("--phases", help="comma-separated subset (default: all; the image and "
                    "front phases only with --front and --image)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    c = Ctx(args)
    res = {"runs": c.runs, "runtimes": [r.name for r in c.rts]}
    phases = args.phases.split(",") if args.phases else [
        p for p in PHASES if args.front or p not in ("image", "front")]
    for name in phases:
        PHASES[name](c, res)
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
