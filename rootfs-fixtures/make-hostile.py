#!/usr/bin/env python3
"""make-hostile.py OUT_DIR GOOD_DOCKER_ARCHIVE

Hostile docker-archives, each one image whose single layer (or blob) is bad:
  traversal.tar        layer entry ../../nook-escape
  absolute.tar         layer entry /tmp/nook-escape-abs
  symlink-write.tar    `esc -> /tmp` then a file esc/nook-escape-link
  hardlink.tar         hardlink to ../../../etc/passwd
  digest-mismatch.tar  a layer whose content is not the config's diff id
  truncated.tar        GOOD_DOCKER_ARCHIVE cut in the middle of a layer
Nothing here touches the host: the files are only built.
"""
import hashlib, io, json, sys, tarfile

out, good = sys.argv[1], sys.argv[2]


def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1600000000
            if kind == "file":
                ti.size = len(arg)
                t.addfile(ti, io.BytesIO(arg))
                continue
            ti.type = {"sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}[kind]
            ti.linkname = arg
            t.addfile(ti)
    return buf.getvalue()


def archive(path, layer_bytes, diff_id=None):
    diff = diff_id or "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                      "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": ["hostile:latest"],
                            "Layers": ["layer/layer.tar"]}]).encode()
    with tarfile.open(path, "w") as t:
        for name, data in (("layer/layer.tar", layer_bytes), (cfg_name, cfg), ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


pwn = b"pwned by a hostile image\n"
archive(f"{out}/traversal.tar", layer([("../../nook-escape", "file", pwn)]))
archive(f"{out}/absolute.tar", layer([("/tmp/nook-escape-abs", "file", pwn)]))
archive(f"{out}/symlink-write.tar", layer([("esc", "sym", "/tmp"), ("esc/nook-escape-link", "file", pwn)]))
archive(f"{out}/hardlink.tar", layer([("h", "hard", "../../../etc/passwd")]))
archive(f"{out}/digest-mismatch.tar", layer([("f", "file", b"content")]),
        diff_id="sha256:" + hashlib.sha256(b"something else").hexdigest())
data = open(good, "rb").read()
open(f"{out}/truncated.tar", "wb").write(data[: len(data) // 2])
