#!/usr/bin/env python3
"""Writes the e2e test's container images as OCI image layout archives, without a registry.

    oci.py pause ARCHIVE PAUSE_BINARY NAME...
    oci.py busybox ARCHIVE BUSYBOX_BINARY NAME...

ARCHIVE is a tar of an OCI image layout (oci-layout, index.json, blobs/sha256/...) holding one
linux/amd64 image of one uncompressed layer, which `ctr images import` accepts; index.json lists
the image's manifest once per NAME, annotated with that full name (as
org.opencontainers.image.ref.name, and io.containerd.image.name, which containerd reads first), so
the import names it NAME. Everything is deterministic (fixed times and owners, sorted entries,
canonical JSON): the same inputs give the same bytes, so the same digests.

Standard library only.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

EPOCH = 0  # every mtime, and "created"
CREATED = "1970-01-01T00:00:00Z"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Tree:
    """The entries of one tar, written sorted by path whatever order they were added in."""

    def __init__(self):
        self.entries = {}

    def _info(self, path, kind, mode):
        info = tarfile.TarInfo(path)
        info.type = kind
        info.mode = mode
        info.mtime = EPOCH
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    def dir(self, path, mode=0o755):
        self.entries[path + "/"] = (self._info(path + "/", tarfile.DIRTYPE, mode), None)

    def file(self, path, data, mode=0o644):
        info = self._info(path, tarfile.REGTYPE, mode)
        info.size = len(data)
        self.entries[path] = (info, data)

    def symlink(self, path, target):
        info = self._info(path, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self.entries[path] = (info, None)

    def tar(self):
        out = io.BytesIO()
        # ustar: no extended headers (which could carry times), and every path here fits.
        with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for path in sorted(self.entries):
                info, data = self.entries[path]
                tar.addfile(info, io.BytesIO(data) if data is not None else None)
        return out.getvalue()


def descriptor(media_type, blob):
    return {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(blob).hexdigest(),
        "size": len(blob),
    }


def write_layout(archive, names, layer, config):
    """config: the image's "config" object (Env, Entrypoint, Cmd, ...)."""
    platform = {"architecture": "amd64", "os": "linux"}
    layer_desc = descriptor(MT_LAYER, layer)
    config_blob = canonical(
        {
            "architecture": platform["architecture"],
            "os": platform["os"],
            "created": CREATED,
            "config": config,
            # Uncompressed: the layer's digest is its diff ID.
            "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
            "history": [{"created": CREATED, "created_by": "kube-bootstrap tests/e2e/images/oci.py"}],
        }
    )
    config_desc = descriptor(MT_CONFIG, config_blob)
    manifest_blob = canonical(
        {
            "schemaVersion": 2,
            "mediaType": MT_MANIFEST,
            "config": config_desc,
            "layers": [layer_desc],
        }
    )
    manifest_desc = descriptor(MT_MANIFEST, manifest_blob)
    manifests = []
    for name in names:
        d = dict(manifest_desc)
        d["platform"] = platform
        d["annotations"] = {
            "io.containerd.image.name": name,
            "org.opencontainers.image.ref.name": name,
        }
        manifests.append(d)
    index_blob = canonical({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests})

    layout = Tree()
    layout.file("oci-layout", canonical({"imageLayoutVersion": "1.0.0"}))
    layout.file("index.json", index_blob)
    layout.dir("blobs")
    layout.dir("blobs/sha256")
    for blob in (layer, config_blob, manifest_blob):
        layout.file("blobs/sha256/" + hashlib.sha256(blob).hexdigest(), blob)

    tmp = archive + ".tmp"
    with open(tmp, "wb") as f:
        f.write(layout.tar())
    os.replace(tmp, archive)
    return manifest_desc["digest"]


def pause_image(binary):
    with open(binary, "rb") as f:
        pause = f.read()
    root = Tree()
    root.file("pause", pause, 0o755)
    # As the upstream pause image: an unprivileged user, no /etc needed for numeric IDs.
    config = {"Env": ["PATH=" + PATH], "Entrypoint": ["/pause"], "User": "65535:65535", "WorkingDir": "/"}
    return root.tar(), config


def busybox_image(binary):
    with open(binary, "rb") as f:
        busybox = f.read()
    applets = subprocess.run([binary, "--list"], check=True, capture_output=True, text=True).stdout.split()
    applets = sorted(set(a for a in applets if a and "/" not in a and a != "busybox"))
    for needed in ("sh", "echo", "cat", "sleep", "wget", "ls"):
        if needed not in applets:
            sys.exit(f"oci.py: {binary} has no applet {needed}")
    root = Tree()
    for d in ("bin", "dev", "etc", "proc", "sys", "var"):
        root.dir(d)
    root.dir("root", 0o700)
    root.dir("tmp", 0o1777)
    root.file("bin/busybox", busybox, 0o755)
    for applet in applets:
        root.symlink("bin/" + applet, "busybox")
    root.file(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    root.file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    config = {"Env": ["PATH=" + PATH], "Cmd": ["/bin/sh"], "WorkingDir": "/"}
    return root.tar(), config


def main(argv):
    if len(argv) < 5 or argv[1] not in ("pause", "busybox"):
        sys.exit(__doc__)
    kind, archive, binary, names = argv[1], argv[2], argv[3], argv[4:]
    layer, config = (pause_image if kind == "pause" else busybox_image)(binary)
    digest = write_layout(archive, names, layer, config)
    print(f"oci.py: {kind} image {' '.join(names)}: manifest {digest}")


if __name__ == "__main__":
    main(sys.argv)
