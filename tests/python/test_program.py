"""neurop.load_program: the PyTorch module of every template option computes what `neurop exec`
prints, within 1e-5 relative, on programs with random weights written by the Python writer."""
import os
import tempfile
import unittest

import numpy as np
import torch

import neurop
from neurop.program import PROGRAM_FORMAT
from common import assert_close, exec_logits, random_tensors

MLPS = [
    "mlp 3-5-2",                                   # defaults: relu hidden, no output activation
    "mlp 4-6-5-3 act=gelu,tanh out=silu",          # one activation per hidden layer, out=
    "mlp 2-7-1 act=silu out=tanh",
    "mlp 3-4-4-2 act=none out=relu",
    "mlp 5-3 out=gelu",                            # a single layer
    "mlp 10-16-1 act=tanh",
]
TRANSFORMERS = [
    "transformer vocab=7 len=4 d=8 heads=2 mlp=12 classes=5",                                   # defaults
    "transformer vocab=6 len=5 d=12 heads=3 mlp=10 classes=4 layers=2 readout=all act=gelu",
    "transformer vocab=5 len=3 d=8 heads=4 mlp=6 classes=3 layers=2 prenorm=0 act=tanh",
    "transformer vocab=9 len=6 d=6 heads=1 mlp=7 classes=9 prenorm=0 readout=all act=silu",
    "transformer vocab=4 len=2 d=4 heads=2 mlp=5 classes=2 layers=3 act=none",
    "transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 prenorm=0",                   # ADDMOD's
    "transformer vocab=6 len=9 d=8 heads=2 mlp=10 classes=6 layers=2 readout=all window=3",   # a window
    "transformer vocab=5 len=4 d=8 heads=2 mlp=6 classes=3 prenorm=0 window=3",                # reaching both ends
]


class ProgramTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, text, tensors, name="p"):
        path = os.path.join(self.dir.name, name + ".safetensors")
        neurop.write_safetensors(path, tensors, {"format": PROGRAM_FORMAT, "template": text, "intent": "test"})
        return path

    def test_mlp_matches_exec(self):
        rng = np.random.default_rng(1)
        for text in MLPS:
            with self.subTest(template=text):
                tpl = neurop.Template(text)
                path = self.write(text, random_tensors(tpl, rng))
                m = neurop.load_program(path)
                x = rng.standard_normal((7, tpl.widths[0])).astype(np.float32) * 2
                with torch.no_grad():
                    y = m(torch.from_numpy(x)).numpy()
                self.assertEqual(y.shape, (7, tpl.widths[-1]))
                assert_close(self, y, exec_logits(path, x, True), what=text)

    def test_transformer_matches_exec(self):
        rng = np.random.default_rng(2)
        for text in TRANSFORMERS:
            with self.subTest(template=text):
                tpl = neurop.Template(text)
                path = self.write(text, random_tensors(tpl, rng))
                m = neurop.load_program(path)
                tok = rng.integers(0, tpl.vocab, (5, tpl.len))
                with torch.no_grad():
                    y = m(torch.from_numpy(tok)).numpy()
                P = 1 if tpl.readout == "last" else tpl.len
                self.assertEqual(y.shape, (5, tpl.classes) if P == 1 else (5, tpl.len, tpl.classes))
                arg, logits = exec_logits(path, tok, False)
                assert_close(self, y.reshape(5, P, tpl.classes), logits, what=text)
                np.testing.assert_array_equal(y.reshape(5, P, -1).argmax(-1), arg)

    def test_every_option_changes_the_output(self):
        """The options are not ignored: the same weights under a different activation, readout or
        prenorm give different outputs (so the agreement above is not vacuous)."""
        rng = np.random.default_rng(3)
        base = "transformer vocab=5 len=3 d=8 heads=2 mlp=6 classes=3"
        ts = random_tensors(neurop.Template(base), rng)
        tok = torch.from_numpy(rng.integers(0, 5, (4, 3)))
        outs = {}
        for act in ("relu", "gelu", "tanh", "silu", "none"):
            outs[act] = neurop.program.from_tensors(base + " act=" + act, ts)(tok).detach().numpy()
        for a in outs:
            for b in outs:
                if a < b:
                    self.assertGreater(np.abs(outs[a] - outs[b]).max(), 1e-4, (a, b))
        allr = neurop.program.from_tensors(base + " readout=all", ts)(tok).detach().numpy()
        np.testing.assert_allclose(allr[:, -1], outs["relu"], rtol=1e-6, atol=1e-6)   # the last position is readout=last

    def test_state_dict_keys_are_the_template_tensors(self):
        for text in MLPS + TRANSFORMERS:
            tpl = neurop.Template(text)
            sd = neurop.build(text).state_dict()
            self.assertEqual([(k, tuple(v.shape)) for k, v in sd.items()], tpl.tensors, text)
            self.assertEqual(sum(v.numel() for v in sd.values()), tpl.n_theta)
            self.assertEqual(neurop.Template(tpl.text()).text(), tpl.text())

    def test_c_canonical_text_and_sizes(self):
        """The Python parser agrees with the C one on canonical text and |θ| (docs/programs.md's sizes)."""
        self.assertEqual(neurop.Template("mlp 10-16-1 act=relu").n_theta, 193)
        self.assertEqual(neurop.Template("transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100").n_theta, 6148)
        self.assertEqual(neurop.Template("transformer vocab=101 len=3 d=16 heads=2 mlp=48 classes=100 prenorm=0").n_theta, 6052)
        self.assertEqual(neurop.Template("mlp 4-6-5-3 act=gelu,gelu out=silu").text(), "mlp 4-6-5-3 act=gelu out=silu")
        self.assertEqual(neurop.Template("transformer  d=8 vocab=5 len=3 heads=2 mlp=6 classes=3").text(),
                         "transformer vocab=5 len=3 d=8 heads=2 mlp=6 classes=3 layers=1 prenorm=1 readout=last act=relu")

    def test_bad_templates_refused(self):
        for text, msg in [("mlp 10", "at least two widths"), ("mlp 3-0-1", "width=0"), ("mlp 3-4-1 act=foo", "'foo' is not one of"),
                          ("mlp 3-4-4-1 act=relu,relu,relu", "names 3 activations"), ("conv 3", "unknown kind"),
                          ("transformer vocab=5 len=3 d=8 heads=3 mlp=6 classes=3", "heads=3 does not divide d=8"),
                          ("transformer vocab=5 len=3 d=8 heads=2 mlp=6", "needs classes="),
                          ("transformer vocab=5 len=3 d=8 heads=2 mlp=6 classes=3 readout=first", "readout=first"),
                          ("transformer vocab=5 len=3 d=8 heads=2 mlp=6 classes=3 layers=17", "too many layers"),
                          ("transformer vocab=5 len=3 d=8 heads=2 mlp=6 classes=3 window=3", "window=3 reaches past every cell of a row of len=3 (at most 2)"),
                          ("transformer vocab=5 len=3 d=8 heads=2 mlp=6 classes=3 window=x", "window=x is not an integer in [0, 65536]"),
                          ("transformer vocab=5 vocab=5", "given twice")]:
            with self.assertRaises(ValueError) as cm:
                neurop.Template(text)
            self.assertIn(msg, str(cm.exception), text)

    def test_bad_inputs_refused(self):
        m = neurop.build("transformer vocab=5 len=3 d=8 heads=2 mlp=6 classes=3")
        for bad, msg in [(torch.zeros(2, 4, dtype=torch.long), "tokens must be [batch, 3]"),
                         (torch.full((2, 3), 5), "in [0, 5)"), (torch.zeros(2, 3), "integer ids")]:
            with self.assertRaises(ValueError) as cm:
                m(bad)
            self.assertIn(msg, str(cm.exception))
        with self.assertRaises(ValueError):
            neurop.build("mlp 3-2")(torch.zeros(2, 4))

    def test_program_files_checked_like_c(self):
        """What program_load refuses, load_program refuses with the same message."""
        text = "transformer vocab=6 len=3 d=4 heads=2 mlp=5 classes=3"
        good = random_tensors(neurop.Template(text), np.random.default_rng(4))
        cases = []
        t = dict(good); del t["layers.0.attn.k.bias"]; cases.append((t, text, PROGRAM_FORMAT, "tensor 'layers.0.attn.k.bias' is missing (the template wants [4])"))
        t = dict(good); t["embed.weight"] = np.zeros((2, 2), np.float32); cases.append((t, text, PROGRAM_FORMAT, "tensor 'embed.weight' has shape [2, 2], the template wants [6, 4]"))
        t = dict(good); t["extra"] = np.zeros(3, np.float32); cases.append((t, text, PROGRAM_FORMAT, "unexpected tensor 'extra'"))
        cases.append((good, text + " heads=3", PROGRAM_FORMAT, "bad template metadata"))
        cases.append((good, text, "something-else", "not a neurop program"))
        for i, (tensors, tpl, fmt, msg) in enumerate(cases):
            path = os.path.join(self.dir.name, "bad%d.safetensors" % i)
            neurop.write_safetensors(path, tensors, {"format": fmt, "template": tpl})
            with self.assertRaises(ValueError) as cm:
                neurop.load_program(path)
            self.assertIn(msg, str(cm.exception))
            from common import neurop as cli
            p = cli("exec", path, input="", check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(msg, p.stderr)


if __name__ == "__main__":
    unittest.main()
