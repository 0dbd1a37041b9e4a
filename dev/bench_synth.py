#!/usr/bin/python3
"""Times synthesis of one program through build/libneurop.so: the C call alone, and the Python
layers on top of it (docs/python.md records the figures).

    /usr/bin/python3 dev/bench_synth.py RUN_DIR [INTENT]

  C synth      neurop_synth called through ctypes with a preallocated buffer, minus the ctypes
               cost of a call (measured on neurop_n_theta, which does nothing): the C time
  Run.theta    the flat θ as a numpy array (what Python adds: buffer, argument conversion)
  Run.synth    a dict of named numpy views
  Run.program  the torch.nn.Module, weights loaded with strict=True
Medians over repeated calls after a warm-up (the first call pays for the evaluation arena)."""
import ctypes
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import numpy as np  # noqa: E402

import neurop  # noqa: E402


def median_us(f, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return 1e6 * statistics.median(ts)


def main():
    run_dir = sys.argv[1]
    intent = sys.argv[2] if len(sys.argv) > 2 else "p=83"
    run = neurop.Run(run_dir)
    lib, h = run._lib, run._h
    th = np.empty(run.n_theta, dtype=np.float32)
    ptr = th.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    err, canon, ood = ctypes.create_string_buffer(512), ctypes.create_string_buffer(64), ctypes.c_int()
    enc = intent.encode()
    raw = lambda: lib.neurop_synth(h, enc, ptr, run.n_theta, canon, 64, ctypes.byref(ood), err, 512)  # noqa: E731
    t0 = time.perf_counter()
    raw()
    first = 1e6 * (time.perf_counter() - t0)
    for _ in range(20):
        raw()
    n = 2000
    nop = median_us(lambda: lib.neurop_n_theta(h), n)
    c = median_us(raw, n)
    rows = [("first call (cold arena)", first), ("ctypes call overhead (neurop_n_theta)", nop), ("C synth (neurop_synth - overhead)", c - nop),
            ("Run.theta(intent)", median_us(lambda: run.theta(intent), n)), ("Run.synth(intent)", median_us(lambda: run.synth(intent), n))]
    # What the Python layer adds, free of the machine's drift: each Run.synth call timed right
    # after a raw call, the median of the differences.
    diffs = []
    for _ in range(n):
        a = time.perf_counter(); raw(); b = time.perf_counter(); run.synth(intent); c2 = time.perf_counter()
        diffs.append((c2 - b) - (b - a))
    rows.append(("Run.synth - raw call (paired)", 1e6 * statistics.median(diffs)))
    try:
        import torch  # noqa: F401
        torch.set_num_threads(1)
        rows.append(("Run.program(intent)", median_us(lambda: run.program(intent), 200)))
    except ImportError:
        pass
    print("%s (%s, %s), intent %s, |theta| = %d, OMP_NUM_THREADS=%s" % (run_dir, run.task, run.method, intent, run.n_theta,
                                                                      os.environ.get("OMP_NUM_THREADS", "(unset)")))
    for name, us in rows:
        print("  %-40s %9.1f us" % (name, us))


if __name__ == "__main__":
    main()
