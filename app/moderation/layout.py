"""How a message of hope is laid out in the printed bundle: bounded, whatever was typed.

A message of 1,500 line breaks once printed as 36 pages. In print, runs of blank lines collapse to one empty line
and a message stops after BUNDLE_MESSAGE_MAX_LINES lines (about one A4 page), with a visible note; the moderation
pages say beforehand which messages will be shortened, so that a moderator can edit one instead.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from app import text

# Characters of ordinary width a printed line holds, counted low (about 70 fit): lines are rather over-counted.
LINE_UNITS = 60
# A run of characters without a space longer than LONG_RUN gets a break opportunity (U+200B, invisible) every
# BREAK_EVERY characters: the line breaker otherwise tries every split of a 1,500-character "word" (80 ms a message).
LONG_RUN = 40
BREAK_EVERY = 8
ZERO_WIDTH_SPACE = "\u200b"
_LONG_RUN = re.compile(rf"\S{{{LONG_RUN + 1},}}")


@dataclass(frozen=True)
class PrintedMessage:
    text: str  # what is printed
    shortened: bool  # True when the end of the message is left out (the print says so)


def _char_units(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _line_cost(line: str) -> int:
    """Printed lines a line of text takes (at least one, also when empty)."""
    return max(1, math.ceil(sum(_char_units(c) for c in line) / LINE_UNITS))


def _collapse_blank_lines(message: str) -> list[str]:
    """The message's lines, with blank ones (spaces and invisible characters only) collapsed to one empty line and
    none at either end."""
    lines: list[str] = []
    for line in message.splitlines():
        if text.is_blank(line):
            if lines and lines[-1] != "":
                lines.append("")
        else:
            lines.append(line.rstrip())
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def _offer_breaks(line: str) -> str:
    """A run of more than LONG_RUN characters without a space (no word is that long) gets an invisible break
    opportunity every BREAK_EVERY characters, placed before a base character only (never between a letter and its
    combining marks or joiners); words of ordinary length are left alone."""
    return _LONG_RUN.sub(lambda match: _chunked(match.group()), line)


def _chunked(run: str) -> str:
    out: list[str] = []
    count = 0
    for index, char in enumerate(run):
        if count >= BREAK_EVERY and _char_units(char) and run[index - 1] not in "\u200c\u200d":
            out.append(ZERO_WIDTH_SPACE)
            count = 0
        out.append(char)
        count += 1
    return "".join(out)


def _cut(line: str, units: int) -> str:
    """The start of `line` that takes at most `units` character widths (never splitting a combining sequence)."""
    used = 0
    for index, char in enumerate(line):
        used += _char_units(char)
        if used > units:
            return line[:index]
    return line


def printed_message(message: str, max_lines: int) -> PrintedMessage:
    """The message as the bundle prints it: blank runs collapsed, at most `max_lines` printed lines."""
    lines = _collapse_blank_lines(message or "")
    kept: list[str] = []
    used = 0
    shortened = False
    for line in lines:
        cost = _line_cost(line)
        if used + cost > max_lines:
            start = _cut(line, (max_lines - used) * LINE_UNITS - 1).rstrip()
            if not text.is_blank(start):
                kept.append(start)
            shortened = True
            break
        kept.append(line)
        used += cost
    while kept and kept[-1] == "":
        kept.pop()
    return PrintedMessage("\n".join(_offer_breaks(line) for line in kept), shortened)
