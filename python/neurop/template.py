"""Template text -> the template's settings and its parameter tensors (names, shapes, θ order),
as src/program/template.c parses and lays them out (docs/programs.md). Refuses what the C parser
refuses, with ValueError."""

ACTS = ("none", "relu", "gelu", "tanh", "silu")
MAX_LAYERS, MAX_WIDTH, MAX_WORDS = 16, 65536, 32
TF_KEYS = ("vocab", "len", "d", "heads", "mlp", "classes", "layers", "prenorm", "readout", "act", "window")


def _int(key, s, lo, hi):
    try:
        if not s or s.strip() != s:
            raise ValueError
        v = int(s, 10)
    except ValueError:
        v = None
    if v is None or not lo <= v <= hi:
        if lo == 0 and hi == 1:
            raise ValueError("template: %s=%s is not 0 or 1" % (key, s))
        raise ValueError("template: %s=%s is not an integer in [%d, %d]" % (key, s, lo, hi))
    return v


def _act(s, what):
    if s not in ACTS:
        raise ValueError("template: %s=%s is not one of none, relu, gelu, tanh, silu" % (what, s))
    return s


class Template:
    """kind "mlp": widths, acts (one per layer, the last is out=).
    kind "transformer": vocab, len, d, heads, mlp, classes, layers, prenorm, readout ("last"|"all"), act,
    window (0: none; docs/programs.md).
    tensors: [(name, shape)] in θ order; n_theta: their total size."""

    def __init__(self, text):
        words = text.split() if isinstance(text, str) else []
        if not isinstance(text, str) or len(text) >= 1024:
            raise ValueError("template: text missing or longer than 1023 characters")
        if len(words) > MAX_WORDS:
            raise ValueError("template: more than %d words" % MAX_WORDS)
        if not words:
            raise ValueError("template: empty (want 'mlp 10-16-1' or 'transformer vocab=... ')")
        self.kind = words[0]
        if self.kind == "mlp":
            self._parse_mlp(words)
        elif self.kind == "transformer":
            self._parse_transformer(words)
        else:
            raise ValueError("template: unknown kind '%s' (want mlp or transformer)" % words[0])
        self.tensors = self._layout()
        self.n_theta = sum(_numel(s) for _, s in self.tensors)
        if self.n_theta > 2 ** 31 - 1:
            raise ValueError("template: too many parameters (more than %d)" % (2 ** 31 - 1))

    def _parse_mlp(self, w):
        if len(w) < 2:
            raise ValueError("template: mlp needs its widths (e.g. mlp 10-16-1)")
        s = w[1]
        if "--" in s or s.startswith("-") or s.endswith("-"):
            raise ValueError("template: bad MLP widths '%s' (want e.g. 10-16-1)" % s)
        parts = s.split("-")
        if len(parts) > MAX_LAYERS + 1:
            raise ValueError("template: too many layers in '%s' (at most %d)" % (s, MAX_LAYERS))
        self.widths = [_int("width", p, 1, MAX_WIDTH) for p in parts]
        L = len(self.widths) - 1
        if L < 1:
            raise ValueError("template: an MLP needs at least two widths (e.g. 10-16-1), got '%s'" % s)
        self.acts = ["relu"] * (L - 1) + ["none"]
        seen = set()
        for opt in w[2:]:
            key = opt[:4]
            if key not in ("act=", "out="):
                raise ValueError("template: unknown MLP option '%s' (known: act=, out=)" % opt)
            if key in seen:
                raise ValueError("template: '%s' given twice" % key)
            seen.add(key)
            if key == "out=":
                self.acts[-1] = _act(opt[4:], "out")
                continue
            names = [a for a in opt[4:].split(",") if a]
            if not names:
                raise ValueError("template: act= needs an activation")
            for a in names:
                if a not in ACTS:
                    raise ValueError("template: act=%s: '%s' is not one of none, relu, gelu, tanh, silu" % (opt[4:], a))
            if len(names) not in (1, L - 1):
                raise ValueError("template: act=%s names %d activations, the MLP has %d hidden layers" % (opt[4:], len(names), L - 1))
            for l in range(L - 1):
                self.acts[l] = names[0 if len(names) == 1 else l]

    def _parse_transformer(self, w):
        v = {"layers": 1, "prenorm": 1, "readout": "last", "act": "relu", "window": 0}
        seen = set()
        for word in w[1:]:
            if "=" not in word:
                raise ValueError("template: '%s' is not key=value" % word)
            key, val = word.split("=", 1)
            if key not in TF_KEYS:
                raise ValueError("template: unknown transformer key '%s' (known: %s)" % (key, " ".join(TF_KEYS)))
            if key in seen:
                raise ValueError("template: '%s' given twice" % key)
            seen.add(key)
            if key == "layers":
                v[key] = _int("layers", val, 1, 2 ** 31 - 1)
                if v[key] > MAX_LAYERS:
                    raise ValueError("template: layers=%s: too many layers (at most %d)" % (val, MAX_LAYERS))
            elif key == "prenorm":
                v[key] = _int("prenorm", val, 0, 1)
            elif key == "readout":
                if val not in ("last", "all"):
                    raise ValueError("template: readout=%s is not 'last' or 'all'" % val)
                v[key] = val
            elif key == "act":
                v[key] = _act(val, "act")
            elif key == "window":
                v[key] = _int("window", val, 0, MAX_WIDTH)
            else:
                v[key] = _int(key, val, 1, MAX_WIDTH)
        for key in TF_KEYS[:6]:
            if key not in seen:
                raise ValueError("template: transformer needs %s=" % key)
        if v["d"] % v["heads"]:
            raise ValueError("template: heads=%d does not divide d=%d" % (v["heads"], v["d"]))
        if v["window"] >= v["len"]:
            raise ValueError("template: window=%d reaches past every cell of a row of len=%d (at most %d)"
                             % (v["window"], v["len"], v["len"] - 1))
        if 2 * v["window"] * v["vocab"] > 2 ** 31 - 1:
            raise ValueError("template: window=%d: too many parameters (2·window·vocab rows)" % v["window"])
        for key, val in v.items():
            setattr(self, key, val)

    def _layout(self):
        t = []
        if self.kind == "mlp":
            for l in range(len(self.widths) - 1):
                t += [("layers.%d.weight" % l, (self.widths[l + 1], self.widths[l])), ("layers.%d.bias" % l, (self.widths[l + 1],))]
            return t
        d = self.d

        def linear(p, out, inp):
            return [(p + ".weight", (out, inp)), (p + ".bias", (out,))]

        def ln(p):
            return [(p + ".weight", (d,)), (p + ".bias", (d,))] if self.prenorm else []
        t += [("embed.weight", (self.vocab, d)), ("pos.weight", (self.len, d))]
        if self.window:
            t += [("window.weight", (2 * self.window * self.vocab, d))]
        for l in range(self.layers):
            p = "layers.%d." % l
            t += ln(p + "ln1")
            for k in "qkvo":
                t += linear(p + "attn." + k, d, d)
            t += ln(p + "ln2") + linear(p + "mlp.fc1", self.mlp, d) + linear(p + "mlp.fc2", d, self.mlp)
        return t + ln("ln_f") + linear("unembed", self.classes, d)

    def text(self):
        """The canonical text, as template_format writes it."""
        if self.kind == "transformer":
            return ("transformer vocab=%d len=%d d=%d heads=%d mlp=%d classes=%d layers=%d prenorm=%d readout=%s act=%s"
                    % (self.vocab, self.len, self.d, self.heads, self.mlp, self.classes, self.layers, self.prenorm,
                       self.readout, self.act) + (" window=%d" % self.window if self.window else ""))
        s = "mlp " + "-".join(map(str, self.widths))
        hidden = self.acts[:-1]
        if hidden:
            s += " act=" + (hidden[0] if len(set(hidden)) == 1 else ",".join(hidden))
        if self.acts[-1] != "none":
            s += " out=" + self.acts[-1]
        return s

    def __repr__(self):
        return "Template(%r)" % self.text()


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n
