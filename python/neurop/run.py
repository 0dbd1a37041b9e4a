"""A trained run folder, opened in-process through build/libneurop.so (ctypes): synthesis of a
program for an intent is one forward pass of the meta-learner in C, no subprocess."""
import ctypes
import os

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
_ERRLEN = 512
_lib = None


def library_path():
    """$NEUROP_LIB, else build/libneurop.so of the checkout this package lives in."""
    return os.environ.get("NEUROP_LIB") or os.path.join(_HERE, "..", "..", "build", "libneurop.so")


def _load():
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    if not os.path.exists(path):
        raise OSError("%s not found: build it with `make build/libneurop.so` (or set NEUROP_LIB)" % os.path.normpath(path))
    lib = ctypes.CDLL(path)
    P, S, L, I = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_long, ctypes.c_int
    sigs = {
        "neurop_api_version": (I, []),
        "neurop_open": (P, [S, S, S, ctypes.c_size_t]),
        "neurop_close": (None, [P]),
        "neurop_template": (S, [P]),
        "neurop_task": (S, [P]),
        "neurop_method": (S, [P]),
        "neurop_n_theta": (L, [P]),
        "neurop_n_tensors": (I, [P]),
        "neurop_tensor_name": (S, [P, I]),
        "neurop_tensor_shape": (I, [P, I, ctypes.POINTER(L), ctypes.POINTER(L)]),
        "neurop_synth": (I, [P, S, ctypes.POINTER(ctypes.c_float), L, S, ctypes.c_size_t, ctypes.POINTER(I), S, ctypes.c_size_t]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    if lib.neurop_api_version() != 1:
        raise OSError("%s: API version %d, this package wants 1" % (path, lib.neurop_api_version()))
    _lib = lib
    return lib


class Run:
    """Run(run_dir, which="best"): a trained run (the folder `neurop train` wrote).
    .synth(intent) -> {tensor name: numpy array}; .program(intent) -> torch.nn.Module.
    Attributes: template (canonical text), task, method, n_theta, tensors [(name, shape)].
    Raises ValueError with the library's one-line message on a bad folder or intent."""

    def __init__(self, run_dir, which="best"):
        lib = _load()
        err = ctypes.create_string_buffer(_ERRLEN)
        h = lib.neurop_open(os.fsencode(run_dir), which.encode(), err, _ERRLEN)
        if not h:
            raise ValueError(err.value.decode(errors="replace"))
        self._lib, self._h = lib, h
        self.run_dir = run_dir
        self.template = lib.neurop_template(h).decode()
        self.task = lib.neurop_task(h).decode()
        self.method = lib.neurop_method(h).decode()
        self.n_theta = lib.neurop_n_theta(h)
        self.tensors, self._offsets = [], []
        shape, off = (ctypes.c_long * 2)(), ctypes.c_long()
        for i in range(lib.neurop_n_tensors(h)):
            nd = lib.neurop_tensor_shape(h, i, shape, ctypes.byref(off))
            self.tensors.append((lib.neurop_tensor_name(h, i).decode(), tuple(shape[:nd])))
            self._offsets.append(off.value)
        self._err = ctypes.create_string_buffer(_ERRLEN)
        self._canon = ctypes.create_string_buffer(256)
        self._ood = ctypes.c_int()

    def close(self):
        if getattr(self, "_h", None):
            self._lib.neurop_close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def theta(self, intent):
        """The flat θ for intent (float32 [n_theta]), its canonical text, and whether it is OOD."""
        if not self._h:
            raise ValueError("run %s is closed" % self.run_dir)
        th = np.empty(self.n_theta, dtype=np.float32)
        rc = self._lib.neurop_synth(self._h, str(intent).encode(), th.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                    self.n_theta, self._canon, 256, ctypes.byref(self._ood), self._err, _ERRLEN)
        if rc:
            raise ValueError(self._err.value.decode(errors="replace"))
        return th, self._canon.value.decode(), bool(self._ood.value)

    def synth(self, intent):
        """{tensor name: numpy float32 array} with the template's PyTorch names and shapes
        (views into one θ buffer)."""
        th = self.theta(intent)[0]
        out = {}
        for (name, shape), off in zip(self.tensors, self._offsets):
            n = int(np.prod(shape))
            out[name] = th[off:off + n].reshape(shape)
        return out

    def program(self, intent):
        """The synthesized program as a torch.nn.Module (eval mode), .intent its canonical text."""
        from .program import from_tensors
        th, canon, _ = self.theta(intent)
        tensors = {name: th[off:off + int(np.prod(shape))].reshape(shape)
                   for (name, shape), off in zip(self.tensors, self._offsets)}
        return from_tensors(self.template, tensors, canon)
