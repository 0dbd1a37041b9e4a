"""Program files as torch.nn.Modules: the module for a template, with the template's tensor names
as its state_dict keys, so a program's weights load with strict=True. The forward is the one
src/program/exec.c computes (docs/programs.md), and returns what `neurop exec --logits` prints:
an MLP maps x [batch, inputs] -> [batch, outputs]; a Transformer maps token ids [batch, len] ->
logits [batch, classes] (readout=last) or [batch, len, classes] (readout=all)."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .safetensors import read_safetensors
from .template import Template

PROGRAM_FORMAT = "neurop-program-1"
LN_EPS = 1e-5

_ACT = {"none": lambda x: x, "relu": F.relu, "gelu": F.gelu, "tanh": torch.tanh, "silu": F.silu}   # gelu: exact erf form


class MLP(nn.Module):
    def __init__(self, tpl):
        super().__init__()
        w = tpl.widths
        self.layers = nn.ModuleList(nn.Linear(w[l], w[l + 1]) for l in range(len(w) - 1))
        self.acts = list(tpl.acts)
        self.inputs = w[0]

    def forward(self, x):
        if x.dim() != 2 or x.shape[1] != self.inputs:
            raise ValueError("MLP program: input must be [batch, %d], got %s" % (self.inputs, list(x.shape)))
        for layer, a in zip(self.layers, self.acts):
            x = _ACT[a](layer(x))
        return x


class Attention(nn.Module):
    """Full (unmasked) multi-head self-attention; heads are contiguous blocks of channels."""

    def __init__(self, d, heads):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.heads = heads

    def forward(self, h):
        B, T, d = h.shape
        H = self.heads
        q, k, v = (f(h).view(B, T, H, d // H).transpose(1, 2) for f in (self.q, self.k, self.v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // H), dim=-1)
        return self.o((att @ v).transpose(1, 2).reshape(B, T, d))


class FeedForward(nn.Module):
    def __init__(self, d, hidden, act):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, hidden), nn.Linear(hidden, d)
        self.act = act

    def forward(self, h):
        return self.fc2(_ACT[self.act](self.fc1(h)))


class Block(nn.Module):
    def __init__(self, tpl):
        super().__init__()
        d = tpl.d
        # registered in θ's order; without prenorm there is no LayerNorm anywhere (nor its tensors)
        if tpl.prenorm:
            self.ln1 = nn.LayerNorm(d, eps=LN_EPS)
        self.attn = Attention(d, tpl.heads)
        if tpl.prenorm:
            self.ln2 = nn.LayerNorm(d, eps=LN_EPS)
        self.mlp = FeedForward(d, tpl.mlp, tpl.act)
        self.prenorm = tpl.prenorm

    def forward(self, x):
        x = x + self.attn(self.ln1(x) if self.prenorm else x)
        return x + self.mlp(self.ln2(x) if self.prenorm else x)


class Transformer(nn.Module):
    def __init__(self, tpl):
        super().__init__()
        self.embed, self.pos = nn.Embedding(tpl.vocab, tpl.d), nn.Embedding(tpl.len, tpl.d)
        if tpl.window:   # each cell also reads its neighbours' tokens, one table row per (offset, token)
            self.window = nn.Embedding(2 * tpl.window * tpl.vocab, tpl.d)
        self.W = tpl.window
        self.layers = nn.ModuleList(Block(tpl) for _ in range(tpl.layers))
        if tpl.prenorm:
            self.ln_f = nn.LayerNorm(tpl.d, eps=LN_EPS)
        self.unembed = nn.Linear(tpl.d, tpl.classes)
        self.prenorm, self.readout_last = tpl.prenorm, tpl.readout == "last"
        self.len, self.vocab = tpl.len, tpl.vocab

    def forward(self, tok):
        if tok.dim() != 2 or tok.shape[1] != self.len:
            raise ValueError("Transformer program: tokens must be [batch, %d], got %s" % (self.len, list(tok.shape)))
        if tok.dtype.is_floating_point or tok.dtype == torch.bool:
            raise ValueError("Transformer program: tokens must be integer ids (e.g. torch.long), got %s" % tok.dtype)
        if tok.numel() and (tok.min() < 0 or tok.max() >= self.vocab):
            raise ValueError("Transformer program: token ids must be in [0, %d)" % self.vocab)
        x = self.embed(tok)
        if self.W:   # offsets -W..-1 then 1..W, one block of vocab rows each; past the row's ends: token 0
            padded = F.pad(tok, (self.W, self.W))
            offsets = [o for o in range(-self.W, self.W + 1) if o]
            for k, o in enumerate(offsets):
                x = x + self.window(padded[:, self.W + o:self.W + o + self.len] + k * self.vocab)
        x = x + self.pos.weight
        for block in self.layers:
            x = block(x)
        if self.prenorm:
            x = self.ln_f(x)
        if self.readout_last:
            x = x[:, -1]   # only the last position is read
        return self.unembed(x)


def build(template):
    """An nn.Module for a template (text or Template), with the standard PyTorch initialization."""
    tpl = template if isinstance(template, Template) else Template(template)
    m = MLP(tpl) if tpl.kind == "mlp" else Transformer(tpl)
    m.template = tpl.text()
    return m


def from_tensors(template, tensors, intent=""):
    """The module of `template` with weights `tensors` (name -> array), loaded with strict=True."""
    m = build(template)
    state = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in tensors.items()}
    m.load_state_dict(state, strict=True)
    m.intent = intent
    return m.eval()


def load_program(path):
    """A neurop program file -> its torch.nn.Module (in eval mode), with .template (canonical text)
    and .intent. Refuses a file that is not a neurop program or whose tensors are not exactly the
    template's, with ValueError naming the tensor."""
    tensors, meta = read_safetensors(path)
    fmt = meta.get("format")
    if fmt != PROGRAM_FORMAT:
        raise ValueError("%s: not a neurop program (metadata format is '%s', want '%s')" % (path, fmt or "(none)", PROGRAM_FORMAT))
    if "template" not in meta:
        raise ValueError("%s: no template in the metadata" % path)
    try:
        tpl = Template(meta["template"])
    except ValueError as ex:
        raise ValueError("%s: bad template metadata: %s" % (path, ex)) from None
    for name, shape in tpl.tensors:
        if name not in tensors:
            raise ValueError("%s: tensor '%s' is missing (the template wants %s)" % (path, name, list(shape)))
        if tuple(tensors[name].shape) != shape:
            raise ValueError("%s: tensor '%s' has shape %s, the template wants %s" % (path, name, list(tensors[name].shape), list(shape)))
    want = {n for n, _ in tpl.tensors}
    for name in tensors:
        if name not in want:
            raise ValueError("%s: unexpected tensor '%s' (not part of the template)" % (path, name))
    return from_tensors(tpl, tensors, meta.get("intent", ""))
