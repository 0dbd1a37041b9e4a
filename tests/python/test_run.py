"""neurop.Run through build/libneurop.so: synthesis in-process equals `neurop synth`, bit for bit,
and the module it builds computes what `neurop exec` prints; bad folders and intents are refused
with the CLI's one-line messages. The runs are trained for 2 steps (seconds): what is checked is
that the same θ comes out both ways, not that it is any good."""
import os
import tempfile
import unittest

import numpy as np
import torch

import neurop
from common import ROOT, assert_close, exec_logits, neurop as cli

# (task, method, an OOD intent, a train intent)
RUNS = [("addmod", "gnn", "p=83", "p=7"), ("sumfirst", "gnn", "n=4", "n=2"), ("sumfirst", "mlp", "n=7", "n=9"),
        ("arc", "gmlp", "move:k=3", "flip"), ("examples/count.jsonl", "gnn", "c=4", "c=1")]


class RunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dirs = {}
        for task, method, _, _ in RUNS:
            d = os.path.join(cls.tmp.name, "%s-%s" % (os.path.basename(task), method))
            cli("train", "--task", os.path.join(ROOT, task) if task.endswith(".jsonl") else task, "--method", method, "--steps", "2", "--set", "eval_n=8", "--out", d, "--quiet")
            cls.dirs[task, method] = d

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_synth_equals_cli_synth(self):
        for task, method, ood, train in RUNS:
            with self.subTest(task=task, method=method):
                run = neurop.Run(self.dirs[task, method])
                self.assertEqual((run.task, run.method), (os.path.basename(task).replace(".jsonl", ""), method))
                self.assertEqual(run.tensors, neurop.Template(run.template).tensors)
                for intent in (ood, train):
                    path = os.path.join(self.tmp.name, "p.safetensors")
                    cli("synth", self.dirs[task, method], "--intent", intent, "-o", path)
                    want, meta = neurop.read_safetensors(path)
                    got = run.synth(intent)
                    self.assertEqual(list(got), list(want))
                    for k in want:
                        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
                    self.assertEqual(meta["template"], run.template)
                    th, canon, is_ood = run.theta(intent)
                    self.assertEqual((canon, is_ood), (meta["intent"], intent == ood))
                run.close()

    def test_program_matches_exec(self):
        rng = np.random.default_rng(5)
        for task, method, ood, _ in RUNS:
            with self.subTest(task=task, method=method), neurop.Run(self.dirs[task, method]) as run:
                m = run.program(ood)
                self.assertEqual(m.intent, cli("synth", self.dirs[task, method], "--intent", ood, "-o", os.devnull).stdout.split()[5].rstrip(":"))
                path = os.path.join(self.tmp.name, "q.safetensors")
                cli("synth", self.dirs[task, method], "--intent", ood, "-o", path)
                m2 = neurop.load_program(path)
                tpl = neurop.Template(run.template)
                x = (rng.integers(0, 10, (6, tpl.widths[0])).astype(np.float32) if tpl.kind == "mlp"
                     else rng.integers(0, tpl.vocab, (4, tpl.len)))
                with torch.no_grad():
                    y = m(torch.from_numpy(x)).numpy()
                    np.testing.assert_array_equal(y, m2(torch.from_numpy(x)).numpy())   # the same θ, the same module
                # Against the C forward. Freshly initialized meta-learners can make a residual stream
                # whose mean dwarfs its spread (ARC here), so LayerNorm amplifies float32 rounding on
                # both sides to ~4e-5; the 1e-5 agreement of every template option is checked on
                # well-conditioned random programs in test_program.py.
                if tpl.kind == "mlp":
                    assert_close(self, y, exec_logits(path, x, True), what=task)
                else:
                    assert_close(self, y.reshape(4, -1, tpl.classes), exec_logits(path, x, False)[1],
                                 tol=1e-5 if tpl.readout == "last" else 1e-4, what=task)

    def test_errors(self):
        d = self.dirs["addmod", "gnn"]
        with neurop.Run(d, which="last") as run:
            for bad, msg in [("p=4", "invalid addmod intent 'p=4'"), ("", "invalid addmod intent"), ("q=5", "invalid addmod intent")]:
                with self.assertRaises(ValueError) as cm:
                    run.synth(bad)
                self.assertIn(msg, str(cm.exception))
                self.assertIn(msg, cli("synth", d, "--intent", bad, "-o", os.devnull, check=False).stderr)
            run.synth("p=83")   # still usable after a refusal
        with self.assertRaises(ValueError) as cm:
            neurop.Run("/nonexistent/run")
        self.assertIn("/nonexistent/run: no such run folder", str(cm.exception))
        with self.assertRaises(ValueError) as cm:
            neurop.Run(d, which="middle")
        self.assertIn("which is 'best' or 'last'", str(cm.exception))
        with tempfile.TemporaryDirectory() as empty, self.assertRaises(ValueError) as cm:
            neurop.Run(empty)
        self.assertIn("best.safetensors", str(cm.exception))
        direct = os.path.join(self.tmp.name, "direct")
        cli("train", "--task", "sumfirst", "--method", "direct", "--steps", "2", "--set", "eval_n=8", "--out", direct, "--quiet")
        with neurop.Run(direct) as run, self.assertRaises(ValueError) as cm:
            run.synth("n=4")
        self.assertIn("direct baseline", str(cm.exception))
        run = neurop.Run(d)
        run.close()
        with self.assertRaises(ValueError):
            run.synth("p=83")


if __name__ == "__main__":
    unittest.main()
