#!/usr/bin/python3
"""The PyTorch reference for make bench's Meta-GNN step: one training step (Meta-GNN forward ->
θ -> batched target execution -> loss -> backward -> clip_grad_norm_ -> AdamW) of the same model
as src/meta/metagnn.c, timed like bench/bench_meta.c (median of S steps after W warm-up steps),
on torch.set_num_threads(OMP_NUM_THREADS) CPU threads.

    /usr/bin/python3 dev/bench_metagnn_torch.py DIR [--warmup W] [--steps S] [--check-only] [TASK ...]

DIR holds <task>.safetensors written by `build/neurop-bench-meta --dump DIR`: the neural graph, the
template's tensor map, neurop's parameters at init and its first training batch, and in the
metadata the configuration and neurop's loss and gradient norm on that batch at init. This script
rebuilds the parameter shapes from the configuration alone (and checks that the count equals
neurop's), loads neurop's initial values, recomputes the loss and gradient norm on the same batch
(a check that both run the same model), then times training steps. Every timed step reuses that one
batch: the data pipeline is not what is measured (bench_meta.c times its sampling separately and
leaves it out of its step time too).

The model, written from the equations in src/meta/metagnn.c's header and src/program/exec.c:
  - rows slot-major, intent-minor (row = slot*B + b), so each group is a contiguous row range; a
    group-tied linear map is a loop over groups of torch.addmm on row slices, then torch.cat;
  - encoder h = LN(W2 relu(W_U U + W_p p + b1) + b2), W_p p + b1 computed once per slot;
  - k rounds: x_e = relu(W_e h_e + b + (W_s h)[src] + (W_t h)[dst]) = [u | m+ | m-] (the second add and
    the ReLU in place, as a PyTorch user would write it to spare two [E*B, 3d] buffers);
    h_e <- LN(h_e + u); a+ = mean over in-edges of m+, a- = mean over out-edges of m-
    (index_add_ over the slot axis, times 1/degree); h_v <- LN(h_v + MLP([h_v | a+ | a-]));
  - decoders per group, θ = raw[slot rows] * scale[tensor] + (1 for LayerNorm gains);
  - the target: MLP (baddbmm per layer) or a Transformer (embedding gather + positions, per-program
    q/k/v/o, softmax attention as [B*N*H, T, dh] bmm, MLP block, pre-LN or none, readout of the last
    position or of every position);
  - MSE or cross-entropy (ignore_index=-1); clip_grad_norm_ and torch.optim.AdamW with the run's clip,
    lr (constant: the schedule costs nothing) and weight decay, decay on the parameters named *.weight
    (as neurop's ParamSet), betas (0.9, 0.999), eps 1e-8.

Prints "torch_check task=... params=... loss0=... gnorm0=..." and "torch_step task=... ms=... ...".
Run with Debian's python3 (python3-torch, python3-numpy)."""
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402  (dev/stio.py: safetensors by hand)

EPS = 1e-5
TPL_INIT_GAIN = 2          # src/program/template.h: WEIGHT, BIAS, GAIN, EMBED


def read_safetensors(path):
    """{name: float32 tensor}, metadata (dev/stio.py reads the file)."""
    arrays, meta = stio.read(path)
    return {name: torch.from_numpy(np.array(a, dtype=np.float32)) for name, a in arrays.items()}, meta


def ints(t):
    return t.to(torch.int64)


ACTS = {"none": lambda x: x, "relu": torch.relu, "gelu": F.gelu, "tanh": torch.tanh, "silu": F.silu}


class MetaGNNStep:
    def __init__(self, path):
        T, meta = read_safetensors(path)
        self.meta = meta
        self.task = meta["task"]
        self.B, self.N = int(meta["B"]), int(meta["N"])
        self.d, self.K, self.F = int(meta["width"]), int(meta["rounds"]), int(meta["n_feat"])
        self.pe_dim = int(meta["pe_dim"])
        B = self.B
        # ---- the neural graph ----
        self.src, self.dst = ints(T["g.src"]), ints(T["g.dst"])
        node_seg, edge_seg = ints(T["g.node_seg"]).tolist(), ints(T["g.edge_seg"]).tolist()
        self.V, self.E = T["g.node_slot"].numel(), T["g.src"].numel()
        self.Gn, self.Ge = len(node_seg) - 1, len(edge_seg) - 1
        self.node_sizes = [node_seg[g + 1] - node_seg[g] for g in range(self.Gn)]
        self.edge_sizes = [edge_seg[g + 1] - edge_seg[g] for g in range(self.Ge)]
        self.node_rows = [s * B for s in self.node_sizes]        # row segments (row = slot*B + b)
        self.edge_rows = [s * B for s in self.edge_sizes]
        self.node_pe, self.edge_pe = T["g.node_pe"], T["g.edge_pe"]
        deg_in = torch.zeros(self.V).index_add_(0, self.dst, torch.ones(self.E))
        deg_out = torch.zeros(self.V).index_add_(0, self.src, torch.ones(self.E))
        self.inv_in = (1.0 / deg_in.clamp(min=1)).view(self.V, 1, 1)
        self.inv_out = (1.0 / deg_out.clamp(min=1)).view(self.V, 1, 1)
        node_slot, edge_slot = ints(T["g.node_slot"]), ints(T["g.edge_slot"])
        # ---- the template's tensors ----
        tt = T["tpl.tensors"]
        names = meta["tpl.names"].split(",")
        self.tensors = {}
        for k, name in enumerate(names):
            off, numel, s0, s1, init = (int(v) for v in tt[k].tolist())
            self.tensors[name] = (off, numel, (s0, s1) if s1 else (s0,), init)
        self.n_theta = sum(v[1] for v in self.tensors.values())
        offs = sorted((v[0], v[1]) for v in self.tensors.values())
        assert all(o == sum(n for _, n in offs[:i]) for i, (o, _) in enumerate(offs)), "θ tensors must tile θ"
        slot_row = torch.full((self.n_theta,), -1, dtype=torch.int64)   # θ index -> row of [nodes; edges]
        v = (node_slot >= 0).nonzero().view(-1)
        slot_row[node_slot[v]] = v
        e = (edge_slot >= 0).nonzero().view(-1)
        slot_row[edge_slot[e]] = self.V + e
        assert (slot_row >= 0).all(), "a θ index that no node or edge holds"
        self.slot_row = slot_row
        tensor_of = torch.empty(self.n_theta, dtype=torch.int64)
        offset = torch.zeros(self.n_theta)
        for k, name in enumerate(names):
            off, numel, _, init = self.tensors[name]
            tensor_of[off:off + numel] = k
            if init == TPL_INIT_GAIN:
                offset[off:off + numel] = 1.0
        self.tensor_of, self.offset = tensor_of, offset.view(1, -1)
        self.transformer = meta["transformer"] == "1"
        if self.transformer:
            kv = dict(x.split("=") for x in meta["tf"].split())
            self.tf = {k: int(v) for k, v in kv.items()}
            self.mlp_act = ACTS[meta["acts"]]
        else:
            self.widths = [int(x) for x in meta["widths"].split(",")]
            self.acts = [ACTS[a] for a in meta["acts"].split(",")]
        # ---- parameters: shapes from the configuration, values from neurop's init ----
        self.shapes = self.param_shapes()
        self.n_params = sum(math.prod(s) for _, s in self.shapes)
        self.P = {}
        for name, shape in self.shapes:
            t = T["p." + name]
            assert tuple(t.shape) == tuple(shape), "%s: neurop %s, here %s" % (name, tuple(t.shape), shape)
            self.P[name] = t.clone().requires_grad_(True)
        extra = [n for n in T if n.startswith("p.") and n[2:] not in self.P]
        assert not extra, "neurop has parameters this model lacks: %s" % extra
        # neurop's weight-decay flags (per view, in file order): the views named *.weight, as used below
        flags = dict(zip([n[2:] for n in T if n.startswith("p.")], meta["p.decay"].split(",")))
        for name, shape in self.shapes:
            assert (flags[name] == "1") == name.endswith(".weight"), "%s: neurop's weight decay flag differs" % name
        # ---- the batch ----
        self.feat = T["b.feat"]
        if self.transformer:
            self.tok = ints(T["b.tok"])
            self.lab = ints(T["b.lab"])
            V = self.tf["vocab"]
            # program b's embedding table is rows b*vocab .. of the stacked [B*vocab, d]
            self.emb_idx = (torch.arange(B).view(B, 1) * V + self.tok.view(B, -1)).view(-1)
        else:
            self.x = T["b.x"].view(B, self.N, -1)
            self.y = T["b.y"]
        self.loss0, self.gnorm0 = float(meta["loss0"]), float(meta["gnorm0"])

    def param_shapes(self):
        """Every parameter of metagnn.c with its shape, derived from the configuration."""
        d, F_, Gn, Ge, P = self.d, self.F, self.Gn, self.Ge, self.pe_dim
        p = []
        for part, G in (("node", Gn), ("edge", Ge)):
            p += [("enc.%s.pe.weight" % part, (G, P, d)), ("enc.%s.u.weight" % part, (F_, G * d)),
                  ("enc.%s.0.bias" % part, (G, d)), ("enc.%s.1.weight" % part, (G, d, d)), ("enc.%s.1.bias" % part, (G, d))]
        for k in range(self.K):
            p += [("mp.%d.src.weight" % k, (Gn, d, 3 * d)), ("mp.%d.dst.weight" % k, (Gn, d, 3 * d)),
                  ("mp.%d.edge.weight" % k, (Ge, d, 3 * d)), ("mp.%d.edge.bias" % k, (Ge, 3 * d)),
                  ("mp.%d.node.0.weight" % k, (Gn, 3 * d, d)), ("mp.%d.node.0.bias" % k, (Gn, d)),
                  ("mp.%d.node.1.weight" % k, (Gn, d, d)), ("mp.%d.node.1.bias" % k, (Gn, d))]
        for part, G in (("node", Gn), ("edge", Ge)):
            p += [("dec.%s.0.weight" % part, (G, d, d)), ("dec.%s.0.bias" % part, (G, d)),
                  ("dec.%s.1.weight" % part, (G, d, 1)), ("dec.%s.1.bias" % part, (G, 1))]
        p.append(("head.scale", (len(self.tensors), 1)))
        return p

    # ---------------- Meta-GNN ----------------
    @staticmethod
    def tied(x, W, b, rows):
        """Group-tied linear map: rows of x split into contiguous group ranges, range g times W[g] (+ b[g]).
        split/unbind (one backward op each) rather than x[r0:r1] and W[g] (a zero-filled full-size
        gradient per group)."""
        parts, Ws = x.split(rows, 0), W.unbind(0)
        if b is None:
            return torch.cat([torch.mm(xs, w) for xs, w in zip(parts, Ws)], 0)
        return torch.cat([torch.addmm(bg, xs, w) for xs, w, bg in zip(parts, Ws, b.unbind(0))], 0)

    def tied_mlp(self, prefix, x, rows):
        P = self.P
        z = torch.relu(self.tied(x, P[prefix + ".0.weight"], P[prefix + ".0.bias"], rows))
        return self.tied(z, P[prefix + ".1.weight"], P[prefix + ".1.bias"], rows)

    def encode(self, part, pe, sizes, rows, n):
        P, B, d = self.P, self.B, self.d
        G = len(sizes)
        ps = self.tied(pe, P["enc.%s.pe.weight" % part], P["enc.%s.0.bias" % part], sizes)       # [n, d] per slot
        pu = (self.feat @ P["enc.%s.u.weight" % part]).view(B, G, d).transpose(0, 1)            # [G, B, d] per intent
        pu = pu.repeat_interleave(torch.tensor(sizes), dim=0, output_size=n)                    # [n, B, d]
        z = torch.relu(ps.unsqueeze(1) + pu).reshape(n * B, d)
        return F.layer_norm(self.tied(z, P["enc.%s.1.weight" % part], P["enc.%s.1.bias" % part], rows), (d,), eps=EPS)

    def generate(self):
        P, B, d, V, E = self.P, self.B, self.d, self.V, self.E
        hv = self.encode("node", self.node_pe, self.node_sizes, self.node_rows, V)          # [V*B, d]
        he = self.encode("edge", self.edge_pe, self.edge_sizes, self.edge_rows, E)          # [E*B, d]
        for k in range(self.K):
            p = "mp.%d." % k
            xs = self.tied(hv, P[p + "src.weight"], None, self.node_rows).view(V, B, 3 * d).index_select(0, self.src)
            xt = self.tied(hv, P[p + "dst.weight"], None, self.node_rows).view(V, B, 3 * d).index_select(0, self.dst)
            xe = self.tied(he, P[p + "edge.weight"], P[p + "edge.bias"], self.edge_rows).view(E, B, 3 * d)
            u, mp, mm = (xe + xs).add_(xt).relu_().split(d, -1)                             # [E, B, 3d] = [u | m+ | m-]
            a_in = torch.zeros(V, B, d).index_add_(0, self.dst, mp) * self.inv_in
            a_out = torch.zeros(V, B, d).index_add_(0, self.src, mm) * self.inv_out
            he_new = F.layer_norm(he + u.reshape(E * B, d), (d,), eps=EPS)
            cat = torch.cat([hv, a_in.view(V * B, d), a_out.view(V * B, d)], 1)
            hv = F.layer_norm(hv + self.tied_mlp(p + "node", cat, self.node_rows), (d,), eps=EPS)
            he = he_new
        raw = torch.cat([self.tied_mlp("dec.node", hv, self.node_rows), self.tied_mlp("dec.edge", he, self.edge_rows)], 0)
        raw = raw.view(V + E, B).index_select(0, self.slot_row).t()                          # [B, n_theta]
        scale = P["head.scale"].view(-1).index_select(0, self.tensor_of).view(1, -1)
        return raw * scale + self.offset

    # ---------------- the target execution ----------------
    def views(self, theta):
        """Every template tensor of every program: [B, out, in] matrices, [B, 1, n] vectors (one split,
        so the backward is one cat rather than a zero-filled [B, |θ|] per tensor)."""
        names = sorted(self.tensors, key=lambda n: self.tensors[n][0])
        out = {}
        for name, v in zip(names, theta.split([self.tensors[n][1] for n in names], 1)):
            shape = self.tensors[name][2]
            out[name] = v.reshape(self.B, *shape) if len(shape) == 2 else v.reshape(self.B, 1, shape[0])
        return out

    def linear(self, theta, x, prefix):
        return torch.baddbmm(theta[prefix + ".bias"], x, theta[prefix + ".weight"].transpose(1, 2))

    def norm(self, theta, x, prefix):
        if not self.tf["prenorm"]:
            return x
        return F.layer_norm(x, (x.shape[-1],), eps=EPS) * theta[prefix + ".weight"] + theta[prefix + ".bias"]

    def exec_transformer(self, theta):
        B, N, tf = self.B, self.N, self.tf
        L, d, H = tf["len"], tf["d"], tf["heads"]
        dh = d // H
        E = theta["embed.weight"].reshape(B * tf["vocab"], d)
        x = E.index_select(0, self.emb_idx).view(B, N, L, d) + theta["pos.weight"].view(B, 1, L, d)
        x = x.view(B, N * L, d)

        def split(t):   # [B, N*L, d] -> [B*N*H, L, dh]
            return t.view(B * N, L, H, dh).transpose(1, 2).reshape(B * N * H, L, dh)

        for l in range(tf["layers"]):
            h = self.norm(theta, x, "layers.%d.ln1" % l)
            q, k, v = (split(self.linear(theta, h, "layers.%d.attn.%s" % (l, c))) for c in "qkv")
            a = torch.softmax(torch.bmm(q, k.transpose(1, 2)) * (1.0 / math.sqrt(dh)), -1)
            ctx = torch.bmm(a, v).view(B * N, H, L, dh).transpose(1, 2).reshape(B, N * L, d)
            x = x + self.linear(theta, ctx, "layers.%d.attn.o" % l)
            h = self.norm(theta, x, "layers.%d.ln2" % l)
            h = self.linear(theta, self.mlp_act(self.linear(theta, h, "layers.%d.mlp.fc1" % l)), "layers.%d.mlp.fc2" % l)
            x = x + h
        x = self.norm(theta, x, "ln_f")
        if tf["readout_last"]:
            x = x.view(B * N, L, d)[:, L - 1, :].reshape(B, N, d)
        return self.linear(theta, x, "unembed")

    def exec_mlp(self, theta):
        h = self.x
        for l in range(len(self.widths) - 1):
            h = self.acts[l](self.linear(theta, h, "layers.%d" % l))
        return h

    def loss(self):
        theta = self.views(self.generate())
        if self.transformer:
            logits = self.exec_transformer(theta)
            return F.cross_entropy(logits.reshape(-1, self.tf["classes"]), self.lab, ignore_index=-1)
        return F.mse_loss(self.exec_mlp(theta).reshape(-1), self.y)


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def bench(path, warmup, steps, check_only):
    m = MetaGNNStep(path)
    params = [m.P[n] for n, _ in m.shapes]
    # the check: same parameters, same batch -> the same loss and gradient norm as neurop
    loss = m.loss()
    loss.backward()
    gnorm = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params))
    rel_l = abs(loss.item() - m.loss0) / max(abs(m.loss0), 1e-12)
    rel_g = abs(gnorm - m.gnorm0) / max(abs(m.gnorm0), 1e-12)
    print("torch_check task=%s params=%d neurop_params=%s loss0=%.7g neurop_loss0=%.7g rel=%.1e gnorm0=%.7g neurop_gnorm0=%.7g rel=%.1e %s"
          % (m.task, m.n_params, m.meta["n_params"], loss.item(), m.loss0, rel_l, gnorm, m.gnorm0, rel_g,
             "ok" if m.n_params == int(m.meta["n_params"]) and rel_l < 1e-3 and rel_g < 1e-3 else "MISMATCH"))
    sys.stdout.flush()
    if check_only:
        return
    for p in params:
        p.grad = None
    decay = [m.P[n] for n, s in m.shapes if n.endswith(".weight")]
    no_decay = [m.P[n] for n, s in m.shapes if not n.endswith(".weight")]
    cfg = dict(kv.split("=", 1) for kv in m.meta["config"].split(" template=")[0].split())
    lr, wd, clip = float(cfg["lr"]), float(cfg["wd"]), float(cfg["clip"])
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)
    tt, tf, tb, to = [], [], [], []
    for i in range(warmup + steps):
        if i == warmup:
            faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = m.loss()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        t3 = time.perf_counter()
        assert math.isfinite(loss.item())
        if i >= warmup:
            tt.append(t3 - t0); tf.append(t1 - t0); tb.append(t2 - t1); to.append(t3 - t2)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / steps
    print("torch_step task=%s ms=%.3f min_ms=%.3f fwd_ms=%.3f bwd_ms=%.3f opt_ms=%.3f faults=%.0f steps=%d"
          % (m.task, 1e3 * median(tt), 1e3 * min(tt), 1e3 * median(tf), 1e3 * median(tb), 1e3 * median(to), faults, steps))
    sys.stdout.flush()


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        raise SystemExit(__doc__.split("\n\n")[1])
    d = args.pop(0)
    warmup, steps, check_only, tasks = 5, None, False, []
    while args:
        a = args.pop(0)
        if a == "--warmup":
            warmup = int(args.pop(0))
        elif a == "--steps":
            steps = int(args.pop(0))
        elif a == "--check-only":
            check_only = True
        else:
            tasks.append(a)
    tasks = tasks or ["sumfirst", "addmod", "arc"]
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    print("torch_threads %d (torch %s, interop %d)" % (torch.get_num_threads(), torch.__version__, torch.get_num_interop_threads()))
    for t in tasks:
        bench(os.path.join(d, t + ".safetensors"), warmup, steps if steps else (10 if t == "arc" else 20), check_only)


if __name__ == "__main__":
    main()
