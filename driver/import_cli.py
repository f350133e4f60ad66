"""`dfcc-import FILE.py:FN --shape 1,3,32,32 -o model.mlir`: a PyTorch model to linalg MLIR."""

import argparse
import sys

from dfcc.backends.output import refuse_unsafe_output, write_atomic
from dfcc.driver.cli import run_reporting_errors
from dfcc.errors import DfccError
from dfcc.frontends.torch import _require_torch, import_to_text, load_model_factory


INPUT_DTYPES = ("f32", "i64", "i32")


def _shape(text: str) -> tuple[tuple[int, ...], str]:
    """`1,3,32,32` (float32) or `1,16:i64` (integer inputs such as token ids)."""
    dims, _, dtype = text.partition(":")
    dtype = dtype or "f32"
    if dtype not in INPUT_DTYPES:
        raise argparse.ArgumentTypeError(f"input type must be one of {', '.join(INPUT_DTYPES)}, got '{dtype}' in '{text}'")
    try:
        shape = tuple(int(d) for d in dims.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must be comma-separated integers, got '{text}'") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"shape dimensions must be positive, got '{text}'")
    return shape, dtype


def example_input(torch, shape: tuple[int, ...], dtype: str, generator):
    """A random tracing input: normal floats, or integers in [0, 2) (valid token ids for any vocabulary)."""
    if dtype == "f32":
        return torch.randn(shape, generator=generator)
    return torch.randint(0, 2, shape, generator=generator, dtype=getattr(torch, {"i64": "int64", "i32": "int32"}[dtype]))


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="dfcc-import", allow_abbrev=False,
                                     description="Import a PyTorch nn.Module with torch-mlir to linalg-on-tensors MLIR.")
    parser.add_argument("model", help="FILE.py:FUNCTION, where FUNCTION() returns the nn.Module")
    parser.add_argument("--shape", type=_shape, action="append", required=True,
                        help="shape of one input, e.g. 1,3,32,32, with :i64 or :i32 for integer inputs such as "
                             "token ids (1,16:i64); repeat for several inputs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random example inputs used for tracing")
    parser.add_argument("-o", "--output", help="output .mlir file (default: standard output)")
    args = parser.parse_args(argv)
    if args.output:
        refuse_unsafe_output(args.output, [args.model.rpartition(":")[0]])
    torch, _ = _require_torch()
    module = load_model_factory(args.model)
    if not isinstance(module, torch.nn.Module):
        raise DfccError(f"{args.model} returned {type(module).__name__}, not a torch.nn.Module")
    generator = torch.Generator().manual_seed(args.seed)
    inputs = [example_input(torch, shape, dtype, generator) for shape, dtype in args.shape]
    text = import_to_text(module, *inputs)
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)


def main(argv: list[str] | None = None) -> int:
    return run_reporting_errors("dfcc-import", run, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
