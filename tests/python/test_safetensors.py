"""neurop.read_safetensors: reads what the C writer writes, and refuses what the C reader
refuses, with the C reader's message (compared through `neurop exec`, which reads with st_read)."""
import json
import os
import struct
import tempfile
import unittest

import numpy as np

import neurop
from common import ROOT, neurop as cli


def raw(header, data=b"", pad=True, hlen=None):
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


F = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
D8 = b"\0" * 8
CASES = [   # (file bytes, the C reader's message, after "PATH: ")
    (b"1234", "file is 4 bytes, too short for a safetensors file (at least 8)"),
    (raw({"a": F}, D8, hlen=10 ** 9), "not a safetensors file (its header length 1000000000 exceeds the 100000000-byte limit)"),
    (raw({"a": F}, D8, hlen=4096), "header length 4096 runs past the end of the file (72 bytes): truncated, or not a safetensors file"),
    (raw(b'{"a":1} x', pad=False), "header has text after the JSON object (byte 8)"),
    (raw(b"[1,2]"), "header is not a JSON object"),
    (raw(b'{"a\x01":1}'), "header contains control byte 0x01 at byte 3"),
    (raw(b'{"\xff":1}'), "header is not valid UTF-8 (byte 2)"),
    (raw(b'{"a\\u0000":1}'), "header contains an escaped NUL (\\u0000) at byte 3, which is not supported"),
    (raw({"a": dict(F, dtype="F16")}, D8), "tensor 'a': dtype F16 is not supported (only F32 is)"),
    (raw({"a": {"shape": [2], "data_offsets": [0, 8]}}, D8), "tensor 'a': missing \"dtype\""),
    (raw({"a": dict(F, shape=[-2])}, D8), "tensor 'a': shape[0] is negative"),
    (raw({"a": dict(F, shape=[2.5])}, D8), "tensor 'a': shape[0] is not an integer"),
    (raw({"a": dict(F, shape=[True])}, D8), "tensor 'a': shape[0] is not a number"),
    (raw({"a": dict(F, shape=[1] * 9)}, D8), "tensor 'a': shape has 9 dims (at most 8 supported)"),
    (raw({"a": dict(F, data_offsets=[0])}, D8), "tensor 'a': \"data_offsets\" is not an array of two integers"),
    (raw({"a": dict(F, data_offsets=[8, 0])}, D8), "tensor 'a': data_offsets [8, 0] begin after end"),
    (raw({"a": dict(F, data_offsets=[0, 16])}, D8), "tensor 'a': data_offsets end 16 is beyond the data section (8 bytes)"),
    (raw({"a": dict(F, shape=[3])}, D8), "tensor 'a': data_offsets span 8 bytes but F32 shape [3] needs 12"),
    (raw({"a": F, "b": dict(F, data_offsets=[4, 12])}, b"\0" * 12), "tensors 'a' [0, 8) and 'b' [4, 12) overlap"),
    (raw({"a": dict(F, data_offsets=[8, 16])}, b"\0" * 16), "data bytes [0, 8) before tensor 'a' belong to no tensor"),
    (raw({"a": F}, b"\0" * 12), "4 trailing data bytes after the last tensor belong to no tensor"),
    (raw({"__metadata__": {"k": 1}, "a": F}, D8), "\"__metadata__\" value of 'k' is not a string"),
    (raw({"__metadata__": [1], "a": F}, D8), "\"__metadata__\" is not a JSON object"),
    (raw(b'{"__metadata__":{},"__metadata__":{}}'), "\"__metadata__\" appears twice"),
]


class SafetensorsTest(unittest.TestCase):
    def test_reads_c_written_files(self):
        """The committed fixtures (written by dev/stio.py) and a program written by the C writer."""
        t, meta = neurop.read_safetensors(os.path.join(ROOT, "tests", "fixtures", "exec_tf1.safetensors"))
        self.assertEqual(sorted(t), ["logits", "theta", "tokens"])
        self.assertEqual(t["tokens"].dtype, np.float32)
        self.assertEqual(t["tokens"].shape, (2, 3, 4))
        self.assertIn("transformer vocab=7", meta["template"])
        self.assertTrue(((t["tokens"] >= 0) & (t["tokens"] < 7)).all())

    def test_roundtrip(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.safetensors")
            a = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.array(2.5, np.float32), "e": np.zeros((0, 4), np.float32)}
            neurop.write_safetensors(path, a, {"note": "é \"q\""})
            b, meta = neurop.read_safetensors(path)
            self.assertEqual(list(b), ["w", "s", "e"])
            for k in a:
                np.testing.assert_array_equal(a[k], b[k])
                self.assertEqual(a[k].shape, b[k].shape)
            self.assertEqual(meta, {"note": "é \"q\""})
            self.assertFalse(os.path.exists(path + ".tmp%d" % os.getpid()))

    def test_refuses_what_c_refuses_with_the_same_message(self):
        with tempfile.TemporaryDirectory() as d:
            for i, (blob, msg) in enumerate(CASES):
                path = os.path.join(d, "bad%02d.safetensors" % i)
                with open(path, "wb") as fh:
                    fh.write(blob)
                with self.subTest(case=i, msg=msg):
                    with self.assertRaises(ValueError) as cm:
                        neurop.read_safetensors(path)
                    self.assertIn(path + ": " + msg, str(cm.exception))
                    p = cli("exec", path, input="", check=False)
                    self.assertEqual(p.returncode, 1)
                    self.assertIn(path + ": " + msg, p.stderr)   # the C reader says the same

    def test_missing_file(self):
        with self.assertRaises(ValueError) as cm:
            neurop.read_safetensors("/nonexistent/x.safetensors")
        self.assertIn("/nonexistent/x.safetensors: cannot open", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
