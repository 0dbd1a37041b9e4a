#!/usr/bin/python3
"""Writes tests/fixtures/engine_parity.safetensors: a small composed forward computed by PyTorch,
its loss and the gradient of every input and parameter, for tests/test_parity.c to compare against
(that test needs no Python: the fixture is committed).

The computation (float64 throughout, from inputs rounded to float32 so both sides start from the
same numbers):

    h    = gelu(layer_norm(x @ w1 + b1; ln_g, ln_b, eps 1e-5))          x [B*T, D]  -> [B*T, H]
    h3   = h.view(B, T, H)
    q    = bmm(h3, wb)                        wb [B, H, H]: each batch element its own matrix
    att  = softmax(bmm(q, h3^T) / sqrt(H), causal mask [T, T])
    ctx  = bmm(att, h3).view(B*T, H)
    agg  = zeros(N_OUT, H).index_add_(0, idx, ctx)    scatter-add, repeated indices, one empty row
    loss = cross_entropy(agg @ w2 + b2, labels, ignore_index=-1)

Run with Debian's python3 (python3-torch): /usr/bin/python3 dev/parity_engine.py
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

import stio  # dev/stio.py: safetensors by hand

B, T, D, H, N_OUT, C = 2, 5, 6, 8, 7, 4
EPS = 1e-5
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "engine_parity.safetensors")


def f32(t):
    """Round to float32 values, held in float64."""
    return t.to(torch.float32).to(torch.float64)


def build():
    g = torch.Generator().manual_seed(20240611)
    normal = lambda *shape, std=1.0: f32(torch.randn(*shape, generator=g, dtype=torch.float64) * std)
    inputs = {
        "x": normal(B * T, D),
        "mask": torch.tril(torch.ones(T, T, dtype=torch.float64)),
        # rows 0..N_OUT-1 receive messages; row 4 none, row 1 four of them
        "idx": torch.tensor([1, 0, 1, 3, 2, 6, 1, 5, 1, 3], dtype=torch.int64),
        "labels": torch.tensor([2, 0, -1, 3, 1, 1, 0], dtype=torch.int64),
    }
    params = {
        "w1": normal(D, H, std=0.5),
        "b1": normal(H, std=0.1),
        "ln_g": f32(1.0 + 0.2 * torch.randn(H, generator=g, dtype=torch.float64)),
        "ln_b": normal(H, std=0.1),
        "wb": normal(B, H, H, std=0.4),
        "w2": normal(H, C, std=0.5),
        "b2": normal(C, std=0.1),
    }
    return inputs, params


def forward(inputs, p, x):
    h = x @ p["w1"] + p["b1"]
    h = F.gelu(F.layer_norm(h, (H,), p["ln_g"], p["ln_b"], eps=EPS))
    h3 = h.view(B, T, H)
    q = torch.bmm(h3, p["wb"])
    s = torch.bmm(q, h3.transpose(1, 2)) / math.sqrt(H)
    s = s.masked_fill(inputs["mask"] == 0, float("-inf"))
    att = torch.softmax(s, dim=-1)
    ctx = torch.bmm(att, h3).reshape(B * T, H)
    agg = torch.zeros(N_OUT, H, dtype=torch.float64).index_add(0, inputs["idx"], ctx)
    logits = agg @ p["w2"] + p["b2"]
    return F.cross_entropy(logits, inputs["labels"], ignore_index=-1)


def main():
    inputs, params = build()
    x = inputs["x"].clone().requires_grad_(True)
    p = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    loss = forward(inputs, p, x)
    loss.backward()
    tensors = [("x", inputs["x"]), ("mask", inputs["mask"]),
               ("idx", inputs["idx"].to(torch.float64)), ("labels", inputs["labels"].to(torch.float64))]
    tensors += [(k, v) for k, v in params.items()]
    tensors += [("loss", loss.detach().reshape(1)), ("grad.x", x.grad)]
    tensors += [("grad." + k, v.grad) for k, v in p.items()]
    meta = {"generator": "dev/parity_engine.py", "torch": torch.__version__, "dtype": "float64",
            "shapes": "B=%d T=%d D=%d H=%d N_OUT=%d C=%d eps=%g" % (B, T, D, H, N_OUT, C, EPS)}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    stio.write(OUT, tensors, meta)
    print("wrote %s: loss %.9f, %d tensors" % (os.path.relpath(OUT), loss.item(), len(tensors)), file=sys.stderr)


if __name__ == "__main__":
    main()
