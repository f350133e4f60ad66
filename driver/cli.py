"""`dfcc`: the mlir-opt-style driver. Reads MLIR, runs a pass pipeline, hands the result to a target.

Results go to stdout or `-o`; diagnostics and progress go to stderr. Exit codes (README): 0 done,
1 user error, command-line usage included (one clear message, never a traceback), 3 internal error,
a bug in dfcc (set DFCC_DEBUG=1 to see its traceback), 130 interrupted.
"""

import argparse
import os
import sys
import traceback

from xdsl.passes import get_pass_option_infos
from xdsl.utils.exceptions import DiagnosticException, PassFailedException, VerifyException

from dfcc.analyses.reference import check_weights_on_grid
from dfcc.backends.output import refuse_unsafe_output
from dfcc.backends.targets import TARGETS, TargetRequest, get_target
from dfcc.driver.pipeline import parse_pipeline
from dfcc.errors import DfccError, InternalError
from dfcc.frontends.mlir import make_context, read_module
from dfcc.frontends.module_checks import check_module
from dfcc.passes.registry import available_passes, get_pass

EXIT_USER_ERROR, EXIT_INTERNAL_ERROR, EXIT_INTERRUPTED = 1, 3, 130
_ARGPARSE_USAGE_ERROR = 2  # argparse's own exit code after printing its message
_EXIT_CODES = ("exit codes: 0 done, 1 error in the command line, the input or the request (a message says what "
               "and where), 3 internal error (a bug in dfcc: please report), 130 interrupted")
_MAX_LINE = 300  # characters of one message line: a 50 MB one-line input must not be echoed whole


def _pass_usage(name: str, pass_class) -> str:
    """`name{option=default ...}` in pipeline syntax, as users write it."""
    options = " ".join(f"{o.name.replace('_', '-')}={o.default_value}" for o in get_pass_option_infos(pass_class))
    return f"{name}{{{options}}}" if options else name


def _parser(passes: dict, targets: dict) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dfcc", allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compile linalg-on-tensors MLIR (e.g. from dfcc-import) to streaming dataflow accelerators.",
        epilog="passes (options with their defaults):\n  "
        + "\n  ".join(_pass_usage(name, load()) for name, load in passes.items()) + "\n\ntargets:\n"
        + "\n".join(f"  {name:13s} {target.help}" for name, target in targets.items())
        + "\n\nexample:\n  dfcc model.mlir -p lower-to-dataflow -t cpu --input x.npz -o y.npz\n\n" + _EXIT_CODES)
    parser.add_argument("file", help="input .mlir file, or - for standard input")
    parser.add_argument("-p", dest="pipeline", metavar="PIPELINE", help="passes, xDSL spelling: a,b{opt=1}")
    parser.add_argument("-pass-pipeline", "--pass-pipeline", dest="mlir_pipeline", metavar="PIPELINE",
                        help="passes, MLIR spelling: 'builtin.module(a,b{opt=1})'")
    parser.add_argument("-t", "--target", default="mlir", help="output to produce (default: mlir)")
    parser.add_argument("-o", "--output", help="output file (default: standard output)")
    parser.add_argument("--input", help="model inputs for -t cpu/csim: .npz with arg0, arg1, ... or one .npy")
    parser.add_argument("--json", action="store_true", help="machine-readable output where the target supports it")
    parser.add_argument("--plot", metavar="FILE.png", help="draw a picture where the target supports it")
    parser.add_argument("--bounded-fifos", action="store_true",
                        help="-t csim: every stream at its FIFO depth, stages as threads (reports deadlocks)")
    parser.add_argument("--load-pass-plugin", action="append", default=[], metavar="FILE.py",
                        help="import a Python file that registers passes (dfcc.passes.registry.register_pass)")
    return parser


def _load_plugin(path: str) -> None:
    import importlib.util

    if not os.path.isfile(path):
        raise DfccError(f"no such plugin file '{path}'")
    spec = importlib.util.spec_from_file_location(f"dfcc_plugin_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # so the plugin's classes (dataclasses, passes) can find their module
    try:
        spec.loader.exec_module(module)
    except DfccError:
        raise
    except Exception as error:  # the plugin's own code failed: the user's file, not dfcc
        raise DfccError(f"loading the pass plugin failed: {_plugin_failure(error, path)}") from None


def _plugin_failure(error: Exception, path: str | None) -> str:
    """The error and the plugin's line it came from (a syntax error carries its own)."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg} ({path}:{error.lineno})"
    frames = traceback.extract_tb(error.__traceback__)
    lines = [frame.lineno for frame in frames if path and os.path.abspath(frame.filename) == os.path.abspath(path)]
    return f"{type(error).__name__}: {error}" + (f" ({path}:{lines[-1]})" if lines else "")


def _apply(name: str, module_pass, ctx, module) -> None:
    """Run one pass and check its result: a plugin pass that raises or breaks the IR is the user's
    error, dfcc's own pass breaking the IR is a bug in dfcc."""
    own = type(module_pass).__module__.startswith("dfcc.")
    try:
        module_pass.apply(ctx, module)
    except (DfccError, PassFailedException, DiagnosticException):
        raise
    except Exception as error:
        if own:
            raise
        source = getattr(sys.modules.get(type(module_pass).__module__), "__file__", None)
        raise DfccError(f"plugin pass '{name}' failed: {_plugin_failure(error, source)}") from None
    try:
        module.verify()
        check_module(module)
    except (VerifyException, DfccError) as error:
        problem = f"pass '{name}' produced invalid IR: {error}"
        raise (InternalError(problem) if own else DfccError(problem)) from None


def run(argv: list[str]) -> None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--load-pass-plugin", action="append", default=[])
    for plugin in pre.parse_known_args(argv)[0].load_pass_plugin:
        _load_plugin(plugin)
    args = _parser(available_passes(), TARGETS).parse_args(argv)
    if args.pipeline and args.mlir_pipeline:
        raise DfccError("give the pipeline once: either -p or -pass-pipeline")
    target = get_target(args.target)
    if args.plot is not None and not args.plot.lower().endswith(".png"):
        raise DfccError(f"--plot draws a PNG image: name it FILE.png, not '{args.plot}'")
    for output in (args.output, args.plot):
        if output is not None:
            refuse_unsafe_output(output, [args.file, args.input, *args.load_pass_plugin])
    specs = parse_pipeline(args.pipeline or args.mlir_pipeline or "")
    passes = [spec.instantiate(get_pass(spec.name)) for spec in specs]
    module = read_module(args.file)
    ctx = make_context()
    for spec, module_pass in zip(specs, passes):
        _apply(spec.name, module_pass, ctx, module)
    check_weights_on_grid(module)  # every target then reads quantized weights the same way
    options = {"bounded_fifos": "1"} if args.bounded_fifos else {}
    target.run(module, TargetRequest(output=args.output, input=args.input, json=args.json, plot=args.plot,
                                     options=options))


def _bounded(message: str) -> str:
    return "\n".join(line if len(line) <= _MAX_LINE else f"{line[:_MAX_LINE]}... ({len(line) - _MAX_LINE} more characters)"
                     for line in message.splitlines())


def run_reporting_errors(prog: str, run_command, argv: list[str]) -> int:
    """Run a command; user errors become `PROG: error: ...` and exit code 1, bugs exit code 3.
    A usage error is a user error too: argparse has printed its message, only its exit code changes."""
    try:
        run_command(argv)
    except SystemExit as exit_:
        return EXIT_USER_ERROR if exit_.code == _ARGPARSE_USAGE_ERROR else exit_.code
    except (DfccError, PassFailedException, DiagnosticException) as error:
        print(f"{prog}: error: {_bounded(str(error))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug in dfcc: say so plainly, keep the traceback for DFCC_DEBUG
        if os.environ.get("DFCC_DEBUG"):
            traceback.print_exc()
        what = str(error) if isinstance(error, InternalError) else f"{type(error).__name__}: {error}"
        print(f"{prog}: internal error: {_bounded(what)} (set DFCC_DEBUG=1 for a traceback; please report)",
              file=sys.stderr)
        return EXIT_INTERNAL_ERROR
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_reporting_errors("dfcc", run, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
