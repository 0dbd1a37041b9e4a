#!/usr/bin/python3
"""Compares two reproductions of one commit trained at different roundings (another BLAS kernel,
thread count or machine): are their numbers the same within the seed spread?

    dev/compare_reproductions.py A B        A, B: `neurop reproduce --out` folders (or their runs/)

Reads every finished run's eval.json (nothing else) and prints, per model (task, method) with at
least one seed finished in both, over the seeds finished in both:
  - IID and OOD exact match, mean ± std over seeds (sample std), in A and in B;
  - Δ OOD = mean B − mean A, and the seed spread: the two OOD stds pooled, √((s_A² + s_B²)/2);
  - "within" when |Δ OOD| ≤ spread, "outside" otherwise; with fewer than 3 seeds a spread says
    little (two seeds of a model at chance can agree to 0.001), so the verdict is "n/a" there
    unless every seed's OOD is the same at both roundings;
  - how many seeds trained the same run (same best validation at the same step: the rounding
    did not change the path), and the largest per-seed |Δ OOD|.
Exits 2 on a bad argument, 1 when the two share no finished run. Standard library only.
"""
import json
import math
import os
import sys

TASKS = ["sumfirst", "addmod", "arc"]          # the report's order; study variants after them
METHODS = ["direct", "mlp", "gmlp", "gnn"]


def runs(folder):
    """{(task, method, seed): eval.json} for the finished runs of a reproduction folder."""
    d = os.path.join(folder, "runs") if os.path.isdir(os.path.join(folder, "runs")) else folder
    if not os.path.isdir(d):
        sys.exit("compare_reproductions: %s: not a folder" % folder)
    out = {}
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name, "eval.json")
        if not os.path.isfile(p):
            continue
        try:
            with open(p, encoding="utf-8") as f:
                e = json.load(f)
            key = (e["task"], e["method"], int(e["seed"]))
            e["iid"], e["ood"], e["best_val"], e["best_step"]
        except (OSError, ValueError, KeyError, TypeError) as x:
            sys.exit("compare_reproductions: %s: not a run's eval.json (%s)" % (p, x))
        if name.startswith(("scale-", "ablate-")):
            key = (name.rsplit("-s", 1)[0], e["method"], int(e["seed"]))  # a study variant is its own model
        out[key] = e
    return out


def mean_std(xs):
    m = sum(xs) / len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else float("nan")
    return m, s


def compare(a, b):
    """Rows of the comparison: one dict per model present in both."""
    order = lambda m: (TASKS.index(m[0]) if m[0] in TASKS else len(TASKS), m[0],
                       METHODS.index(m[1]) if m[1] in METHODS else len(METHODS), m[1])
    models = sorted({k[:2] for k in a} & {k[:2] for k in b}, key=order)
    rows = []
    for task, method in models:
        seeds = sorted(k[2] for k in a if k[:2] == (task, method) and k in b)
        ea = [a[(task, method, s)] for s in seeds]
        eb = [b[(task, method, s)] for s in seeds]
        if not seeds:
            continue
        iid_a, iid_b = mean_std([e["iid"] for e in ea]), mean_std([e["iid"] for e in eb])
        ood_a, ood_b = mean_std([e["ood"] for e in ea]), mean_std([e["ood"] for e in eb])
        delta = ood_b[0] - ood_a[0]
        same = sum(x["best_val"] == y["best_val"] and x["best_step"] == y["best_step"] for x, y in zip(ea, eb))
        spread = math.sqrt((ood_a[1] ** 2 + ood_b[1] ** 2) / 2) if len(seeds) > 1 else float("nan")
        if all(x["ood"] == y["ood"] for x, y in zip(ea, eb)):
            verdict = "within"
        elif len(seeds) < 3:
            verdict = "n/a"
        else:
            verdict = "within" if abs(delta) <= spread else "outside"
        rows.append(dict(task=task, method=ea[0].get("method_name", method), seeds=seeds, iid_a=iid_a,
                         iid_b=iid_b, ood_a=ood_a, ood_b=ood_b, delta=delta, spread=spread,
                         verdict=verdict, same=same,
                         max_seed=max(abs(x["ood"] - y["ood"]) for x, y in zip(ea, eb))))
    return rows


def fmt(ms):
    return "%.3f" % ms[0] if math.isnan(ms[1]) else "%.3f ± %.3f" % ms


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    a, b = runs(argv[1]), runs(argv[2])
    machine = lambda r: next(iter(r.values()))["machine"] if r else "(no finished run)"
    print("A: %s\n   %s\nB: %s\n   %s\n" % (argv[1], machine(a), argv[2], machine(b)))
    rows = compare(a, b)
    if not rows:
        print("no run finished in both")
        return 1
    print("| task | method | seeds | IID A | IID B | OOD A | OOD B | Δ OOD | spread | | same runs | largest seed Δ |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s = r["seeds"]
        seeds = "%d (%d-%d)" % (len(s), s[0], s[-1]) if len(s) > 1 else "1 (%d)" % s[0]
        print("| %s | %s | %s | %s | %s | %s | %s | %+.3f | %s | %s | %d of %d | %.3f |" % (
            r["task"], r["method"], seeds, fmt(r["iid_a"]), fmt(r["iid_b"]), fmt(r["ood_a"]), fmt(r["ood_b"]),
            r["delta"], "–" if math.isnan(r["spread"]) else "%.3f" % r["spread"], r["verdict"], r["same"], len(s),
            r["max_seed"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
