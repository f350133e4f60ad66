"""`dfcc`: the mlir-opt-style driver. Reads MLIR, runs a pass pipeline, hands the result to a target.

Results go to stdout or `-o`; diagnostics and progress go to stderr. Every user error exits 1 with
a one-paragraph message, never a traceback (set DFCC_DEBUG=1 to see internal tracebacks).
"""

import argparse
import os
import sys
import traceback

from xdsl.utils.exceptions import DiagnosticException, PassFailedException, VerifyException

from dfcc.errors import DfccError


def _pass_usage(name: str, pass_class) -> str:
    """`name{option=default ...}` in pipeline syntax, as users write it."""
    from xdsl.passes import get_pass_option_infos

    options = " ".join(f"{o.name.replace('_', '-')}={o.default_value}" for o in get_pass_option_infos(pass_class))
    return f"{name}{{{options}}}" if options else name


def _parser(passes: dict, targets: dict) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dfcc", allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compile linalg-on-tensors MLIR (e.g. from dfcc-import) to streaming dataflow accelerators.",
        epilog="passes (options with their defaults):\n  "
        + "\n  ".join(_pass_usage(name, load()) for name, load in passes.items()) + "\n\ntargets:\n"
        + "\n".join(f"  {name:13s} {target.help}" for name, target in targets.items())
        + "\n\nexample:\n  dfcc model.mlir -p lower-to-dataflow -t cpu --input x.npz -o y.npz")
    parser.add_argument("file", help="input .mlir file, or - for standard input")
    parser.add_argument("-p", dest="pipeline", metavar="PIPELINE", help="passes, xDSL spelling: a,b{opt=1}")
    parser.add_argument("-pass-pipeline", "--pass-pipeline", dest="mlir_pipeline", metavar="PIPELINE",
                        help="passes, MLIR spelling: 'builtin.module(a,b{opt=1})'")
    parser.add_argument("-t", "--target", default="mlir", help="output to produce (default: mlir)")
    parser.add_argument("-o", "--output", help="output file (default: standard output)")
    parser.add_argument("--input", help="model inputs for -t cpu/csim: .npz with arg0, arg1, ... or one .npy")
    parser.add_argument("--json", action="store_true", help="machine-readable output where the target supports it")
    parser.add_argument("--plot", metavar="FILE.png", help="draw a picture where the target supports it")
    parser.add_argument("--load-pass-plugin", action="append", default=[], metavar="FILE.py",
                        help="import a Python file that registers passes (dfcc.passes.registry.register_pass)")
    return parser


def _load_plugin(path: str) -> None:
    import importlib.util

    if not os.path.isfile(path):
        raise DfccError(f"no such plugin file '{path}'")
    spec = importlib.util.spec_from_file_location(f"dfcc_plugin_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


def run(argv: list[str]) -> None:
    from dfcc.backends.targets import TARGETS, TargetRequest, get_target
    from dfcc.driver.output import refuse_unsafe_output
    from dfcc.driver.pipeline import parse_pipeline
    from dfcc.frontends.mlir import make_context, read_module
    from dfcc.passes.registry import available_passes, get_pass

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--load-pass-plugin", action="append", default=[])
    for plugin in pre.parse_known_args(argv)[0].load_pass_plugin:
        _load_plugin(plugin)
    args = _parser(available_passes(), TARGETS).parse_args(argv)
    if args.pipeline and args.mlir_pipeline:
        raise DfccError("give the pipeline once: either -p or -pass-pipeline")
    target = get_target(args.target)
    for output in (args.output, args.plot):
        if output is not None:
            refuse_unsafe_output(output, [args.file, args.input, *args.load_pass_plugin])
    specs = parse_pipeline(args.pipeline or args.mlir_pipeline or "")
    passes = [spec.instantiate(get_pass(spec.name)) for spec in specs]
    module = read_module(args.file)
    ctx = make_context()
    for spec, module_pass in zip(specs, passes):
        try:
            module_pass.apply(ctx, module)
            module.verify()
        except VerifyException as error:
            raise DfccError(f"pass '{spec.name}' produced invalid IR: {error}") from None
    target.run(module, TargetRequest(output=args.output, input=args.input, json=args.json, plot=args.plot))


def run_reporting_errors(prog: str, run_command, argv: list[str]) -> int:
    """Run a command; user errors become `PROG: error: ...` and exit code 1, bugs exit code 2."""
    try:
        run_command(argv)
    except (DfccError, PassFailedException, DiagnosticException) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug in dfcc: say so plainly, keep the traceback for DFCC_DEBUG
        if os.environ.get("DFCC_DEBUG"):
            traceback.print_exc()
        print(f"{prog}: internal error: {type(error).__name__}: {error} (set DFCC_DEBUG=1 for a traceback; please report)",
              file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_reporting_errors("dfcc", run, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
