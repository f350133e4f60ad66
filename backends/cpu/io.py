"""Model outputs as a numpy `.npz` file with keys out0, out1, ... (written atomically)."""

import io

import numpy as np

from dfcc.backends.output import write_atomic


def save_outputs(path: str, outputs: list[np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **{f"out{i}": np.asarray(o, dtype=np.float32) for i, o in enumerate(outputs)})
    write_atomic(path, buffer.getvalue())
