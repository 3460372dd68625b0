"""Text cleaning before chunking: Unicode normalisation, control characters, whitespace, boilerplate lines.

Boilerplate is what help-centre exports repeat on every page ("Was this article helpful?", "Skip to main content",
cookie and copyright notices); it adds nothing to an answer and makes unrelated pages look alike.
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_BOILERPLATE = re.compile(
    r"^\s*("
    r"was this (article|page|answer) helpful\??.*"
    r"|skip to (main )?content"
    r"|(back to|return to) top"
    r"|print( this (page|article))?"
    r"|share( this( (page|article))?)?( on \w+)?"
    r"|(©|\(c\)|copyright)\s.*all rights reserved\.?"
    r"|.*\bwe use cookies\b.*"
    r"|(yes|no)\s*/\s*(yes|no)"
    r")\s*$",
    re.IGNORECASE,
)


def clean_text(text: str) -> str:
    """`text` normalised (NFC), without control characters, boilerplate lines or runs of spaces and blank lines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    kept = [line for line in lines if not _BOILERPLATE.match(line)]
    return _BLANK_LINES.sub("\n\n", "\n".join(kept)).strip()
