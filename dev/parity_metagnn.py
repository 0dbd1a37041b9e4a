#!/usr/bin/python3
"""Writes tests/fixtures/metagnn_parity.safetensors: one Meta-GNN training step (loss and the
gradient of every parameter) computed by PyTorch in float64, for tests/test_meta_parity.c to
compare against neurop's src/meta/metagnn.c (the test needs no Python: the fixture is committed).

Everything is re-derived here from the written descriptions, not from neurop's numbers:
  - the MLP template's θ layout: layers.l.weight [out, in] then layers.l.bias [out], per layer;
  - the neural graph (src/program/ngraph.c): node groups "input", "hidden.l", ..., "output", one
    edge group per weight matrix; the edge of W[r, c] runs from input neuron c to output neuron r
    and holds θ[off + r*C + c]; positional encodings of A features per index (A = NG_PE_AXIS, read
    from src/program/ngraph.h; see pe_enc): a node encodes its index in its group (A zeros after),
    an edge (row, column). Regenerate the fixture when the encodings change;
  - Meta-GNN (the equations in src/meta/metagnn.c's header), group-tied, with mean aggregation,
    LayerNorms without gain or bias (eps 1e-5), and the θ head θ = raw * scale[tensor];
  - the target execution (ReLU hidden layers, linear output) and the MSE loss.

Three cases (prefixes c0., c1., c2.): the SUMFIRST template mlp 10-16-1 (width 8, 2 rounds), a
deeper mlp 4-6-5-2 (width 6, 3 rounds), and mlp 10-16-1 again with the intent MLP (imlp = 5: the
encoders read U' = W₄ relu(W₃ U + b₃) + b₄, 16 features, in place of U). Parameters are drawn here
(biases non-zero, so every gradient path is exercised), rounded to float32, and the whole step runs in float64 from those values. A draw
whose pre-ReLU values come closer to 0 than 1e-4 is rejected (float32 and float64 could disagree
on the side of the kink).

Run with Debian's python3 (python3-torch): /usr/bin/python3 dev/parity_metagnn.py
"""
import math
import os
import re

import torch

import stio  # dev/stio.py: safetensors by hand

EPS = 1e-5
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def pe_axis():
    """Features per encoded index, read from src/program/ngraph.h (NG_PE_AXIS, or NG_PE_DIM / 2)."""
    text = open(os.path.join(ROOT, "src", "program", "ngraph.h")).read()
    m = re.search(r"#define\s+NG_PE_AXIS\s+(\d+)", text)
    if m:
        return int(m.group(1))
    return int(re.search(r"#define\s+NG_PE_DIM\s+(\d+)", text).group(1)) // 2


PE_AXIS = pe_axis()
PE_DIM = 2 * PE_AXIS
OUT = os.path.join(ROOT, "tests", "fixtures", "metagnn_parity.safetensors")

CASES = [
    dict(template="mlp 10-16-1 act=relu", widths=[10, 16, 1], width=8, rounds=2, n_feat=3, B=3, N=5, seed=1),
    dict(template="mlp 4-6-5-2 act=relu", widths=[4, 6, 5, 2], width=6, rounds=3, n_feat=2, B=2, N=4, seed=2),
    dict(template="mlp 10-16-1 act=relu", widths=[10, 16, 1], width=8, rounds=2, n_feat=3, B=3, N=5, seed=3, imlp=5),
]
IMLP_OUT = 16  # the intent MLP's outputs (metagnn.c)


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def pe_enc(x, n):
    """PE_AXIS features of index x of n: x/n, then sin and cos of 2π f x/n for f = 1 .. A/2 - 1,
    then sin 2π (A/2) x/n (A = 4: x/n, sin 2πx/n, cos 2πx/n, sin 4πx/n)."""
    u = x / n if n > 0 else 0.0
    tau = 6.283185307179586
    out = [u]
    for f in range(1, PE_AXIS // 2):
        out += [math.sin(tau * f * u), math.cos(tau * f * u)]
    out.append(math.sin(tau * (PE_AXIS // 2) * u))
    return out


def template_tensors(widths):
    """[(name, shape, offset)] in θ order."""
    out, off = [], 0
    for l in range(len(widths) - 1):
        i, o = widths[l], widths[l + 1]
        out.append(("layers.%d.weight" % l, (o, i), off)); off += o * i
        out.append(("layers.%d.bias" % l, (o,), off)); off += o
    return out, off


def build_graph(widths):
    """Nodes and edges appended one group at a time, as ngraph.c's build_mlp does."""
    tensors, n_theta = template_tensors(widths)
    toff = {name: off for name, _, off in tensors}
    node_group, node_slot, node_pe = [], [], []
    edge_group, src, dst, edge_slot, edge_pe = [], [], [], [], []
    node_seg, edge_seg = [0], [0]

    def add_nodes(n, bias):
        first = len(node_group)
        g = len(node_seg) - 1
        for i in range(n):
            node_group.append(g)
            node_slot.append(toff[bias] + i if bias else -1)
            node_pe.append(pe_enc(i, n) + [0.0] * PE_AXIS)
        node_seg.append(len(node_group))
        return first

    prev = add_nodes(widths[0], None)
    L = len(widths) - 1
    for l in range(L):
        cur = add_nodes(widths[l + 1], "layers.%d.bias" % l)
        g = len(edge_seg) - 1
        R, C = widths[l + 1], widths[l]
        for r in range(R):
            for c in range(C):
                edge_group.append(g)
                src.append(prev + c)
                dst.append(cur + r)
                edge_slot.append(toff["layers.%d.weight" % l] + r * C + c)
                edge_pe.append(pe_enc(r, R) + pe_enc(c, C))
        edge_seg.append(len(edge_group))
        prev = cur
    f = lambda v: f32(torch.tensor(v, dtype=torch.float64))
    return dict(node_group=node_group, node_slot=node_slot, node_pe=f(node_pe), edge_group=edge_group,
                src=src, dst=dst, edge_slot=edge_slot, edge_pe=f(edge_pe), Gn=len(node_seg) - 1,
                Ge=len(edge_seg) - 1, n_theta=n_theta, tensors=tensors)


def param_shapes(c, G):
    """Every parameter of metagnn.c, in its declaration order, with its shape."""
    d, F, Gn, Ge = c["width"], c["n_feat"], G["Gn"], G["Ge"]
    p = []
    if c.get("imlp"):  # declared first; one set of weights (G = 1), U -> IMLP_OUT
        h = c["imlp"]
        p += [("imlp.0.weight", (1, F, h)), ("imlp.0.bias", (1, h)), ("imlp.1.weight", (1, h, IMLP_OUT)),
              ("imlp.1.bias", (1, IMLP_OUT))]
        F = IMLP_OUT
    for part, Gk in (("node", Gn), ("edge", Ge)):
        p += [("enc.%s.pe.weight" % part, (Gk, PE_DIM, d)), ("enc.%s.u.weight" % part, (F, Gk * d)),
              ("enc.%s.0.bias" % part, (Gk, d)), ("enc.%s.1.weight" % part, (Gk, d, d)), ("enc.%s.1.bias" % part, (Gk, d))]
    for k in range(c["rounds"]):
        p += [("mp.%d.src.weight" % k, (Gn, d, 3 * d)), ("mp.%d.dst.weight" % k, (Gn, d, 3 * d)),
              ("mp.%d.edge.weight" % k, (Ge, d, 3 * d)), ("mp.%d.edge.bias" % k, (Ge, 3 * d)),
              ("mp.%d.node.0.weight" % k, (Gn, 3 * d, d)), ("mp.%d.node.0.bias" % k, (Gn, d)),
              ("mp.%d.node.1.weight" % k, (Gn, d, d)), ("mp.%d.node.1.bias" % k, (Gn, d))]
    for part, Gk in (("node", Gn), ("edge", Ge)):
        p += [("dec.%s.0.weight" % part, (Gk, d, d)), ("dec.%s.0.bias" % part, (Gk, d)),
              ("dec.%s.1.weight" % part, (Gk, d, 1)), ("dec.%s.1.bias" % part, (Gk, 1))]
    p.append(("head.scale", (len(G["tensors"]), 1)))
    return p


def draw_params(shapes, gen):
    P = {}
    for name, shape in shapes:
        if name == "head.scale":
            t = 0.5 + torch.rand(*shape, generator=gen, dtype=torch.float64)
        elif name.endswith("bias"):
            t = 0.3 * torch.randn(*shape, generator=gen, dtype=torch.float64)
        else:
            fan_in = shape[-2] if len(shape) == 3 else shape[0]
            t = torch.randn(*shape, generator=gen, dtype=torch.float64) / math.sqrt(fan_in)
        P[name] = f32(t).requires_grad_(True)
    return P


def ln(x):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + EPS)


class Kinks:
    """Smallest |pre-ReLU value| seen: the draw is rejected when it is too close to a kink."""
    def __init__(self):
        self.min = float("inf")

    def relu(self, x):
        self.min = min(self.min, x.detach().abs().min().item())
        return torch.relu(x)


def forward(c, G, P, feat, x, y, K):
    """One step: θ = Meta-GNN(feat), predictions = exec(θ, x), loss = MSE. Returns (loss, θ)."""
    d, B = c["width"], feat.shape[0]
    ng, eg = torch.tensor(G["node_group"]), torch.tensor(G["edge_group"])
    src, dst = torch.tensor(G["src"]), torch.tensor(G["dst"])
    V, E = len(G["node_group"]), len(G["edge_group"])

    def tied(W, b, h, grp):           # h [B, n, in], per-slot weight W[grp] [n, in, out]
        y = torch.einsum("bni,nio->bno", h, W[grp])
        return y + b[grp] if b is not None else y

    def tied_mlp(prefix, h, grp):
        z = K.relu(tied(P[prefix + ".0.weight"], P[prefix + ".0.bias"], h, grp))
        return tied(P[prefix + ".1.weight"], P[prefix + ".1.bias"], z, grp)

    ue = feat                                                              # U', what the encoders read
    if c.get("imlp"):
        z = K.relu(feat @ P["imlp.0.weight"][0] + P["imlp.0.bias"][0])
        ue = z @ P["imlp.1.weight"][0] + P["imlp.1.bias"][0]

    def encode(part, pe, grp, Gk):
        pu = (ue @ P["enc.%s.u.weight" % part]).view(B, Gk, d)            # [B, G, d]
        ps = torch.einsum("np,npd->nd", pe, P["enc.%s.pe.weight" % part][grp]) + P["enc.%s.0.bias" % part][grp]
        z = K.relu(ps.unsqueeze(0) + pu[:, grp, :])                        # [B, n, d]
        return ln(tied(P["enc.%s.1.weight" % part], P["enc.%s.1.bias" % part], z, grp))

    hv = encode("node", G["node_pe"], ng, G["Gn"])
    he = encode("edge", G["edge_pe"], eg, G["Ge"])
    deg_in = torch.zeros(V, dtype=torch.float64).index_add_(0, dst, torch.ones(E, dtype=torch.float64))
    deg_out = torch.zeros(V, dtype=torch.float64).index_add_(0, src, torch.ones(E, dtype=torch.float64))
    for k in range(c["rounds"]):
        p = "mp.%d." % k
        xs = tied(P[p + "src.weight"], None, hv, ng)[:, src, :]
        xt = tied(P[p + "dst.weight"], None, hv, ng)[:, dst, :]
        xe = tied(P[p + "edge.weight"], P[p + "edge.bias"], he, eg)
        xx = K.relu(xe + xs + xt)                                          # [B, E, 3d] = [u | m+ | m-]
        u, mp, mm = xx[..., :d], xx[..., d:2 * d], xx[..., 2 * d:]
        a_in = torch.zeros(B, V, d, dtype=torch.float64).index_add(1, dst, mp) / deg_in.clamp(min=1).view(1, V, 1)
        a_out = torch.zeros(B, V, d, dtype=torch.float64).index_add(1, src, mm) / deg_out.clamp(min=1).view(1, V, 1)
        he_new = ln(he + u)
        hv = ln(hv + tied_mlp(p + "node", torch.cat([hv, a_in, a_out], -1), ng))
        he = he_new
    raw_v = tied_mlp("dec.node", hv, ng)[..., 0]                           # [B, V]
    raw_e = tied_mlp("dec.edge", he, eg)[..., 0]                           # [B, E]
    theta = torch.zeros(B, G["n_theta"], dtype=torch.float64)
    idx_v = [(v, s) for v, s in enumerate(G["node_slot"]) if s >= 0]
    idx_e = [(e, s) for e, s in enumerate(G["edge_slot"]) if s >= 0]
    theta = theta.index_put((torch.arange(B).view(B, 1), torch.tensor([s for _, s in idx_v]).view(1, -1)),
                            raw_v[:, [v for v, _ in idx_v]])
    theta = theta.index_put((torch.arange(B).view(B, 1), torch.tensor([s for _, s in idx_e]).view(1, -1)),
                            raw_e[:, [e for e, _ in idx_e]])
    scale = torch.cat([P["head.scale"][k].expand(math.prod(shape)) for k, (_, shape, _) in enumerate(G["tensors"])])
    theta = theta * scale.view(1, -1)

    # the target: x W^T + b per layer, ReLU between, linear output
    h = x
    L = len(c["widths"]) - 1
    for l in range(L):
        (_, (o, i), woff), (_, _, boff) = G["tensors"][2 * l], G["tensors"][2 * l + 1]
        W = theta[:, woff:woff + o * i].view(B, o, i)
        b = theta[:, boff:boff + o].view(B, 1, o)
        h = torch.bmm(h, W.transpose(1, 2)) + b
        if l < L - 1:
            h = K.relu(h)
    loss = ((h.reshape(-1) - y.reshape(-1)) ** 2).mean()
    return loss, theta


def make_case(c):
    G = build_graph(c["widths"])
    shapes = param_shapes(c, G)
    for attempt in range(100):
        gen = torch.Generator().manual_seed(1000 * c["seed"] + attempt)
        P = draw_params(shapes, gen)
        B, N, w = c["B"], c["N"], c["widths"]
        feat = f32(torch.rand(B, c["n_feat"], generator=gen, dtype=torch.float64) * 2 - 1)
        x = f32(torch.randint(0, 10, (B, N, w[0]), generator=gen).to(torch.float64) / 9.0)
        y = f32(torch.randn(B, N, w[-1], generator=gen, dtype=torch.float64))
        K = Kinks()
        loss, theta = forward(c, G, P, feat, x, y, K)
        if K.min > 1e-4:
            break
    else:
        raise SystemExit("no draw keeps its pre-ReLU values away from 0")
    loss.backward()
    print("%s: width %d rounds %d, %d parameters in %d tensors, |θ| = %d, loss %.6f, min |pre-ReLU| %.2g (draw %d)" % (
        c["template"], c["width"], c["rounds"], sum(p.numel() for p in P.values()), len(P), G["n_theta"], loss.item(), K.min, attempt))
    tensors = [("feat", feat), ("x", x), ("y", y), ("loss", loss.detach().view(1)), ("theta", theta.detach())]
    for name, _ in shapes:
        tensors.append((name, P[name].detach()))
        tensors.append(("grad." + name, P[name].grad))
    meta = {"template": c["template"], "width": str(c["width"]), "rounds": str(c["rounds"]), "n_feat": str(c["n_feat"]),
            "imlp": str(c.get("imlp", 0))}
    return tensors, meta


def main():
    torch.set_default_dtype(torch.float64)
    all_tensors, meta = [], {"format": "neurop-metagnn-parity-1", "cases": str(len(CASES)), "pe_dim": str(PE_DIM)}
    for k, c in enumerate(CASES):
        tensors, m = make_case(c)
        all_tensors += [("c%d.%s" % (k, n), t) for n, t in tensors]
        meta.update({"c%d.%s" % (k, key): v for key, v in m.items()})
    stio.write(OUT, all_tensors, meta)
    print("wrote", os.path.relpath(OUT))


if __name__ == "__main__":
    main()
