#!/usr/bin/python3
"""Writes the two example task files (docs/tasks.md, "Your own task"), deterministically:

  poly.jsonl   y = a*x^2 + b*x for x in [-1, 1]; intent (a, b); an MLP target, loss mse.
               Train: a 5x5 grid of (a, b) in {-1, -0.5, 0, 0.5, 1}; OOD: three points off the grid,
               two between its points, one outside it.
  count.jsonl  how many of the 8 cells have colour c (colours 0..5); intent c; a Transformer
               target, loss ce. Train c in {1, 2, 3, 5}; OOD c = 4.

    /usr/bin/python3 examples/make_examples.py   # rewrites examples/*.jsonl
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, header, examples):
    path = os.path.join(HERE, name)
    with open(path + ".tmp", "w") as f:
        f.write(json.dumps(header) + "\n")
        for e in examples:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
    os.replace(path + ".tmp", path)
    print("%s: %d examples" % (path, len(examples)))


def poly(rng):
    grid = [-1, -0.5, 0, 0.5, 1]
    ood = [{"a": 0.25, "b": 0.75}, {"a": -0.75, "b": -0.25}, {"a": 1.5, "b": 0.5}]
    train = [{"a": a, "b": b} for a in grid for b in grid]
    header = {"task": "poly", "template": "mlp 1-32-32-1 act=tanh", "loss": "mse", "tolerance": 0.05,
              "intent": {"a": "number", "b": "number"}, "train": train, "ood": ood, "seed": 0}
    ex = []
    for u in train + ood:
        for x in rng.choice(np.arange(-1000, 1001), 100, replace=False) / 1000:   # distinct inputs per intent
            ex.append({"intent": u, "input": [float(x)], "output": [round(u["a"] * x * x + u["b"] * x, 6)]})
    write("poly.jsonl", header, ex)


def count(rng):
    train, ood = [1, 2, 3, 5], [4]
    header = {"task": "count", "template": "transformer vocab=6 len=8 d=16 heads=2 mlp=32 classes=9 layers=1 prenorm=1 readout=last act=relu",
              "loss": "ce", "intent": {"c": "number"}, "train": [{"c": c} for c in train], "ood": [{"c": c} for c in ood], "seed": 0}
    ex = []
    for c in train + ood:
        for _ in range(400):
            # the count of c spread evenly over 0..8 (uniform rows would make 1 and 2 most of the labels)
            k = int(rng.integers(0, 9))
            row = rng.choice([v for v in range(6) if v != c], 8)
            row[rng.permutation(8)[:k]] = c
            ex.append({"intent": {"c": c}, "input": [int(v) for v in row], "output": [k]})
    write("count.jsonl", header, ex)


if __name__ == "__main__":
    rng = np.random.default_rng(2026)
    poly(rng)
    count(rng)
