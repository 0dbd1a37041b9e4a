"""dev/compare_reproductions.py: two reproductions of one commit at different roundings, compared
per model over the seeds finished in both."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "dev", "compare_reproductions.py")
sys.path.insert(0, os.path.join(ROOT, "dev"))
import compare_reproductions as cr  # noqa: E402


def write_run(folder, name, task, method, seed, iid, ood, best_val=0.5, best_step=100, finished=True):
    d = os.path.join(folder, "runs", name)
    os.makedirs(d)
    with open(os.path.join(d, "config.txt"), "w") as f:
        f.write("task=%s\n" % task)
    if finished:
        with open(os.path.join(d, "eval.json"), "w") as f:
            json.dump(dict(task=task, method=method, method_name={"direct": "direct", "mlp": "Meta-MLP", "gnn": "Meta-GNN"}[method],
                           seed=seed, iid=iid, ood=ood, best_val=best_val, best_step=best_step,
                           machine="cpu=X; blas=K"), f)


class TestCompareReproductions(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.a, self.b = (os.path.join(self.tmp.name, x) for x in "ab")
        # Meta-GNN: OOD 0.6, 0.8, 0.7 against 0.7, 0.8, 0.75 (seed 3 only in B): Δ 0.05, spread 0.079:
        # within
        for seed, ood_a, ood_b in ((0, 0.6, 0.7), (1, 0.8, 0.8), (2, 0.7, 0.75)):
            write_run(self.a, "addmod-gnn-s%d" % seed, "addmod", "gnn", seed, 0.9, ood_a, best_val=0.91 + seed)
            write_run(self.b, "addmod-gnn-s%d" % seed, "addmod", "gnn", seed, 0.9, ood_b, best_val=0.95 + seed)
        write_run(self.b, "addmod-gnn-s3", "addmod", "gnn", 3, 0.9, 0.9)
        # direct: two seeds, far apart, but two seeds give no verdict
        for seed, ood_a, ood_b in ((0, 0.30, 0.60), (1, 0.31, 0.61)):
            write_run(self.a, "addmod-direct-s%d" % seed, "addmod", "direct", seed, 0.9, ood_a)
            write_run(self.b, "addmod-direct-s%d" % seed, "addmod", "direct", seed, 0.9, ood_b, best_val=0.6)
        # Meta-MLP: Δ 0.253 against a spread of 0.168: outside; seed 0 the same run at both roundings
        for seed, ood_a, bv_a, ood_b, bv_b in ((0, 0.50, 0.97, 0.50, 0.97), (1, 0.52, 0.96, 0.90, 0.98),
                                               (2, 0.54, 0.95, 0.92, 0.99)):
            write_run(self.a, "addmod-mlp-s%d" % seed, "addmod", "mlp", seed, 0.9, ood_a, best_val=bv_a, best_step=4800)
            write_run(self.b, "addmod-mlp-s%d" % seed, "addmod", "mlp", seed, 0.9, ood_b, best_val=bv_b, best_step=4800)
        # a run still training in B, and a study run: its own model
        write_run(self.a, "sumfirst-gnn-s0", "sumfirst", "gnn", 0, 1.0, 1.0)
        write_run(self.b, "sumfirst-gnn-s0", "sumfirst", "gnn", 0, 1.0, 1.0, finished=False)
        write_run(self.a, "ablate-rounds0-s0", "sumfirst", "gnn", 0, 1.0, 0.4)
        write_run(self.b, "ablate-rounds0-s0", "sumfirst", "gnn", 0, 1.0, 0.3)

    def tearDown(self):
        self.tmp.cleanup()

    def test_rows(self):
        rows = cr.compare(cr.runs(self.a), cr.runs(self.b))
        self.assertEqual([(r["task"], r["method"]) for r in rows],
                         [("addmod", "direct"), ("addmod", "Meta-MLP"), ("addmod", "Meta-GNN"),
                          ("ablate-rounds0", "Meta-GNN")])
        direct, mlp, gnn, ablate = rows
        self.assertAlmostEqual(direct["delta"], 0.30)
        self.assertEqual(direct["verdict"], "n/a")
        self.assertEqual(gnn["seeds"], [0, 1, 2])              # seed 3 is in B only
        self.assertAlmostEqual(gnn["delta"], 0.05)
        self.assertAlmostEqual(gnn["spread"], 0.0791, places=4)
        self.assertEqual(gnn["verdict"], "within")
        self.assertEqual(gnn["same"], 0)
        self.assertAlmostEqual(mlp["delta"], 0.2533, places=4)
        self.assertAlmostEqual(mlp["spread"], 0.1681, places=4)
        self.assertEqual(mlp["verdict"], "outside")
        self.assertEqual(mlp["same"], 1)
        self.assertAlmostEqual(mlp["max_seed"], 0.38)
        self.assertEqual(ablate["verdict"], "n/a")             # one seed, not the same number

    def test_cli(self):
        p = subprocess.run([sys.executable, SCRIPT, self.a, self.b], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("| addmod | Meta-MLP | 3 (0-2) | 0.900 ± 0.000 | 0.900 ± 0.000 | 0.520 ± 0.020 | "
                      "0.773 ± 0.237 | +0.253 | 0.168 | outside | 1 of 3 | 0.380 |", p.stdout)
        p = subprocess.run([sys.executable, SCRIPT, self.a], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        empty = os.path.join(self.tmp.name, "empty")
        os.makedirs(empty)
        p = subprocess.run([sys.executable, SCRIPT, self.a, empty], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no run finished in both", p.stdout)
        p = subprocess.run([sys.executable, SCRIPT, self.a, os.path.join(self.tmp.name, "nowhere")],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a folder", p.stderr)


if __name__ == "__main__":
    unittest.main()
