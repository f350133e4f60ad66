"""Rewrite tests/golden/outputs.json: `python -m tests.golden.regenerate [MODEL ...]` (default: all)."""

import json
import sys

from tests.golden import GOLDEN_FILE, compute, golden_models


def main(names: list[str]) -> None:
    golden = json.loads(GOLDEN_FILE.read_text()) if GOLDEN_FILE.exists() else {}
    for name in names or golden_models():
        print(f"golden: {name}", file=sys.stderr)
        golden[name] = compute(name)
    GOLDEN_FILE.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
