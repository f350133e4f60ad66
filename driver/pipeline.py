"""Pass pipeline strings, in xDSL's spelling and MLIR's.

    xDSL:  lower-to-dataflow,quantize{weight-bits=4 calibration=data/cal.npz},estimate
    MLIR:  builtin.module(lower-to-dataflow,quantize{weight-bits=4},estimate)

Options are space-separated `key=value` pairs in braces. A value is an int, a float, `true`/`false`, a bare word (paths included: `data/cal.npz`, `./x.json`), a quoted
string ("with spaces", 'single'; backslash escapes the next character), or a list: `1,2,3` or
`[1,2,3]`. Lists become tuples, which is what xDSL's `tuple[int, ...]` pass fields take.

dfcc passes all run on the top-level module, so `builtin.module(...)` may wrap the whole pipeline
and any other op anchor (`func.func(...)`) is rejected.
"""

import re
import types
from dataclasses import dataclass, field, fields, is_dataclass
from typing import TypeVar, Union, get_args, get_origin, get_type_hints

from lark import Lark, Token, Tree, UnexpectedInput, UnexpectedToken
from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import ArgSpec

from dfcc.errors import DfccError

Scalar = str | int | float | bool
OptionValue = Scalar | tuple[Scalar, ...]
P = TypeVar("P", bound=ModulePass)

_GRAMMAR = r"""
start: pipeline?
pipeline: element ("," element)*
element: NAME options?            -> pass_
       | NAME "(" pipeline? ")"   -> anchor
options: "{" option* "}"
option: NAME "=" value
value: items
     | "[" items? "]"             -> list_value
items: item ("," item)*
item: WORD | STRING

NAME: /[A-Za-z_][A-Za-z0-9_.\-]*/
WORD: /[^\s{}\[\](),="']+/
STRING: /"(\\.|[^"\\])*"/ | /'(\\.|[^'\\])*'/
%ignore /\s+/
"""
_PARSER = Lark(_GRAMMAR, parser="lalr")
_TERMINAL_NAMES = {
    "NAME": "a name",
    "WORD": "a value",
    "STRING": "a quoted string",
    "$END": "end of pipeline",
}
_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+(?=[eE]))([eE][-+]?\d+)?")


@dataclass(frozen=True)
class PassSpec:
    """One pass of a pipeline: its name and options (option names as written, e.g. kebab-case)."""

    name: str
    options: dict[str, OptionValue] = field(default_factory=dict)

    def to_arg_spec(self, float_options: frozenset[str] = frozenset()) -> ArgSpec:
        """The spec xDSL's `ModulePass.from_pass_spec` takes (every value a tuple); an integer given
        for one of `float_options` (field names) becomes a float, as `utilisation=1` means 1.0."""
        def as_tuple(key: str, value: OptionValue) -> tuple[Scalar, ...]:
            values = value if isinstance(value, tuple) else (value,)
            if key.replace("-", "_") in float_options:
                values = tuple(float(v) if type(v) is int else v for v in values)
            return values

        return ArgSpec(self.name, {k: as_tuple(k, v) for k, v in self.options.items()})

    def instantiate(self, pass_class: type[P]) -> P:
        """Build `pass_class` from these options; bad or missing options raise DfccError."""
        hints = get_type_hints(pass_class) if is_dataclass(pass_class) else {}
        float_options = frozenset(k for k, hint in hints.items() if hint is float or hint == float | None)
        if is_dataclass(pass_class):
            self._check_options(pass_class, hints, float_options)
        try:
            return pass_class.from_pass_spec(self.to_arg_spec(float_options))
        except ValueError as e:
            raise DfccError(f"pass '{self.name}': {e}") from None

    def _check_options(self, pass_class: type, hints: dict, float_options: frozenset[str]) -> None:
        """Name the option that is unknown or of the wrong type, in the pipeline's kebab-case spelling
        (xDSL's own messages give field names and Python types, not the option)."""
        known = [f.name for f in fields(pass_class) if f.init and f.name != "name"]
        for key, value in self.options.items():
            attr = key.replace("-", "_")
            if attr not in known:
                spelled = ", ".join(k.replace("_", "-") for k in known)
                raise DfccError(f"pass '{self.name}': unknown option '{key}'; its options are: {spelled}")
            values = value if isinstance(value, tuple) else (value,)
            if attr in float_options:
                values = tuple(float(v) if type(v) is int else v for v in values)
            wanted = _scalar_types(hints[attr])
            if (get_origin(hints[attr]) is not tuple and len(values) != 1) or not all(
                    type(v) in wanted for v in values):
                kinds = " or ".join(sorted({_TYPE_WORDS[t] for t in wanted}))
                shown = ",".join("true" if v is True else "false" if v is False else str(v) for v in values)
                raise DfccError(f"pass '{self.name}': option '{key}' takes {kinds}, got '{shown}'")


_TYPE_WORDS = {bool: "true/false", int: "an integer", float: "a number", str: "a word or quoted string"}


def _scalar_types(hint: object) -> set[type]:
    """The scalar types a pass field's annotation accepts (`int | float`, `str | None`, `tuple[int, ...]`)."""
    if get_origin(hint) in (Union, types.UnionType):
        return set().union(*(_scalar_types(a) for a in get_args(hint) if a is not type(None)))
    if get_origin(hint) is tuple:
        return set().union(*(_scalar_types(a) for a in get_args(hint) if a is not Ellipsis))
    return {hint} if hint in _TYPE_WORDS else set(_TYPE_WORDS)


def parse_pipeline(text: str) -> list[PassSpec]:
    """Parse either spelling into pass specs; malformed text raises DfccError pointing at the column."""
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as e:
        at_end = isinstance(e, UnexpectedToken) and e.token.type == "$END"
        raise _error(text, len(text) if at_end else e.pos_in_stream, _describe(e)) from None
    elements = tree.children[0].children if tree.children else []
    if elements and elements[0].data == "anchor" and elements[0].children[0] == "builtin.module":
        anchor = elements[0]
        if len(elements) > 1:
            raise _error(text, anchor.children[0].start_pos, "builtin.module(...) must wrap the whole pipeline")
        elements = anchor.children[1].children if len(anchor.children) > 1 else []
    return [_pass_spec(text, element) for element in elements]


def _pass_spec(text: str, element: Tree) -> PassSpec:
    name, *rest = element.children
    if element.data == "anchor":
        raise _error(
            text,
            name.start_pos,
            f"op anchor '{name}(...)' is not supported: dfcc passes run on the whole module, "
            "so list them directly or inside builtin.module(...)",
        )
    options: dict[str, OptionValue] = {}
    for option in rest[0].children if rest else []:
        key, value = option.children
        if key in options:
            raise _error(text, key.start_pos, f"option '{key}' given twice for pass '{name}'")
        options[str(key)] = _value(value)
    return PassSpec(str(name), options)


def _value(value: Tree) -> OptionValue:
    items = tuple(_scalar(item.children[0]) for item in (value.children[0].children if value.children else []))
    return items[0] if value.data == "value" and len(items) == 1 else items


def _scalar(token: Token) -> Scalar:
    if token.type == "STRING":
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    if token in ("true", "false"):
        return token == "true"
    if _INT.fullmatch(token):
        return int(token)
    if _FLOAT.fullmatch(token):
        return float(token)
    return str(token)


def _describe(e: UnexpectedInput) -> str:
    if isinstance(e, UnexpectedToken):
        got = "end of pipeline" if e.token.type == "$END" else repr(str(e.token))
        expected = sorted(e.expected)
    elif e.char in "'\"":
        return "unterminated quoted string"
    else:
        got = repr(e.char)
        expected = sorted(e.allowed)
    names = sorted({_TERMINAL_NAMES.get(t) or repr(_PARSER.get_terminal(t).pattern.value) for t in expected})
    hint = " (options are key=value; quote values that contain spaces)" if "EQUAL" in expected else ""
    return f"unexpected {got}" + (f", expected {' or '.join(names)}" if names else "") + hint


def _error(text: str, pos: int, message: str) -> DfccError:
    """A DfccError whose message shows the pipeline with a caret under character `pos`."""
    pos = min(max(pos, 0), len(text))
    return DfccError(f"{message}\n  {text}\n  {' ' * pos}^", location=f"pass pipeline, column {pos + 1}")
