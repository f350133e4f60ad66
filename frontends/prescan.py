"""A linear check of MLIR text before xDSL parses it: strings, brackets and nesting depth.

xDSL 0.74's lexer matches a string literal with a nested-quantifier regex that backtracks
exponentially when the literal never closes (a file cut inside a string or a weights blob: 40
characters take hours) or holds a bad escape. This scan uses possessive quantifiers, so it is linear,
and reports such a literal, an unbalanced bracket or nesting deeper than the parser's recursion
allows, with its line and column, before the parser ever sees the text.
"""

import re

from dfcc.errors import DfccError

MAX_NESTING = 64  # brackets deep; xDSL's recursive-descent parser overflows Python's stack near 200
_INTERESTING = re.compile(r'[/"()\[\]{}]')
_STRING = re.compile(r'"(?:[^"\\\n\v\f]++|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*+')
_PAIRS = {")": "(", "]": "[", "}": "{"}


def check_text(text: str, filename: str) -> None:
    """Raise DfccError (file:line:column) on an unterminated or malformed string literal, an
    unbalanced bracket or too deep nesting; valid MLIR passes untouched."""
    stack: list[int] = []
    position = 0
    while match := _INTERESTING.search(text, position):
        start, char = match.start(), match.group()
        position = start + 1
        if char == "/":
            if text.startswith("//", start):
                end = text.find("\n", start)
                position = len(text) if end < 0 else end
        elif char == '"':
            end = _string_end(text, start)
            if end == len(text) or text[end] != '"':
                raise _error(text, filename, start, _why_unterminated(text, end))
            position = end + 1
        elif char in "([{":
            stack.append(start)
            if len(stack) > MAX_NESTING:
                raise _error(text, filename, start, f"brackets nested deeper than {MAX_NESTING} levels")
        elif not stack or text[stack[-1]] != _PAIRS[char]:
            raise _error(text, filename, start, f"unbalanced '{char}'")
        else:
            stack.pop()
    if stack:
        raise _error(text, filename, stack[-1], f"'{text[stack[-1]]}' is never closed (truncated file?)")


def _string_end(text: str, start: int) -> int:
    """Where the string literal opened at `start` stops: its closing quote, or the first bad character.

    A literal without escapes (every weights blob) ends at the next quote, which a byte search finds
    much faster than the regex, which is kept for the others.
    """
    end = text.find('"', start + 1)
    if end < 0 or any(text.find(char, start + 1, end) >= 0 for char in "\\\n\v\f"):
        return _STRING.match(text, start).end()
    return end


def _why_unterminated(text: str, end: int) -> str:
    if end == len(text):
        return "the file ends inside this string literal (truncated file?)"
    if text[end] in "\n\v\f":
        return "string literal not closed on its line"
    return f"invalid escape '{text[end:end + 3]}' in string literal (use \\n, \\t, \\\\, \\\" or two hex digits)"


def location(text: str, position: int, filename: str) -> str:
    """`file:line:column` of a character offset (both counted from 1, as compilers print them)."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"{filename}:{line}:{column}"


def _error(text: str, filename: str, position: int, message: str) -> DfccError:
    return DfccError(message, location(text, position, filename))
