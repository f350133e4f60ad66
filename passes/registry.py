"""The passes `dfcc -p ...` knows: dfcc's own, plugins registered from Python, and entry points.

A pass written outside dfcc is an xDSL `ModulePass` subclass; `register_pass(MyPass)` (usable as a
decorator) or an entry point in the `dfcc.passes` group makes it available by its `name` in
pipelines and lit tests, exactly like a built-in pass.
"""

from collections.abc import Callable
from importlib.metadata import entry_points

from xdsl.passes import ModulePass

from dfcc.errors import DfccError
from dfcc.passes.activation_sparsity import ActivationSparsity
from dfcc.passes.cleanup import DataflowCleanup
from dfcc.passes.decompose import Decompose
from dfcc.passes.decompose_search import DecomposeSearch
from dfcc.passes.explore import Explore
from dfcc.passes.flat_llm import FlatLlm
from dfcc.passes.lower_to_dataflow import LowerToDataflow
from dfcc.passes.lowrank_compensate import LowrankCompensate
from dfcc.passes.quantize import Quantize
from dfcc.passes.sparsify import Sparsify
from dfcc.passes.sparsity_search import SparsitySearch
from dfcc.passes.spill import Spill
from dfcc.passes.zero_skip import ZeroSkip


_BUILTIN = (LowerToDataflow, DataflowCleanup, Quantize, Explore, Decompose, LowrankCompensate, DecomposeSearch,
            Sparsify, ActivationSparsity, ZeroSkip, SparsitySearch, FlatLlm, Spill)
_PASSES: dict[str, Callable[[], type[ModulePass]]] = {p.name: (lambda p=p: p) for p in _BUILTIN}


def register_pass(pass_class: type[ModulePass]) -> type[ModulePass]:
    """Make `pass_class` available in pipelines under its `name`; returns it (decorator-friendly)."""
    if not isinstance(pass_class, type) or not issubclass(pass_class, ModulePass):
        raise DfccError(f"{pass_class!r} is not an xDSL ModulePass subclass")
    _PASSES[pass_class.name] = lambda: pass_class
    return pass_class


def _load_entry_points() -> None:
    for entry in entry_points(group="dfcc.passes"):
        if entry.name not in _PASSES:
            _PASSES[entry.name] = entry.load


def available_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    _load_entry_points()
    return dict(sorted(_PASSES.items()))


def get_pass(name: str) -> type[ModulePass]:
    passes = available_passes()
    if name not in passes:
        raise DfccError(f"unknown pass '{name}'; available passes: {', '.join(passes)}")
    return passes[name]()
