"""neurop from Python: read programs, run them as PyTorch modules, synthesize them in-process.

    import neurop
    tensors, meta = neurop.read_safetensors("p83.safetensors")   # numpy only
    prog = neurop.load_program("p83.safetensors")                # torch.nn.Module
    run = neurop.Run("runs/addmod-gnn-s0")                       # build/libneurop.so via ctypes
    prog = run.program("p=83")

numpy is required; torch only for load_program and Run.program."""
from .safetensors import read_safetensors, write_safetensors
from .template import Template
from .run import Run

__all__ = ["read_safetensors", "write_safetensors", "Template", "Run", "load_program", "build"]


def load_program(path):
    from .program import load_program as _load_program
    return _load_program(path)
load_program.__doc__ = "A neurop program file -> torch.nn.Module (see neurop.program.load_program)."


def build(template):
    from .program import build as _build
    return _build(template)
build.__doc__ = "An untrained torch.nn.Module for a template text (see neurop.program.build)."
