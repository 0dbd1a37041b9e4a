"""PyTorch parity of the configuration each task ships (config_defaults: on ADDMOD and 1D-ARC the
Meta-GNN with learned codes multiplied per slot, pe=4, and the double-centred head, head=2; the
direct baseline's own network): `neurop-bench-meta --dump` writes the model at init, its first
batch, and neurop's loss and every parameter's gradient on that batch; dev/bench_step_torch.py
rebuilds the model in PyTorch from the configuration alone and must get the same loss and gradient
norm (1e-3 relative) and every gradient (largest difference per parameter view within 1e-3 of
that view's largest value, or of 1e-3 of the largest gradient where a view's gradient is zero up to
rounding)."""
import os
import subprocess
import sys
import tempfile
import unittest

from common import ROOT

BENCH = os.path.join(os.path.dirname(os.path.abspath(os.environ.get("NEUROP_BIN") or os.path.join(ROOT, "build", "neurop"))),
                     "neurop-bench-meta")


class ShippedParityTest(unittest.TestCase):
    def check(self, task):
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ, OMP_NUM_THREADS="1")
            p = subprocess.run([BENCH, "--dump", d, "--method", "all", "--warmup", "0", "--steps", "1", task],
                               capture_output=True, text=True, env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            for method in ("gnn", "direct"):
                q = subprocess.run([sys.executable, os.path.join(ROOT, "dev", "bench_step_torch.py"), d, task + "." + method,
                                    "--check-only"], capture_output=True, text=True, env=env)
                line = [l for l in q.stdout.splitlines() if l.startswith("torch_check")]
                self.assertEqual(q.returncode, 0, "%s %s: %s%s" % (task, method, q.stdout, q.stderr))
                self.assertTrue(line and line[0].endswith(" ok"), "%s %s: %s" % (task, method, q.stdout))

    def test_sumfirst(self):
        self.check("sumfirst")

    def test_addmod(self):
        self.check("addmod")

    def test_arc(self):
        self.check("arc")


if __name__ == "__main__":
    unittest.main()
