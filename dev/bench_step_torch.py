#!/usr/bin/python3
"""The PyTorch reference for make bench: one training step of the Meta-GNN (src/meta/metagnn.c) or
of the direct baseline (src/meta/direct.c) on the shipped defaults of a task, timed like
bench/bench_meta.c (median of S steps after W warm-up steps), on torch.set_num_threads(OMP_NUM_THREADS)
CPU threads.

    /usr/bin/python3 dev/bench_step_torch.py DIR [--warmup W] [--steps S] [--check-only] [TASK.METHOD ...]

DIR holds <task>.<method>.safetensors written by `build/neurop-bench-meta --dump DIR`: the neural
graph and the index tables of the learned codes and the θ head (Meta-GNN), the tensor map of the
network that runs, neurop's parameters at init and its first training batch, and in the metadata the
configuration and neurop's loss and gradient norm on that batch at init. This script rebuilds the
parameter shapes from the configuration alone (and checks that the count equals neurop's), loads
neurop's initial values, recomputes the loss and gradient norm on the same batch (a check that both
run the same model), then times training steps (zero grads, forward, loss, backward,
clip_grad_norm_, AdamW). Every timed step reuses that one batch: the data pipeline is not what is
measured (bench_meta.c times its sampling separately and leaves it out of its step time too).

Meta-GNN, written from the equations in src/meta/metagnn.c's header, src/meta/meta.c and
src/program/exec.c:
  - rows slot-major, intent-minor (row = slot*B + b), so each group is a contiguous row range; a
    group-tied linear map is a loop over groups of torch.addmm on row slices, then torch.cat;
  - encoder h = LN(W2 relu(W_U U + W_p p + b1 [+ c]) + b2), W_p p + b1 [+ c] computed once per slot; with
    learned codes (pe 3, 4) c is the slot's two code-table rows added (3) or multiplied (4); with
    the intent MLP (imlp=H) the encoders read U' = W4 relu(W3 U + b3) + b4 (16 features) for U;
  - k rounds: x_e = relu(W_e h_e + b + (W_s h)[src] + (W_t h)[dst]) = [u | m+ | m-] (the second add and
    the ReLU in place, as a PyTorch user would write it to spare two [E*B, 3d] buffers);
    h_e <- LN(h_e + u); a+ = mean over in-edges of m+, a- = mean over out-edges of m-
    (index_add_ over the slot axis, times 1/degree); h_v <- LN(h_v + MLP([h_v | a+ | a-]));
  - decoders per group, then the θ head: head 0 raw * scale[tensor]; head 1 also centred per tensor
    and intent plus a per-tensor mean linear in U (head.mean.w U + head.mean.b); head 2 also each
    matrix's row means and column means removed (index_add_ segment means); head 3 then also each
    tensor of each program divided by its root mean square, and the common term on vectors only;
    + 1 for LayerNorm gains;
  - the target: MLP (baddbmm per layer) or a Transformer (embedding gather + positions, per-program
    q/k/v/o, softmax attention as [B*N*H, T, dh] bmm, MLP block, pre-LN or none, readout of the last
    position or of every position).
direct: the same target code on one program (F.linear, F.layer_norm with the net's own gains), over
all B*N examples: an MLP reads [x | U]; a Transformer reads the intent tokens prepended to the input
(the intent positions' logits dropped before the loss; here before the unembedding, which neurop
does after it: a few per cent fewer FLOPs on the torch side).
Loss: MSE or cross-entropy (ignore_index=-1); clip_grad_norm_ and torch.optim.AdamW with the run's
clip, lr (constant: the schedule costs nothing) and weight decay on the parameters neurop decays
(its per-view flags, checked against the rule "named *.weight"), betas (0.9, the run's beta2), eps 1e-8.
Flush-to-zero is on (torch.set_flush_denormal), as neurop runs.

Prints "torch_check task=... method=... ... ok|KINK|MISMATCH" and "torch_step task=... method=... ms=...".
Exit status 0 (all ok), 1 (a mismatch), 3 (no mismatch, but some gradient check met a ReLU within
rounding of its kink, relu_margin < 1e-5 of its tensor's RMS: that batch decides nothing).
Run with Debian's python3 (python3-torch, python3-numpy)."""
import ctypes
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
PE_CODES = (3, 4)          # src/meta/meta.h: PE_ONEHOT (codes added), PE_PRODUCT (multiplied)
HEAD_RMS_EPS = 1e-4        # src/meta/meta.c, theta_head: head 3's op_segment_rmsnorm
IMLP_OUT = 16              # src/meta/metagnn.c: the intent MLP's outputs, what the encoders read


def read_safetensors(path):
    """{name: float32 tensor} (in file order), metadata (dev/stio.py reads the file)."""
    arrays, meta = stio.read(path)
    return {name: torch.from_numpy(np.array(a, dtype=np.float32)) for name, a in arrays.items()}, meta


def ints(t):
    return t.to(torch.int64)


# The smallest |pre-activation| / RMS of its tensor met by any ReLU of the last forward: a gradient
# compared at a point where some ReLU sits within rounding of its kink is not determined by the
# math (neurop's float32 and this rebuild may take either side), so such a batch proves nothing.
KINK = {"margin": float("inf"), "on": False}   # on: only during the check's forward, never in timed steps
KINK_TOL = 1e-5


def relu(x):
    if not KINK["on"]:
        return torch.relu(x)
    with torch.no_grad():
        a = x.detach().abs()
        rms = float(a.pow(2).mean().sqrt()) if a.numel() else 0.0
        if rms > 0:
            KINK["margin"] = min(KINK["margin"], float(a.min()) / rms)
    return torch.relu(x)


ACTS = {"none": lambda x: x, "relu": relu, "gelu": F.gelu, "tanh": torch.tanh, "silu": F.silu}


class Step:
    """What both models share: the dump, the template's tensor map, the target execution, the batch."""

    def __init__(self, path):
        T, meta = read_safetensors(path)
        self.T, self.meta = T, meta
        self.task, self.method = meta["task"], meta["method"]
        self.B, self.N = int(meta["B"]), int(meta["N"])
        self.F = int(meta["n_feat"])
        tt = T["tpl.tensors"]
        self.names = meta["tpl.names"].split(",")
        self.tensors = {}
        for k, name in enumerate(self.names):
            off, numel, s0, s1, init = (int(v) for v in tt[k].tolist())
            self.tensors[name] = (off, numel, (s0, s1) if s1 else (s0,), init)
        self.n_theta = sum(v[1] for v in self.tensors.values())
        offs = sorted((v[0], v[1]) for v in self.tensors.values())
        assert all(o == sum(n for _, n in offs[:i]) for i, (o, _) in enumerate(offs)), "θ tensors must tile θ"
        self.transformer = meta["transformer"] == "1"
        if self.transformer:
            kv = dict(x.split("=") for x in meta["tf"].split())
            self.tf = {k: int(v) for k, v in kv.items()}
            self.mlp_act = ACTS[meta["acts"]]
        else:
            self.widths = [int(x) for x in meta["widths"].split(",")]
            self.acts = [ACTS[a] for a in meta["acts"].split(",")]
        self.feat = T["b.feat"]
        if self.transformer:
            self.tok = ints(T["b.tok"])
            self.lab = ints(T["b.lab"])
        else:
            self.x = T["b.x"]
            self.y = T["b.y"]
        self.loss0, self.gnorm0 = float(meta["loss0"]), float(meta["gnorm0"])
        self.cfg = dict(kv.split("=", 1) for kv in meta["config"].split(" template=")[0].split())

    def load_params(self, shapes):
        """Parameters with the shapes derived here, values from neurop's init; neurop's weight-decay flags."""
        T, meta = self.T, self.meta
        self.shapes = shapes
        self.n_params = sum(math.prod(s) for _, s in shapes)
        self.P = {}
        for name, shape in shapes:
            t = T["p." + name]
            assert tuple(t.shape) == tuple(shape), "%s: neurop %s, here %s" % (name, tuple(t.shape), shape)
            self.P[name] = t.clone().requires_grad_(True)
        extra = [n for n in T if n.startswith("p.") and n[2:] not in self.P]
        assert not extra, "neurop has parameters this model lacks: %s" % extra
        flags = dict(zip([n[2:] for n in T if n.startswith("p.")], meta["p.decay"].split(",")))
        self.decay = {name: flags[name] == "1" for name, _ in shapes}
        for name, _ in shapes:
            assert self.decay[name] == name.endswith(".weight"), "%s: neurop's weight decay flag differs" % name

    # ---------------- the target execution (src/program/exec.c) ----------------
    def linear(self, theta, x, prefix):
        w, b = theta[prefix + ".weight"], theta[prefix + ".bias"]
        if w.dim() == 2:                 # one program (direct)
            return F.linear(x, w, b)
        return torch.baddbmm(b, x, w.transpose(1, 2))

    def norm(self, theta, x, prefix):
        if not self.tf["prenorm"]:
            return x
        w, b = theta[prefix + ".weight"], theta[prefix + ".bias"]
        if w.dim() == 1:
            return F.layer_norm(x, (x.shape[-1],), w, b, eps=EPS)
        return F.layer_norm(x, (x.shape[-1],), eps=EPS) * w + b

    def exec_transformer(self, theta, emb_idx, B, N, drop=0):
        """Programs b < B, each on N inputs of L tokens (emb_idx: rows of the stacked [B*vocab, d]
        embedding) -> logits [B*N*L', classes] (L' = 1 when reading out the last position, else L - drop)."""
        tf = self.tf
        L, d, H = tf["len"], tf["d"], tf["heads"]
        dh = d // H
        E = theta["embed.weight"].reshape(B * tf["vocab"], d)
        x = E.index_select(0, emb_idx).view(B, N, L, d) + theta["pos.weight"].view(B, 1, L, d)
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
        elif drop:
            x = x.view(B * N, L, d)[:, drop:, :].reshape(B, N * (L - drop), d)
        return self.linear(theta, x, "unembed").reshape(-1, tf["classes"])

    def exec_mlp(self, theta, h):
        for l in range(len(self.widths) - 1):
            h = self.acts[l](self.linear(theta, h, "layers.%d" % l))
        return h

    def task_loss(self, out):
        if self.transformer:
            return F.cross_entropy(out, self.lab, ignore_index=-1)
        return F.mse_loss(out.reshape(-1), self.y)


class MetaGNNStep(Step):
    def __init__(self, path):
        super().__init__(path)
        T, meta, B = self.T, self.meta, self.B
        self.d, self.K = int(meta["width"]), int(meta["rounds"])
        self.pe_dim, self.pe, self.head = int(meta["pe_dim"]), int(meta["pe"]), int(meta["head"])
        assert self.cfg["tie"] == "1", "the tied Meta-GNN only"
        self.base = self.cfg.get("base", "0") == "1"  # θ₀ beside the generated program (head.c)
        self.imlp = int(self.cfg.get("imlp", "0"))      # the intent MLP's hidden width (0: none)
        assert self.head in (0, 1, 2, 3), "θ head %d: this script knows heads 0 to 3" % self.head
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
        if self.pe in PE_CODES:   # each slot's two rows of its encoder's code table
            self.code_row = {"node": ints(T["g.node_code_row"]).view(self.V, 2), "edge": ints(T["g.edge_code_row"]).view(self.E, 2)}
            self.code_rows = {p: int(r.max()) + 1 for p, r in self.code_row.items()}
        deg_in = torch.zeros(self.V).index_add_(0, self.dst, torch.ones(self.E))
        deg_out = torch.zeros(self.V).index_add_(0, self.src, torch.ones(self.E))
        self.inv_in = (1.0 / deg_in.clamp(min=1)).view(self.V, 1, 1)
        self.inv_out = (1.0 / deg_out.clamp(min=1)).view(self.V, 1, 1)
        node_slot, edge_slot = ints(T["g.node_slot"]), ints(T["g.edge_slot"])
        # ---- θ index -> row of [nodes; edges], tensor, offset ----
        slot_row = torch.full((self.n_theta,), -1, dtype=torch.int64)
        v = (node_slot >= 0).nonzero().view(-1)
        slot_row[node_slot[v]] = v
        e = (edge_slot >= 0).nonzero().view(-1)
        slot_row[edge_slot[e]] = self.V + e
        assert (slot_row >= 0).all(), "a θ index that no node or edge holds"
        self.slot_row = slot_row
        tensor_of = torch.empty(self.n_theta, dtype=torch.int64)
        offset = torch.zeros(self.n_theta)
        is_vector = torch.zeros(self.n_theta, 1)  # head 3: only vectors keep the intent-linear common term
        for k, name in enumerate(self.names):
            off, numel, shape, init = self.tensors[name]
            tensor_of[off:off + numel] = k
            is_vector[off:off + numel] = float(len(shape) == 1)
            if init == TPL_INIT_GAIN:
                offset[off:off + numel] = 1.0
        self.tensor_of, self.offset, self.is_vector = tensor_of, offset.view(1, -1), is_vector
        # ---- the θ head's segment means: (ids, 1/count) per kind of segment ----
        def segments(ids):
            n = int(ids.max()) + 1
            return ids, (1.0 / torch.zeros(n).index_add_(0, ids, torch.ones(ids.numel()))).view(n, 1)
        self.seg = {"tensor": segments(tensor_of)}
        if self.head >= 2:
            self.seg["row"] = segments(ints(T["head.row_of"]))
            self.seg["col"] = segments(ints(T["head.col_of"]))
        if self.transformer:   # program b's embedding table is rows b*vocab .. of the stacked [B*vocab, d]
            self.emb_idx = (torch.arange(B).view(B, 1) * self.tf["vocab"] + self.tok.view(B, -1)).view(-1)
        self.load_params(self.param_shapes())

    def param_shapes(self):
        """Every parameter of metagnn.c with its shape, derived from the configuration."""
        d, F_, Gn, Ge, P = self.d, self.F, self.Gn, self.Ge, self.pe_dim
        p = []
        Fe = F_   # what the encoders read: U, or the intent MLP's IMLP_OUT outputs
        if self.imlp:   # declared first; one set of weights (G = 1)
            p += [("imlp.0.weight", (1, F_, self.imlp)), ("imlp.0.bias", (1, self.imlp)),
                  ("imlp.1.weight", (1, self.imlp, IMLP_OUT)), ("imlp.1.bias", (1, IMLP_OUT))]
            Fe = IMLP_OUT
        for part, G in (("node", Gn), ("edge", Ge)):
            p += [("enc.%s.pe.weight" % part, (G, P, d)), ("enc.%s.u.weight" % part, (Fe, G * d)),
                  ("enc.%s.0.bias" % part, (G, d)), ("enc.%s.1.weight" % part, (G, d, d)), ("enc.%s.1.bias" % part, (G, d))]
        if self.pe in PE_CODES:
            p += [("enc.%s.code" % part, (self.code_rows[part], d)) for part in ("node", "edge")]
        for k in range(self.K):
            p += [("mp.%d.src.weight" % k, (Gn, d, 3 * d)), ("mp.%d.dst.weight" % k, (Gn, d, 3 * d)),
                  ("mp.%d.edge.weight" % k, (Ge, d, 3 * d)), ("mp.%d.edge.bias" % k, (Ge, 3 * d)),
                  ("mp.%d.node.0.weight" % k, (Gn, 3 * d, d)), ("mp.%d.node.0.bias" % k, (Gn, d)),
                  ("mp.%d.node.1.weight" % k, (Gn, d, d)), ("mp.%d.node.1.bias" % k, (Gn, d))]
        for part, G in (("node", Gn), ("edge", Ge)):
            p += [("dec.%s.0.weight" % part, (G, d, d)), ("dec.%s.0.bias" % part, (G, d)),
                  ("dec.%s.1.weight" % part, (G, d, 1)), ("dec.%s.1.bias" % part, (G, 1))]
        p.append(("head.scale", (len(self.tensors), 1)))
        if self.base:
            p.append(("head.base", (1, self.n_theta)))
        if self.head:
            p += [("head.mean.w", (len(self.tensors), F_)), ("head.mean.b", (len(self.tensors), 1))]
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
        z = relu(self.tied(x, P[prefix + ".0.weight"], P[prefix + ".0.bias"], rows))
        return self.tied(z, P[prefix + ".1.weight"], P[prefix + ".1.bias"], rows)

    def encode(self, part, pe, sizes, rows, n, ue):
        P, B, d = self.P, self.B, self.d
        G = len(sizes)
        ps = self.tied(pe, P["enc.%s.pe.weight" % part], P["enc.%s.0.bias" % part], sizes)       # [n, d] per slot
        if self.pe in PE_CODES:
            c = P["enc.%s.code" % part].index_select(0, self.code_row[part].view(-1)).view(n, 2, d)
            ps = ps + (c[:, 0] * c[:, 1] if self.pe == 4 else c[:, 0] + c[:, 1])
        pu = (ue @ P["enc.%s.u.weight" % part]).view(B, G, d).transpose(0, 1)            # [G, B, d] per intent
        pu = pu.repeat_interleave(torch.tensor(sizes), dim=0, output_size=n)                    # [n, B, d]
        z = relu(ps.unsqueeze(1) + pu).reshape(n * B, d)
        return F.layer_norm(self.tied(z, P["enc.%s.1.weight" % part], P["enc.%s.1.bias" % part], rows), (d,), eps=EPS)

    def segment_mean(self, x, kind):
        ids, inv = self.seg[kind]
        return torch.zeros(inv.shape[0], x.shape[1]).index_add_(0, ids, x) * inv

    def theta_head(self, raw):
        """raw [n_theta, B] -> θ [B, n_theta] (src/meta/meta.c, theta_head)."""
        P = self.P
        s = P["head.scale"].view(-1).index_select(0, self.tensor_of).view(-1, 1)              # [n, 1]
        off = self.offset + P["head.base"] if self.base else self.offset                     # [1, n]
        if not self.head:
            return (raw * s).t() + off
        tof = self.tensor_of
        c = raw - self.segment_mean(raw, "tensor").index_select(0, tof)
        if self.head >= 2:
            c = c - self.segment_mean(c, "row").index_select(0, self.seg["row"][0])
            c = c - self.segment_mean(c, "col").index_select(0, self.seg["col"][0])
        if self.head == 3:
            c = c * torch.rsqrt(self.segment_mean(c * c, "tensor") + HEAD_RMS_EPS).index_select(0, tof)
        lin = torch.addmm(P["head.mean.b"], P["head.mean.w"], self.feat.t()).index_select(0, tof)  # [n, B]
        if self.head == 3:  # matrices without a common term: a constant on every entry is a rank-1 term
            lin = lin * self.is_vector
        return (c * s + lin).t() + off

    def generate(self):
        P, B, d, V, E = self.P, self.B, self.d, self.V, self.E
        ue = self.tied_mlp("imlp", self.feat, [B]) if self.imlp else self.feat              # U' [B, F'], the encoders'
        hv = self.encode("node", self.node_pe, self.node_sizes, self.node_rows, V, ue)      # [V*B, d]
        he = self.encode("edge", self.edge_pe, self.edge_sizes, self.edge_rows, E, ue)      # [E*B, d]
        for k in range(self.K):
            p = "mp.%d." % k
            xs = self.tied(hv, P[p + "src.weight"], None, self.node_rows).view(V, B, 3 * d).index_select(0, self.src)
            xt = self.tied(hv, P[p + "dst.weight"], None, self.node_rows).view(V, B, 3 * d).index_select(0, self.dst)
            xe = self.tied(he, P[p + "edge.weight"], P[p + "edge.bias"], self.edge_rows).view(E, B, 3 * d)
            u, mp, mm = relu((xe + xs).add_(xt)).split(d, -1)                             # [E, B, 3d] = [u | m+ | m-]
            a_in = torch.zeros(V, B, d).index_add_(0, self.dst, mp) * self.inv_in
            a_out = torch.zeros(V, B, d).index_add_(0, self.src, mm) * self.inv_out
            he_new = F.layer_norm(he + u.reshape(E * B, d), (d,), eps=EPS)
            cat = torch.cat([hv, a_in.view(V * B, d), a_out.view(V * B, d)], 1)
            hv = F.layer_norm(hv + self.tied_mlp(p + "node", cat, self.node_rows), (d,), eps=EPS)
            he = he_new
        raw = torch.cat([self.tied_mlp("dec.node", hv, self.node_rows), self.tied_mlp("dec.edge", he, self.edge_rows)], 0)
        return self.theta_head(raw.view(V + E, B).index_select(0, self.slot_row))           # [B, n_theta]

    def views(self, theta):
        """Every template tensor of every program: [B, out, in] matrices, [B, 1, n] vectors (one split,
        so the backward is one cat rather than a zero-filled [B, |θ|] per tensor)."""
        names = sorted(self.tensors, key=lambda n: self.tensors[n][0])
        out = {}
        for name, v in zip(names, theta.split([self.tensors[n][1] for n in names], 1)):
            shape = self.tensors[name][2]
            out[name] = v.reshape(self.B, *shape) if len(shape) == 2 else v.reshape(self.B, 1, shape[0])
        return out

    def theta_penalty(self, theta):
        """theta_l2/2 x what each program's mean square over its weight matrices' entries exceeds
        theta_ms by, averaged over the batch (src/train/run.c)."""
        l2 = float(self.cfg.get("theta_l2", 0))
        if l2 <= 0:
            return 0.0
        mats = [v for n, v in theta.items() if len(self.tensors[n][2]) == 2]
        nw = sum(self.tensors[n][1] for n in theta if len(self.tensors[n][2]) == 2)
        ms = sum((v * v).flatten(1).sum(1) for v in mats) / nw  # [B]
        over = torch.relu(ms - float(self.cfg.get("theta_ms", 0)))
        return 0.5 * l2 * over.sum() / self.B

    def loss(self):
        theta = self.views(self.generate())
        pen = self.theta_penalty(theta)
        if self.transformer:
            return self.task_loss(self.exec_transformer(theta, self.emb_idx, self.B, self.N)) + pen
        return self.task_loss(self.exec_mlp(theta, self.x.view(self.B, self.N, -1))) + pen


class DirectStep(Step):
    """direct (src/meta/direct.c): one network of the task's kind, its tensors "net.<name>"."""

    def __init__(self, path):
        super().__init__(path)
        T, B, N = self.T, self.B, self.N
        R = B * N
        if self.transformer:
            P = int(self.meta["itok_len"])
            L = self.tf["len"] - P
            itok = ints(T["b.itok"]).view(B, 1, P).expand(B, N, P)
            tok = torch.cat([itok, self.tok.view(B, N, L)], 2).reshape(-1)      # intent tokens, then the input
            self.emb_idx, self.drop = tok, P
        else:   # every example reads [x | U]
            self.xin = torch.cat([self.x.view(R, -1), self.feat.repeat_interleave(N, 0)], 1).view(1, R, -1)
        self.load_params([("net." + n, self.tensors[n][2]) for n in self.names])
        self.theta = {n: self.P["net." + n] for n in self.names}

    def loss(self):
        if self.transformer:
            return self.task_loss(self.exec_transformer(self.theta, self.emb_idx, 1, self.B * self.N, drop=self.drop))
        return self.task_loss(self.exec_mlp(self.theta, self.xin))


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def bench(path, warmup, steps, check_only):
    meta = stio.read(path)[1]
    m = (MetaGNNStep if meta["method"] == "gnn" else DirectStep)(path)
    params = [m.P[n] for n, _ in m.shapes]
    # the check: same parameters, same batch -> the same loss and gradient norm as neurop
    KINK["margin"], KINK["on"] = float("inf"), True
    loss = m.loss()
    KINK["on"] = False
    loss.backward()
    gnorm = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params))
    rel_l = abs(loss.item() - m.loss0) / max(abs(m.loss0), 1e-12)
    rel_g = abs(gnorm - m.gnorm0) / max(abs(m.gnorm0), 1e-12)
    # every gradient: the largest difference in a view, relative to that view's largest neurop value,
    # or to 1e-3 of the largest of all views where a view's gradient is zero up to rounding (the
    # decoders' output biases under the centred head, attention key biases: the loss cannot depend
    # on them, and both sides carry only rounding there)
    arrays = stio.read(path)[0]
    refs = {n: torch.from_numpy(np.array(arrays["g." + n], dtype=np.float32)).double() for n, _ in m.shapes}
    floor = 1e-3 * max(float(r.abs().max()) for r in refs.values())
    worst, worst_view = 0.0, "-"
    for n, _ in m.shapes:
        ref = refs[n]
        got = m.P[n].grad.double() if m.P[n].grad is not None else torch.zeros_like(ref)
        err = float((got - ref).abs().max()) / max(float(ref.abs().max()), floor, 1e-30)
        if err > worst:
            worst, worst_view = err, n
    ok = m.n_params == int(m.meta["n_params"]) and rel_l < 1e-5 and rel_g < 1e-4 and worst < 1e-3
    # a gradient mismatch at a batch with a ReLU at its kink is undecided (KINK), not a failure;
    # the loss must agree all the same (the forward is continuous there)
    kink = not ok and rel_l < 1e-5 and KINK["margin"] < KINK_TOL
    print("torch_check task=%s method=%s params=%d neurop_params=%s torch_loss0=%.7g neurop_loss0=%.7g loss_rel=%.1e "
          "torch_gnorm0=%.7g neurop_gnorm0=%.7g gnorm_rel=%.1e grad_worst=%.1e (%s) relu_margin=%.1e %s"
          % (m.task, m.method, m.n_params, m.meta["n_params"], loss.item(), m.loss0, rel_l, gnorm, m.gnorm0, rel_g,
             worst, worst_view, KINK["margin"], "ok" if ok else "KINK" if kink else "MISMATCH"))
    sys.stdout.flush()
    status = "ok" if ok else "kink" if kink else "mismatch"
    if check_only:
        return status
    for p in params:
        p.grad = None
    decay = [m.P[n] for n, _ in m.shapes if m.decay[n]]
    no_decay = [m.P[n] for n, _ in m.shapes if not m.decay[n]]
    lr, wd, clip = float(m.cfg["lr"]), float(m.cfg["wd"]), float(m.cfg["clip"])
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, float(m.cfg.get("beta2", 0.999))), eps=1e-8)
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
    print("torch_step task=%s method=%s ms=%.3f min_ms=%.3f fwd_ms=%.3f bwd_ms=%.3f opt_ms=%.3f faults=%.0f steps=%d"
          % (m.task, m.method, 1e3 * median(tt), 1e3 * min(tt), 1e3 * median(tf), 1e3 * median(tb), 1e3 * median(to), faults, steps))
    sys.stdout.flush()
    return status


def blas_core():
    """The OpenBLAS kernel torch's BLAS runs (the library torch links, asked by its soname)."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "?"


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        raise SystemExit(__doc__.split("\n\n")[1])
    d = args.pop(0)
    warmup, steps, check_only, runs = 5, None, False, []
    while args:
        a = args.pop(0)
        if a == "--warmup":
            warmup = int(args.pop(0))
        elif a == "--steps":
            steps = int(args.pop(0))
        elif a == "--check-only":
            check_only = True
        else:
            runs.append(a)
    runs = runs or ["%s.%s" % (t, m) for t in ("sumfirst", "addmod", "arc") for m in ("gnn", "direct")]
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    print("torch_threads %d (torch %s, interop %d; OpenBLAS %s)"
          % (torch.get_num_threads(), torch.__version__, torch.get_num_interop_threads(), blas_core()))
    got = [bench(os.path.join(d, r + ".safetensors"), warmup, steps if steps else (10 if r.startswith("arc") else 20), check_only)
           for r in runs]
    sys.exit(1 if "mismatch" in got else 3 if "kink" in got else 0)


if __name__ == "__main__":
    main()
