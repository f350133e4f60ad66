"""FPGA boards: the resources and off-chip bandwidth a design must fit into.

Bundled boards live as JSON files in the package's `platforms/` folder (figures as published in
fpgaConvNet's platform files and the vendors' data sheets); users may pass a path to their own file.
"""

import json
from dataclasses import dataclass, fields
from pathlib import Path

from dfcc.errors import DfccError

PLATFORM_DIR = Path(__file__).resolve().parent.parent / "platforms"
DEFAULT_PLATFORM = "zcu102"  # the board explore, estimate and HLS assume when none is named


@dataclass(frozen=True)
class Platform:
    """One board: device resources, clock and off-chip bandwidth."""

    name: str
    part: str  # FPGA part name as Vitis HLS expects it
    dsp: int
    bram18: int
    uram: int
    lut: int
    ff: int
    clock_mhz: float
    bandwidth_gbps: float
    note: str = ""

    @property
    def bandwidth_bits_per_cycle(self) -> float:
        """Off-chip bandwidth in bits per clock cycle, the unit stage bandwidths are counted in."""
        return self.bandwidth_gbps * 1e3 / self.clock_mhz


_INT_KEYS = ("dsp", "bram18", "uram", "lut", "ff")
_POSITIVE_KEYS = ("clock_mhz", "bandwidth_gbps")
_KEYS = {f.name for f in fields(Platform)}


def known_platforms() -> list[str]:
    """Names of the bundled boards (lower case, as accepted by `load_platform`)."""
    return sorted(p.stem for p in PLATFORM_DIR.glob("*.json"))


def load_platform(name_or_path: str | Path) -> Platform:
    """A bundled board by case-insensitive name, or a user's JSON file by path."""
    text = str(name_or_path)
    if text.lower() in known_platforms():
        return _read(PLATFORM_DIR / f"{text.lower()}.json")
    path = Path(text)
    if path.is_file():
        return _read(path)
    if path.suffix or len(path.parts) > 1:
        raise DfccError(f"platform file '{path}' not found")
    raise DfccError(
        f"unknown platform '{text}'; known platforms: {', '.join(known_platforms())}"
    )


def _read(path: Path) -> Platform:
    def bad(why: str) -> DfccError:
        return DfccError(f"bad platform file: {why}", location=str(path))

    def no_constants(name: str):
        raise ValueError(f"{name} is not a number a platform can have")

    try:
        data = json.loads(path.read_text(), parse_constant=no_constants)
    except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
        raise bad(str(e)) from None
    except RecursionError:
        raise bad("nested too deeply") from None
    if not isinstance(data, dict):
        raise bad("expected a JSON object")
    data.setdefault("name", path.stem)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise bad(f"unknown key '{unknown[0]}' (expected {', '.join(sorted(_KEYS))})")
    missing = [k for k in sorted(_KEYS - {"note"}) if k not in data]
    if missing:
        raise bad(f"missing key '{missing[0]}'")
    for k in ("name", "part", "note"):
        if k in data and not (isinstance(data[k], str) and (data[k] or k == "note")):
            raise bad(f"key '{k}' must be a non-empty string")
    for k in _INT_KEYS:
        v = data[k]
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise bad(f"key '{k}' must be a non-negative integer, got {v!r}")
    for k in _POSITIVE_KEYS:
        v = data[k]
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            raise bad(f"key '{k}' must be a positive number, got {v!r}")
    return Platform(**data)
