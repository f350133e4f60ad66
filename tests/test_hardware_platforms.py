import json

import pytest

from dfcc.errors import DfccError
from dfcc.hardware.platforms import Platform, known_platforms, load_platform

# HARDWARE_MODEL.md platform table: DSP, BRAM18, URAM, LUT, FF, MHz, Gbps
TABLE = {
    "u250": (12288, 5376, 1280, 1728000, 3456000, 250, 614.4),
    "u200": (6840, 4320, 960, 1182000, 2364000, 250, 614.4),
    "u50": (5952, 2688, 640, 871680, 1743360, 250, 1608),
    "vcu118": (6840, 4217, 938, 1182240, 2364480, 250, 100),
    "zcu102": (2520, 1824, 0, 274080, 548160, 200, 153.6),
    "zcu104": (1728, 624, 96, 230400, 460800, 200, 153.6),
    "zc706": (900, 1090, 0, 218600, 437200, 200, 102.4),
    "zedboard": (220, 280, 0, 53200, 106400, 200, 34.112),
}


def test_bundled_boards_match_table():
    assert known_platforms() == sorted(TABLE)
    for name, row in TABLE.items():
        p = load_platform(name)
        assert (p.dsp, p.bram18, p.uram, p.lut, p.ff, p.clock_mhz, p.bandwidth_gbps) == row


def test_lookup_is_case_insensitive_and_has_part():
    p = load_platform("ZCU102")
    assert p.name == "ZCU102" and p.part == "xczu9eg-ffvb1156-2-e"
    assert load_platform("ZedBoard").part == "xc7z020clg484-1"
    assert load_platform("u250").part == "xcu250-figd2104-2L-e"


def test_bandwidth_per_cycle():
    # 153.6 Gbit/s at 200 MHz = 768 bits per cycle
    assert load_platform("zcu102").bandwidth_bits_per_cycle == pytest.approx(768)


def test_frozen():
    with pytest.raises(AttributeError):
        load_platform("zcu102").dsp = 1


def test_unknown_name_lists_known():
    with pytest.raises(DfccError) as e:
        load_platform("zcu999")
    assert "zcu999" in str(e.value)
    for name in TABLE:
        assert name in str(e.value)


def _write(tmp_path, data, name="board.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


GOOD = dict(part="xc7z020clg484-1", dsp=10, bram18=20, uram=0, lut=1000, ff=2000,
            clock_mhz=100, bandwidth_gbps=1.5)


def test_user_file(tmp_path):
    p = load_platform(_write(tmp_path, GOOD))
    assert p == Platform(name="board", **GOOD)
    assert load_platform(str(_write(tmp_path, {**GOOD, "name": "Mine"}, "x.json"))).name == "Mine"


def test_missing_file(tmp_path):
    with pytest.raises(DfccError, match="not found"):
        load_platform(tmp_path / "nope.json")


@pytest.mark.parametrize("data, message", [
    ("{not json", "bad platform file"),
    ("[1, 2]", "expected a JSON object"),
    ({k: v for k, v in GOOD.items() if k != "bram18"}, "missing key 'bram18'"),
    ({**GOOD, "bram": 3}, "unknown key 'bram'"),
    ({**GOOD, "dsp": -1}, "key 'dsp' must be a non-negative integer"),
    ({**GOOD, "lut": 1.5}, "key 'lut' must be a non-negative integer"),
    ({**GOOD, "clock_mhz": 0}, "key 'clock_mhz' must be a positive number"),
    ({**GOOD, "part": ""}, "key 'part' must be a non-empty string"),
])
def test_bad_file_names_file_and_key(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(DfccError, match=message) as e:
        load_platform(path)
    assert str(path) in str(e.value)
