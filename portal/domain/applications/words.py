"""Words and texts: how answers and statements are counted, cleaned and limited."""

from __future__ import annotations

import re
from typing import Any

# A generous cap on any one text, far above any word limit: it stops a 1 MB paste
# before it reaches the database, with a message instead of a 500.
MAX_TEXT_CHARS = 20_000

# Each statement against a criterion; questions carry their own limits.
STATEMENT_WORD_LIMIT = 500


# The word rule, shared with the page's counter: a word is a run of characters
# between separators, and the separators are exactly JavaScript's `\s` class, so
# `text.split(/[...]+/)` in the browser counts the same (Python's own whitespace
# differs at the edges, e.g. U+001C..U+001F and U+FEFF).
WORD_SEPARATORS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


_WORD = re.compile(f"[^{WORD_SEPARATORS}]+")


def count_words(text: str) -> int:
    """Whitespace-separated tokens: "co-operate" and "£5,000" are one word each."""
    return sum(1 for _ in _WORD.finditer(text or ""))


def over_limit_message(label: str, words: int, word_limit: int) -> str:
    return f"{label} has {words} words; the limit is {word_limit}."


def clean_text(
    text: Any,
    field_name: str,
    label: str,
    word_limit: int,
    errors: dict[str, str],
    over_limit: dict[str, str] | None = None,
) -> str:
    """Normalise line ends and trim; record a message in `errors` for anything refused.

    A text over its word limit is kept: its message goes to `over_limit` when given (a
    draft saves it, marked; only submitting is refused), else to `errors`."""
    if not isinstance(text, str):
        errors[field_name] = f"{label}: enter text."
        return ""
    if "\x00" in text:
        errors[field_name] = (
            f"{label} contains a character that cannot be saved (a NUL byte); remove it and try again."
        )
        return ""
    if len(text) > MAX_TEXT_CHARS:
        errors[field_name] = f"{label} is too long: keep it under {word_limit} words."
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    words = count_words(text)
    if words > word_limit:
        target = errors if over_limit is None else over_limit
        target[field_name] = over_limit_message(label, words, word_limit)
    return text
