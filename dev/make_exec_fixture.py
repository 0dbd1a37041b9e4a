#!/usr/bin/python3
"""Writes tests/fixtures/exec_*.safetensors: PyTorch reference forwards of small Transformer
templates, to check that neurop's batched execution (src/program/exec.c) computes the same thing.

Each fixture holds B=2 programs with N=3 inputs each:
  theta  [B, n_theta]   each program's weights, flattened in neurop's θ layout (tensor order below)
  tokens [B, N, len]    token ids as floats
  logits [B, N, classes] (readout=last) or [B, N, len, classes] (readout=all), computed in float64
and __metadata__ {"template": the template text}.

The forward is built from stock torch.nn modules (Embedding, LayerNorm, MultiheadAttention, Linear),
so the head split, the attention scale and the LayerNorm are PyTorch's, not a re-implementation.
Run with Debian's /usr/bin/python3 (torch + numpy from apt); `make test` never needs Python.
"""
import sys

import numpy as np
import torch
import torch.nn as nn

import stio  # dev/stio.py: safetensors by hand

FIXTURES = [
    ("exec_tf1", dict(vocab=7, len=4, d=8, heads=2, mlp=12, classes=5, layers=1, prenorm=1, readout="last", act="relu")),
    ("exec_tf2", dict(vocab=6, len=5, d=12, heads=3, mlp=10, classes=4, layers=2, prenorm=1, readout="all", act="gelu")),
    ("exec_tf3", dict(vocab=5, len=3, d=8, heads=4, mlp=6, classes=3, layers=2, prenorm=0, readout="last", act="relu")),
]
B, N = 2, 3


def template_text(c):
    return ("transformer vocab={vocab} len={len} d={d} heads={heads} mlp={mlp} classes={classes} "
            "layers={layers} prenorm={prenorm} readout={readout} act={act}").format(**c)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d"]
        self.prenorm = c["prenorm"]
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-5), nn.LayerNorm(d, eps=1e-5)
        self.attn = nn.MultiheadAttention(d, c["heads"], batch_first=True)
        self.fc1, self.fc2 = nn.Linear(d, c["mlp"]), nn.Linear(c["mlp"], d)
        self.act = nn.ReLU() if c["act"] == "relu" else nn.GELU()

    def forward(self, x):
        h = self.ln1(x) if self.prenorm else x
        x = x + self.attn(h, h, h, need_weights=False)[0]   # no mask: every cell sees the whole row
        h = self.ln2(x) if self.prenorm else x
        return x + self.fc2(self.act(self.fc1(h)))


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed, self.pos = nn.Embedding(c["vocab"], c["d"]), nn.Embedding(c["len"], c["d"])
        self.layers = nn.ModuleList([Block(c) for _ in range(c["layers"])])
        self.ln_f = nn.LayerNorm(c["d"], eps=1e-5)
        self.unembed = nn.Linear(c["d"], c["classes"])

    def forward(self, tok):
        x = self.embed(tok) + self.pos(torch.arange(tok.shape[-1]))
        for blk in self.layers:
            x = blk(x)
        if self.c["prenorm"]:
            x = self.ln_f(x)
        y = self.unembed(x)
        return y[:, -1] if self.c["readout"] == "last" else y


def neurop_tensors(m):
    """(name, tensor) in neurop's θ order, with its names: MultiheadAttention's packed in_proj
    is split into q, k, v."""
    c, d = m.c, m.c["d"]
    out = [("embed.weight", m.embed.weight), ("pos.weight", m.pos.weight)]
    for l, blk in enumerate(m.layers):
        p = "layers.%d." % l
        if c["prenorm"]:
            out += [(p + "ln1.weight", blk.ln1.weight), (p + "ln1.bias", blk.ln1.bias)]
        W, b = blk.attn.in_proj_weight, blk.attn.in_proj_bias
        for k, name in enumerate("qkv"):
            out += [(p + "attn.%s.weight" % name, W[k * d:(k + 1) * d]), (p + "attn.%s.bias" % name, b[k * d:(k + 1) * d])]
        out += [(p + "attn.o.weight", blk.attn.out_proj.weight), (p + "attn.o.bias", blk.attn.out_proj.bias)]
        if c["prenorm"]:
            out += [(p + "ln2.weight", blk.ln2.weight), (p + "ln2.bias", blk.ln2.bias)]
        out += [(p + "mlp.fc1.weight", blk.fc1.weight), (p + "mlp.fc1.bias", blk.fc1.bias),
                (p + "mlp.fc2.weight", blk.fc2.weight), (p + "mlp.fc2.bias", blk.fc2.bias)]
    if c["prenorm"]:
        out += [("ln_f.weight", m.ln_f.weight), ("ln_f.bias", m.ln_f.bias)]
    out += [("unembed.weight", m.unembed.weight), ("unembed.bias", m.unembed.bias)]
    return out


def randomize(m, gen):
    """Weights far from the defaults so every path matters: nonzero biases, gains away from 1."""
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("ln1.weight") or name.endswith("ln2.weight") or name == "ln_f.weight":
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
            elif p.dim() == 1:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=torch.float64))
            else:
                scale = 1.0 if "embed" in name or "pos" in name else 1.0 / p.shape[1] ** 0.5
                p.copy_(scale * torch.randn(p.shape, generator=gen, dtype=torch.float64))
            p.copy_(p.float().double())   # exactly representable in float32, as neurop reads it


def make(name, c, seed):
    gen = torch.Generator().manual_seed(seed)
    thetas, tokens, logits = [], [], []
    for _ in range(B):
        m = Transformer(c).double()
        randomize(m, gen)
        tok = torch.randint(0, c["vocab"], (N, c["len"]), generator=gen)
        with torch.no_grad():
            logits.append(m(tok).numpy())
        thetas.append(torch.cat([t.detach().reshape(-1) for _, t in neurop_tensors(m)]).numpy())
        tokens.append(tok.numpy().astype(np.float32))
    path = "tests/fixtures/%s.safetensors" % name
    stio.write(path, [("theta", np.stack(thetas)), ("tokens", np.stack(tokens)), ("logits", np.stack(logits))],
                      {"template": template_text(c)})
    print("%s: %s, |theta| = %d" % (path, template_text(c), thetas[0].size))


if __name__ == "__main__":
    torch.manual_seed(0)
    for i, (name, c) in enumerate(FIXTURES):
        make(name, c, 1234 + i)
    sys.exit(0)
