"""Loads the simulation's event loop and its FIFO peak count (simulation_core.cpp), compiled with g++ on first use.

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
OVERFLOW = 2  # dfcc_simulate's status when a time does not fit its 32-bit array


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
    pointer, count = ctypes.c_void_p, ctypes.c_int64
    library.dfcc_peak.argtypes = [ctypes.c_int, count, pointer, ctypes.c_int, count, count, pointer, count,
                                  pointer, ctypes.c_int, count, count, pointer]
    library.dfcc_peak.restype = count
    return library


def run_core(*args) -> int:
    """Call dfcc_simulate (argument order as in simulation_core.cpp); int arguments pass as C ints, numpy arrays
    (contiguous int64; the times int32 or int64, its `wide` flag saying which) as pointers (times, pc, cursor, starved,
    blocked and peak are written; peak None: no FIFO's peak counted)."""
    converted = []
    for a in args:
        if a is None:
            converted.append(ctypes.c_void_p(None))
        elif isinstance(a, np.ndarray):
            if a.dtype not in (np.int64, np.int32) or not a.flags.c_contiguous:
                raise TypeError("simulation core arrays must be contiguous int64 (or the times int32)")
            converted.append(ctypes.c_void_p(a.ctypes.data))
        else:
            converted.append(ctypes.c_int(int(a)))
    return _library().dfcc_simulate(*converted)


def peak_core(n_inf: int, beats: int, writer: tuple, reader: tuple) -> int:
    """Call dfcc_peak: `writer` is (times, base, once, positions or None, latency), `reader` the same without the
    latency; the times contiguous int32 or int64 arrays, the positions contiguous int64 (all read only). -1: a beat
    read before it is readable."""
    address = lambda a: None if a is None else a.ctypes.data  # noqa: E731
    wide = lambda a: int(a.dtype == np.int64)  # noqa: E731
    (w_times, w_base, w_once, w_pos, w_latency), (r_times, r_base, r_once, r_pos) = writer, reader
    return _library().dfcc_peak(n_inf, beats, address(w_times), wide(w_times), w_base, w_once, address(w_pos),
                                w_latency, address(r_times), wide(r_times), r_base, r_once, address(r_pos))
