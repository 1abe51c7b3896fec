#!/usr/bin/python3
"""bench-report.py TITLE RESULTS.json [EXTRA.txt ...]: print bench.py's results as a
markdown table (times in ms, ratios to runc from the same run), followed by the text
of each EXTRA file (the seccomp benchmarks' output) in a code block.
With --doc FILE and --section NAME, the same text also replaces the part of FILE
between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`."""
import argparse
import json
import re


def ms(s):
    return f"{s * 1000:.1f}"


def mib(kib):
    return f"{kib / 1024:.2f}"


def row(label, vals, names, fmt, lower=True):
    cells = [fmt(vals[n]) if vals.get(n) is not None else "–" for n in names]
    ratios = []
    base = vals.get("runc")
    for n in names:
        v = vals.get(n)
        ratios.append(f"{v / base:.2f}×" if v is not None and base else "–")
    crun = vals.get("crun")
    nook = vals.get("nook")
    vs_crun = f"{nook / crun:.2f}×" if nook is not None and crun else "–"
    return f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + f" | {vs_crun} |"


def front_table(r):
    """The front ends (`nook run --rm` vs podman with each runtime): ratios to podman/runc."""
    fr, img = r["front"], r.get("image_path", {})
    names = list(fr)
    out = ["", "Front ends, `run --rm busybox true` with the image loaded (what the user waits "
           "for), and the image path from an empty store (`load -i busybox-docker.tar`, then "
           "the first `run --rm`); ratios to podman/runc in the same run:", "",
           "| measure | " + " | ".join(names) + " | " + " | ".join(f"{n} / podman/runc"
                                                          for n in names) + " |",
           "|---" * (2 * len(names) + 1) + "|"]

    def line(label, vals, b):
        cells = [ms(vals[n]) if n in vals else "–" for n in names]
        rat = [f"{vals[n] / b:.2f}×" if n in vals else "–" for n in names]
        out.append(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(rat) + " |")
    for q in ("median", "p10", "p90"):
        line(f"`run --rm true` {q}, ms", {n: fr[n][q] for n in names}, fr["podman/runc"][q])
    for step in ("load", "first run", "total"):
        if img:
            line(f"image path: {step} median, ms", {n: img[n][step]["median"] for n in img},
                 img["podman/runc"][step]["median"])
    return out


def render(title, r, extras):
    names = r["runtimes"]
    out = [f"### {title}", ""]
    if "run" in r:
        fl = r["run"]["unshare floor"]["median"]
        tr = r["run"]["true"]["median"]
        out.append(f"Floor: `{r['floor_cmd']}` {ms(fl)} ms; `true` alone {ms(tr)} ms "
                   f"(medians of {r['runs']} runs). nook `run` / floor: "
                   f"**{r['run']['nook']['median'] / fl:.2f}×**.")
        out.append("")
    head = "| measure | " + " | ".join(names) + " | " + " | ".join(f"{n}/runc" for n in names)
    out += [head + " | nook/crun |", "|---" * (2 * len(names) + 2) + "|"]

    def timing(label, d):
        out.append(row(label + " median, ms", {n: d[n]["median"] for n in names}, names, ms))
        out.append(row(label + " p10, ms", {n: d[n]["p10"] for n in names}, names, ms))
        out.append(row(label + " p90, ms", {n: d[n]["p90"] for n in names}, names, ms))
    if "run" in r:
        timing("`run true`", r["run"])
    if "create_start_delete" in r:
        csd = r["create_start_delete"]
        timing("create→start→delete", {n: csd[n]["total"] for n in names})
        for step in ("create", "start", "delete"):
            out.append(row(f"&nbsp;&nbsp;{step} median, ms",
                           {n: csd[n][step]["median"] for n in names}, names, ms))
    if "sequential" in r:
        out.append(row(f"{r['sequential']['n']} sequential runs, s",
                       {n: r["sequential"][n] for n in names}, names, lambda v: f"{v:.2f}"))
        out.append(row(f"{r['concurrent']['n']} concurrent runs, ms",
                       {n: r["concurrent"][n] for n in names}, names, ms))
    if "exec" in r:
        timing("`exec true`", r["exec"])
    if "peak_rss" in r:
        out.append(row("peak RSS of a command (max), MiB",
                       {n: max(r["peak_rss"][n].values()) for n in names}, names, mib))
        for what in ("run", "create", "start", "delete", "exec"):
            out.append(row(f"&nbsp;&nbsp;`{what}`, MiB",
                           {n: r["peak_rss"][n].get(what) for n in names}, names, mib))
        out.append(row("binary size, MiB", {n: r["binary_size"][n] / 1024 for n in names},
                       names, mib))
    if "waiting" in r:
        out.append(row("waiting container (create, not started) RSS, MiB",
                       {n: r["waiting"][n]["rss"] for n in names}, names, mib))
        out.append(row("waiting container PSS, MiB",
                       {n: r["waiting"][n]["pss"] for n in names}, names, mib))
    if "min_memory" in r:
        out.append(row("smallest memory limit for `run true`, KiB",
                       r["min_memory"], names, lambda v: f"{v // 1024}"))
    if "front" in r:
        out += front_table(r)
    if "peak_rss_wrapper_true" in r:
        out += ["", f"Peak RSS is `/usr/bin/time -f %M` (ru_maxrss: the process and the "
                f"children it reaped); busybox `true` under it: "
                f"{mib(r['peak_rss_wrapper_true'])} MiB."]
    for path in extras:
        with open(path) as f:
            out += ["", "```", f.read().rstrip(), "```"]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("title")
    ap.add_argument("results")
    ap.add_argument("extras", nargs="*")
    ap.add_argument("--doc")
    ap.add_argument("--section")
    a = ap.parse_args()
    with open(a.results) as f:
        text = render(a.title, json.load(f), a.extras)
    print(text)
    if a.doc:
        try:
            with open(a.doc) as f:
                doc = f.read()
        except FileNotFoundError:
            doc = "# Benchmarks\n"
        begin, end = f"<!-- bench:{a.section} -->", f"<!-- /bench:{a.section} -->"
        block = f"{begin}\n{text}{end}"
        pat = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
        doc = pat.sub(lambda _: block, doc) if pat.search(doc) else doc + "\n" + block + "\n"
        with open(a.doc, "w") as f:
            f.write(doc)


if __name__ == "__main__":
    main()
