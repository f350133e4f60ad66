"""Loads the simulation's event loop (simulation_core.cpp), compiled with g++ on first use.

The shared library is cached in the temporary directory under a name carrying the source's hash,
written under a private name and renamed into place, so concurrent first uses are safe.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import numpy as np

from dfcc.errors import DfccError

SOURCE = Path(__file__).with_name("simulation_core.cpp")
FLAGS = ("-O3", "-shared", "-fPIC")


@cache
def _library() -> ctypes.CDLL:
    text = SOURCE.read_bytes() + " ".join(FLAGS).encode()
    target = Path(tempfile.gettempdir()) / f"dfcc_simulation_{hashlib.sha256(text).hexdigest()[:16]}.so"
    if not target.is_file():
        if shutil.which("g++") is None:
            raise DfccError("simulate needs g++ (it compiles its event loop once); install g++")
        staging = target.with_name(f"{target.stem}.{os.getpid()}.tmp")
        proc = subprocess.run(["g++", *FLAGS, "-o", str(staging), str(SOURCE)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise DfccError(f"simulate: g++ failed to compile {SOURCE}:\n{proc.stderr}")
        os.replace(staging, target)
    library = ctypes.CDLL(str(target))
    library.dfcc_simulate.restype = ctypes.c_int
    return library


def run_core(*args) -> int:
    """Call dfcc_simulate (argument order as in simulation_core.cpp); int arguments pass as C ints,
    numpy int64 arrays as pointers (times, pc, cursor, starved, blocked and peak are written)."""
    converted = []
    for a in args:
        if isinstance(a, np.ndarray):
            if a.dtype != np.int64 or not a.flags.c_contiguous:
                raise TypeError("simulation core arrays must be contiguous int64")
            converted.append(a.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)))
        else:
            converted.append(ctypes.c_int(int(a)))
    return _library().dfcc_simulate(*converted)
