"""safetensors by hand for the dev scripts (Debian has no safetensors package): u64 LE header
length, JSON header {"__metadata__": {...}, name: {dtype, shape, data_offsets}} padded with
spaces to a multiple of 8, then the raw little-endian float32 data, contiguous, no holes.
The same layout as src/io/safetensors.c writes."""
import json
import os
import struct

import numpy as np


def _array(t):
    if hasattr(t, "detach"):   # a torch tensor
        t = t.detach().cpu().double().numpy()
    return np.ascontiguousarray(np.asarray(t), dtype="<f4")


def write(path, tensors, metadata):
    """tensors: a list of (name, array or torch tensor); written float32, atomically."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, t in tensors:
        a = _array(t)
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))
    os.replace(tmp, path)


def read(path):
    """-> ({name: float32 array}, metadata dict)"""
    with open(path, "rb") as fh:
        b = fh.read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = b[8 + n:]
    out = {}
    for name, m in header.items():
        s, e = m["data_offsets"]
        out[name] = np.frombuffer(data[s:e], dtype="<f4").reshape(m["shape"])
    return out, meta
