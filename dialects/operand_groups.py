"""Parsing of the `ins(%a, %b : T, U)` / `outs(...)` operand groups that linalg-style ops print."""

from __future__ import annotations

from xdsl.ir import SSAValue
from xdsl.parser import Parser


def parse_operand_group(parser: Parser, keyword: str, optional: bool = False) -> list[SSAValue]:
    """`keyword(operands : types)`, resolved; an absent optional group is empty."""
    pos = parser.pos
    if optional:
        if parser.parse_optional_characters(keyword) is None:
            return []
    else:
        parser.parse_characters(keyword)
    parser.parse_punctuation("(")
    operands = parser.parse_comma_separated_list(Parser.Delimiter.NONE, parser.parse_unresolved_operand)
    parser.parse_punctuation(":")
    types = parser.parse_comma_separated_list(Parser.Delimiter.NONE, parser.parse_type)
    parser.parse_punctuation(")")
    return parser.resolve_operands(operands, types, pos)
