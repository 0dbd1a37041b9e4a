"""Shared by the Python tests: the CLI binary, random programs, and `neurop exec` as a reference."""
import os
import subprocess

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NEUROP = os.path.abspath(os.environ.get("NEUROP_BIN") or os.path.join(ROOT, "build", "neurop"))


def neurop(*args, input=None, check=True):
    """Runs build/neurop with args; returns the CompletedProcess (text)."""
    p = subprocess.run([NEUROP] + [str(a) for a in args], input=input, capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1")))
    if check and p.returncode != 0:
        raise AssertionError("neurop %s failed (%d): %s" % (" ".join(map(str, args)), p.returncode, p.stderr.strip()))
    return p


def random_tensors(tpl, rng):
    """Weights far from a default init so every path matters: nonzero biases, gains away from 1."""
    out = {}
    for name, shape in tpl.tensors:
        if name.endswith(("ln1.weight", "ln2.weight")) or name == "ln_f.weight":
            a = 1 + 0.3 * rng.standard_normal(shape)
        elif len(shape) == 1:
            a = 0.3 * rng.standard_normal(shape)
        elif name in ("embed.weight", "pos.weight", "window.weight"):
            a = rng.standard_normal(shape)
        else:
            a = rng.standard_normal(shape) / np.sqrt(shape[1])
        out[name] = a.astype(np.float32)
    return out


def exec_logits(path, rows, is_mlp):
    """`neurop exec --logits` on rows (a 2-D array): the MLP's outputs [n, out], or the
    Transformer's argmax [n, P] and logits [n, P, classes] (P = 1 for readout=last)."""
    text = "".join(" ".join(("%.9g" if is_mlp else "%d") % v for v in row) + "\n" for row in rows)
    out = neurop("exec", path, "--logits", input=text).stdout.splitlines()
    assert len(out) == len(rows), out
    if is_mlp:
        return np.array([[float(v) for v in line.split()] for line in out])
    arg, logits = [], []
    for line in out:
        parts = line.split(" | ")
        arg.append([int(v) for v in parts[0].split()])
        logits.append([[float(v) for v in p.split()] for p in parts[1:]])
    return np.array(arg), np.array(logits)


def assert_close(tc, got, want, tol=1e-5, what=""):
    """|got - want| <= tol * max(1, |want|), elementwise (as the C tests' CHECK_REL)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    tc.assertEqual(got.shape, want.shape, what)
    bad = np.abs(got - want) > tol * np.maximum(1.0, np.abs(want))
    tc.assertFalse(bad.any(), "%s: %d of %d values differ, worst |diff| %.3g" % (what, bad.sum(), bad.size, np.abs(got - want).max()))
