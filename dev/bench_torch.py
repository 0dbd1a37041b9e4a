#!/usr/bin/python3
"""The reference for make bench: one training step (forward + backward + AdamW) of the same MLP as
bench/bench.c (64 -> 256 -> 256 -> 10, ReLU, batch 256, cross-entropy, AdamW lr 1e-3, decay 0.01),
in PyTorch on the CPU with torch.set_num_threads(OMP_NUM_THREADS). Timed like bench.c: the best of
7 samples, each repeating the step for at least 40 ms. Prints "mlp_step_ms <ms> ..." for
scripts/bench.sh. Run with Debian's python3 (python3-torch)."""
import os
import time

import torch

B, DIN, H, DOUT = 256, 64, 256, 10


def time_per_call(fn):
    fn(); fn()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        if time.perf_counter() - t0 >= 0.04 or reps >= 1 << 20:
            break
        reps *= 2
    samples = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t0) / reps)
    return min(samples)


def main():
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(DIN, H), torch.nn.ReLU(), torch.nn.Linear(H, H), torch.nn.ReLU(),
                                torch.nn.Linear(H, DOUT))
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
    x = torch.randn(B, DIN)
    y = torch.randint(0, DOUT, (B,))
    state = {}

    def step():
        opt.zero_grad(set_to_none=False)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        state["loss"] = loss.item()

    t = time_per_call(step)
    print("torch_threads %d (torch %s, interop %d)" % (torch.get_num_threads(), torch.__version__, torch.get_num_interop_threads()))
    print("mlp_step_ms %.4f  (torch MLP %d-%d-%d-%d, batch %d, fwd+bwd+AdamW; loss %.4f)" % (t * 1e3, DIN, H, H, DOUT, B, state["loss"]))


if __name__ == "__main__":
    main()
