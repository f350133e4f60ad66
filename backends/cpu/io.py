"""Model inputs and outputs as numpy files: `.npz` with keys arg0.. / out0.. (or one `.npy`)."""

import numpy as np

from dfcc.driver.output import write_atomic
from dfcc.errors import DfccError


def load_inputs(path: str) -> list[np.ndarray]:
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DfccError(f"cannot read inputs: {error}", path) from None
    if isinstance(data, np.ndarray):
        return [data]
    keys = sorted((k for k in data.files if k.startswith("arg") and k[3:].isdigit()), key=lambda k: int(k[3:]))
    if not keys or keys != [f"arg{i}" for i in range(len(keys))]:
        raise DfccError(f"input .npz must hold arrays arg0, arg1, ... (found: {', '.join(data.files) or 'none'})", path)
    return [data[k] for k in keys]


def save_outputs(path: str, outputs: list[np.ndarray]) -> None:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **{f"out{i}": np.asarray(o, dtype=np.float32) for i, o in enumerate(outputs)})
    write_atomic(path, buffer.getvalue())
