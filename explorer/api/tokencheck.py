"""Credentials are checked before they go into a header: a malformed one is refused with a
message that names the problem and where it is, never the value.

httpx refuses a header value with a line break (its error message quotes the value) and
encodes header values as ASCII (a ``UnicodeEncodeError`` whose repr holds the value); both
would carry the secret into an error, a log or a crash report. A pasted token picks up such
characters easily: a trailing line break from a copied line, a zero-width space or a
non-breaking space from a web page, a letter turned accented by an input method.
"""

from __future__ import annotations

import unicodedata

_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def credential_problem(value: str) -> str | None:
    """What makes ``value`` unfit for an HTTP header, or None. The answer never quotes the
    value: it names the kind of character and its position (counting from 1)."""
    for index, char in enumerate(value, start=1):
        if "\x21" <= char <= "\x7e":
            continue
        if char in _LINE_BREAKS:
            what = "a line break"
        elif char in (" ", "\t"):
            what = "a space" if char == " " else "a tab"
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            what = f"a control character (U+{ord(char):04X})"
        else:
            name = unicodedata.name(char, "")
            described = f"U+{ord(char):04X} {name}".rstrip()
            hidden = unicodedata.category(char) in ("Cf", "Zs", "Zl", "Zp", "Mn")
            what = f"a non-ASCII character ({described}{', invisible' if hidden else ''})"
        return f"contains {what} at position {index}"
    return None
