"""safetensors reading (and writing, for tests and tools) in numpy, checked like the C reader
(src/io/safetensors.c): an 8-byte little-endian header length, a JSON header, then the data.
Only float32 is supported. Every length and offset is checked against the real file size; a bad
file raises ValueError with one line naming the path (and the tensor at fault)."""
import json
import os
import struct

import numpy as np

MAX_HEADER = 100 * 1000 * 1000   # as ST_MAX_HEADER: anything bigger is a corrupt or hostile file
MAX_DIMS = 8
_MAX_EXACT_INT = 2 ** 53         # JSON numbers are doubles in the C reader


def _shown(name):
    """A name made safe for a one-line message, as the C reader shows it."""
    s = "".join("?" if ord(c) < 0x20 else c for c in name)
    return s[:64] + "..." if len(s) > 64 else s


def _uint_problem(v):
    """(None, value) for an exact non-negative integer, else (what is wrong, None)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "is not a number", None
    if v < 0:
        return "is negative", None
    if v > _MAX_EXACT_INT:
        return "is too large", None
    if isinstance(v, float) and v != int(v):
        return "is not an integer", None
    return None, int(v)


def _no_dups(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = sorted(k for k in set(keys) if keys.count(k) > 1)[0]
        raise _DupKey(dup)
    return dict(pairs)


class _DupKey(Exception):
    pass


def _check_header_bytes(path, h):
    try:
        h.decode("utf-8", errors="strict")
    except UnicodeDecodeError as ex:
        raise ValueError("%s: header is not valid UTF-8 (byte %d)" % (path, ex.start)) from None
    for i, c in enumerate(h):
        if c < 0x20 and c not in (9, 10, 13):
            raise ValueError("%s: header contains control byte 0x%02x at byte %d" % (path, c, i))
    i = h.find(b"\\")
    while i >= 0:
        if h[i + 1:i + 6] == b"u0000":
            raise ValueError("%s: header contains an escaped NUL (\\u0000) at byte %d, which is not supported" % (path, i))
        i = h.find(b"\\", i + 2)   # the escaped character cannot start another escape


def _parse_entry(path, name, item, data_size):
    def fail(msg):
        return ValueError("%s: tensor '%s': %s" % (path, _shown(name), msg))
    if not isinstance(item, dict):
        raise fail("entry is not a JSON object")
    for key in ("dtype", "shape", "data_offsets"):
        if key not in item:
            raise fail('missing "%s"' % key)
    dtype, shape, offs = item["dtype"], item["shape"], item["data_offsets"]
    if not isinstance(dtype, str):
        raise fail('"dtype" is not a string')
    if dtype != "F32":
        raise fail("dtype %s is not supported (only F32 is)" % _shown(dtype))
    if not isinstance(shape, list):
        raise fail('"shape" is not an array')
    if len(shape) > MAX_DIMS:
        raise fail("shape has %d dims (at most %d supported)" % (len(shape), MAX_DIMS))
    dims = []
    for d, v in enumerate(shape):
        why, v = _uint_problem(v)
        if why:
            raise fail("shape[%d] %s" % (d, why))
        dims.append(v)
    numel = 1
    for v in dims:
        numel *= v
    if numel * 4 >= 2 ** 63:
        raise fail("element count of the shape overflows")
    if not isinstance(offs, list) or len(offs) != 2:
        raise fail('"data_offsets" is not an array of two integers')
    be = []
    for k in range(2):
        why, v = _uint_problem(offs[k])
        if why:
            raise fail("data_offsets[%d] %s" % (k, why))
        be.append(v)
    if be[0] > be[1]:
        raise fail("data_offsets [%d, %d] begin after end" % tuple(be))
    if be[1] > data_size:
        raise fail("data_offsets end %d is beyond the data section (%d bytes)" % (be[1], data_size))
    if be[1] - be[0] != numel * 4:
        raise fail("data_offsets span %d bytes but F32 shape [%s] needs %d"
                   % (be[1] - be[0], ", ".join(map(str, dims)), numel * 4))
    return tuple(dims), be[0], be[1]


def read_safetensors(path):
    """-> (dict name -> float32 numpy array, metadata dict of str -> str), in header order.
    Raises ValueError (one line) on anything the C reader refuses: truncation, an oversized or
    malformed header, duplicate keys, a dtype other than F32, inconsistent shape and offsets,
    overlapping tensors, bytes that belong to no tensor."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            if not os.path.isfile(path):
                raise IsADirectoryError
            blob = fh.read()
    except IsADirectoryError:
        raise ValueError("%s: not a regular file" % path) from None
    except OSError as ex:
        raise ValueError("%s: cannot open: %s" % (path, ex.strerror)) from None
    size = len(blob)
    if size < 8:
        raise ValueError("%s: file is %d bytes, too short for a safetensors file (at least 8)" % (path, size))
    n = struct.unpack("<Q", blob[:8])[0]
    if n > MAX_HEADER:
        raise ValueError("%s: not a safetensors file (its header length %d exceeds the %d-byte limit)" % (path, n, MAX_HEADER))
    if n > size - 8:
        raise ValueError("%s: header length %d runs past the end of the file (%d bytes): truncated, or not a safetensors file" % (path, n, size))
    h = blob[8:8 + n]
    _check_header_bytes(path, h)
    text = h.decode("utf-8")
    try:
        header, end = json.JSONDecoder(object_pairs_hook=_no_dups).raw_decode(text.lstrip(" \t\n\r"))
        end += len(text) - len(text.lstrip(" \t\n\r"))
    except _DupKey as ex:
        key = ex.args[0]
        if key == "__metadata__":
            raise ValueError('%s: "__metadata__" appears twice' % path) from None
        raise ValueError("%s: duplicate key '%s' in the header" % (path, _shown(key))) from None
    except json.JSONDecodeError as ex:
        raise ValueError("%s: header is not valid JSON (error near byte %d)" % (path, ex.pos)) from None
    rest = text[end:].lstrip(" \t\n\r")
    if rest:
        raise ValueError("%s: header has text after the JSON object (byte %d)" % (path, len(h) - len(rest.encode())))
    if not isinstance(header, dict):
        raise ValueError("%s: header is not a JSON object" % path)
    data_size = size - 8 - n
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict):
        raise ValueError('%s: "__metadata__" is not a JSON object' % path)
    for k, v in meta.items():
        if not isinstance(v, str):
            raise ValueError('%s: "__metadata__" value of \'%s\' is not a string' % (path, _shown(k)))
    entries = [(name,) + _parse_entry(path, name, item, data_size) for name, item in header.items()]
    at, prev = 0, None
    for name, _, b, e in sorted(entries, key=lambda t: (t[2], t[3])):
        if b < at:
            raise ValueError("%s: tensors '%s' [%d, %d) and '%s' [%d, %d) overlap"
                             % (path, _shown(prev[0]), prev[2], prev[3], _shown(name), b, e))
        if b > at:
            raise ValueError("%s: data bytes [%d, %d) before tensor '%s' belong to no tensor" % (path, at, b, _shown(name)))
        at, prev = e, (name, None, b, e)
    if at != data_size:
        raise ValueError("%s: %d trailing data bytes after the last tensor belong to no tensor" % (path, data_size - at))
    data = blob[8 + n:]
    tensors = {name: np.frombuffer(data, dtype="<f4", count=(e - b) // 4, offset=b).astype(np.float32).reshape(shape)
               for name, shape, b, e in entries}
    return tensors, dict(meta)


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict (or list of pairs) name -> array, written float32 in that order, atomically,
    with the layout the C writer uses (header padded with spaces to a multiple of 8)."""
    items = list(tensors.items()) if isinstance(tensors, dict) else list(tensors)
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, a in items:
        if hasattr(a, "detach"):
            a = a.detach().cpu().numpy()
        a = np.asarray(a, dtype="<f4")   # tobytes() is C order; ascontiguousarray would make a scalar 1-D
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    hj = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    hj += b" " * (-len(hj) % 8)
    tmp = "%s.tmp%d" % (os.fspath(path), os.getpid())
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
