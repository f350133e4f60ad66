"""Reading MLIR text (torch-mlir's linalg-on-tensors output, or dataflow IR) into xDSL.

Parse and verify errors become `DfccError`s that carry the file name, line and column, so the
CLI can print them like a compiler does instead of a Python traceback.
"""

import re

from xdsl.context import Context
from xdsl.dialects import get_all_dialects
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.parser.generic_parser import ParserState
from xdsl.utils.exceptions import ParseError, VerifyException
from xdsl.utils.lexer import Input, Token
from xdsl.utils.mlir_lexer import MLIRLexer, MLIRTokenKind, StringLiteral

from dfcc.kinds import Dataflow
from dfcc.dialects.linalg_extra import extended_linalg
from dfcc.dialects.resources import isolate_resources
from dfcc.dialects.source_lines import remember_line
from dfcc.dialects.tm_tensor import TMTensor
from dfcc.errors import DfccError
from dfcc.frontends.module_checks import check_module
from dfcc.frontends.prescan import check_text, location


def make_context() -> Context:
    """A context with every xDSL dialect, linalg extended with torch-mlir's ops, and dataflow."""
    ctx = Context()
    for name, factory in get_all_dialects().items():
        if name != "linalg":
            ctx.register_dialect(name, factory)
    ctx.register_dialect("linalg", extended_linalg)
    ctx.load_dialect(Dataflow)
    ctx.load_dialect(TMTensor)
    return ctx


_LOCATION = re.compile(r"^.*?:(\d+):(\d+)\s*$")


def _parse_error(error: ParseError, filename: str, source: str | None = None) -> DfccError:
    text = str(error)
    first, _, rest = text.partition("\n")
    match = _LOCATION.match(first)
    location = f"{filename}:{match.group(1)}:{match.group(2)}" if match else filename
    lines = [line for line in rest.splitlines() if line.strip()]
    message = lines[-1].strip() if lines else text
    context = "\n".join(_around_caret(lines[:-1]))
    unregistered = re.search(r"Operation (\S+) is not registered", message)
    if unregistered:
        message = f"unsupported operation '{unregistered.group(1)}': dfcc cannot read it (not in any registered dialect)"
        others = _unregistered_ops(source, unregistered.group(1)) if source is not None else []
        if others:
            message += "".join(f"\n{filename}:{line}: unsupported operation '{name}'" for name, line in others)
    return DfccError(message + ("\n" + context if context else ""), location)


def _around_caret(lines: list[str], width: int = 100) -> list[str]:
    """xDSL's source line and caret line, cut to `width` characters around the caret (a 50 MB
    one-line file must not be echoed whole)."""
    if len(lines) != 2 or len(lines[0]) <= width or set(lines[1].strip()) - {"^"}:
        return [line[:width] for line in lines]
    start = max(0, lines[1].index("^") - width // 2)
    return ["..." + lines[0][start:start + width], "   " + lines[1][start:start + width]]


_OP_NAME = re.compile(r"^\s*(?:%[^=]*=\s*)?([a-z_][a-z0-9_]*\.[a-z0-9_.]+)\b", re.MULTILINE)


def _unregistered_ops(text: str, first: str) -> list[tuple[str, int]]:
    """Every other distinct op name in `text` no registered dialect defines, with its first line."""
    ctx, seen, found = make_context(), {first}, []
    ops_section = text.split("\n{-#", 1)[0]  # the resource blobs after `{-#` are not ops
    for match in _OP_NAME.finditer(ops_section):
        name = match.group(1)
        if name in seen:
            continue
        seen.add(name)
        if ctx.get_optional_op(name) is None:
            found.append((name, text.count("\n", 0, match.start(1)) + 1))
    return found


_HEX_SPLAT = re.compile(r"dense<0x([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8}|[0-9A-Fa-f]{16})>")


def _quoted_hex_splats(text: str) -> str:
    """`dense<0xFF800000>` (a splat given by its bits, as MLIR prints -inf) in the quoted form xDSL reads as bits.

    xDSL 0.74 reads the unquoted form as the integer 4286578688 converted to float.
    """
    def quoted(match: re.Match) -> str:
        digits = match.group(1)
        return f'dense<"0x{int(digits, 16).to_bytes(len(digits) // 2, "little").hex().upper()}">'
    return _HEX_SPLAT.sub(quoted, text)


class _BlobLexer(MLIRLexer):
    """xDSL's lexer, finding a string literal without escapes by its closing quote.

    xDSL matches every literal with a regex that steps through it a character at a time; torch-mlir's
    weight blobs are hex strings of megabytes, and a byte search finds their end many times faster.
    """

    def _lex_string_literal(self, start_pos: int) -> Token:
        content = self.input.content
        end = content.find('"', start_pos + 1)
        if end < 0 or any(content.find(char, start_pos + 1, end) >= 0 for char in '\\\n\v\f'):
            return super()._lex_string_literal(start_pos)  # escapes, or not closed: xDSL's own rules
        self.pos = end + 1
        return Token(MLIRTokenKind.STRING_LIT, StringLiteral(start_pos, self.pos, self.input))


class _LineRecordingParser(Parser):
    """xDSL's parser, remembering the line each op starts on (for diagnostics)."""

    def __init__(self, ctx: Context, text: str, filename: str):
        super().__init__(ctx, text, filename)
        self._parser_state = ParserState(_BlobLexer(Input(text, filename)))
        self._counted = (0, 1)  # (offset, line at it): lines are counted from the last op, not the file start

    def parse_operation(self):
        start = self._current_token.span.start
        op = super().parse_operation()
        source = self.lexer.input
        offset, line = self._counted
        if start >= offset:
            line += source.content.count("\n", offset, start)
        else:
            line -= source.content.count("\n", start, offset)
        self._counted = (start, line)
        remember_line(op, source.name, line)
        return op


def parse_module(text: str, filename: str = "<stdin>", ctx: Context | None = None) -> ModuleOp:
    """Parse and verify MLIR text; errors name the file, line and column."""
    check_text(text, filename)
    text = _quoted_hex_splats(text)
    parser = _LineRecordingParser(ctx or make_context(), text, filename)
    try:
        module = isolate_resources(parser.parse_module)
    except ParseError as error:
        raise _parse_error(error, filename, text) from None
    except RecursionError:
        raise DfccError("the IR is nested too deeply for dfcc's parser", filename) from None
    except Exception as error:  # xDSL rejects some values (an i64 of 10^30, an f32 of 1e39) this way
        raise DfccError(f"cannot parse: {type(error).__name__}: {error}", location(text, parser.pos, filename)) from None
    try:
        module.verify()
        check_module(module)
    except VerifyException as error:
        raise DfccError(f"invalid IR: {error}", filename) from None
    except DfccError as error:
        raise DfccError(error.message, filename) from None
    except Exception as error:  # an xDSL verifier failing on an impossible attribute (a bad index)
        raise DfccError(f"invalid IR: {type(error).__name__}: {error}", filename) from None
    return module


def read_module(path: str) -> ModuleOp:
    """Read a .mlir file ('-' is standard input)."""
    import sys

    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as error:
        raise DfccError(f"cannot read input file: {error.strerror}", path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise DfccError(f"the file is not UTF-8 text (byte 0x{data[error.start]:02x}); MLIR files are UTF-8",
                        f"{name}:{line}:{column}") from None
    return parse_module(text, name)
