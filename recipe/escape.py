"""Where a user value lands, and what keeps it what it is there. Every rule is in this file.

- Any option's text: no line breaks or other control characters (`text_problem`). They have no
  meaning in a path, a name or an address, and each place below would read them differently.
- A YAML scalar that Compose reads (`compose_scalar`, the template's `q` filter): JSON-quoted
  (a JSON string is a YAML double-quoted scalar), with every `$` doubled, because Compose
  interpolates `$VAR` and `${VAR:?}` in every string of the file, x- blocks included. What
  Compose loads is then exactly the value asked for; `compose_unescape` is the reader's inverse.
- A comment (`comment`): one line, whatever it echoes; a line break would end the comment and
  make the rest YAML.
- A message: a value that is not plain text is shown as Python's repr (`shown`), so a refusal
  stays one line and shows exactly what was given.
"""

import json
import math
import unicodedata

# Unicode categories that are not plain text on one line: controls (\n, \r, \t, ESC, NEL),
# format characters (bidi overrides, zero-width), line and paragraph separators (YAML 1.1 and
# some terminals break lines on them), and lone surrogates (undecodable bytes in argv).
_UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def unsafe_chars(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in _UNSAFE]


def text_problem(text: str) -> str | None:
    """Why this option text cannot be used, or None."""
    bad = unsafe_chars(text)
    if bad:
        return f"contains {repr(bad[0])[1:-1]}, a line break or control character"
    return None


def shown(value) -> str:
    """A value as a one-line message shows it: as given, or its repr when it is not plain text,
    or a number that is not finite."""
    if isinstance(value, str) and unsafe_chars(value):
        return repr(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return str(value)


def comment(text: str) -> str:
    """Text made safe to follow a `#`: every unsafe character escaped, so it stays one line."""
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in _UNSAFE else c for c in text)


def _dollars(value):
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, (list, tuple)):
        return [_dollars(v) for v in value]
    if isinstance(value, dict):
        return {k: _dollars(v) for k, v in value.items()}
    return value


def compose_scalar(value) -> str:
    """A value as a YAML flow scalar (or flow collection) that Compose loads back unchanged."""
    return json.dumps(_dollars(value))


def compose_unescape(value):
    """The inverse of compose_scalar's `$` doubling, for readers of a render that are not Compose
    (the x-profile block read as YAML) and for `docker compose config`'s output, which doubles a
    literal `$` again so that it stays a compose file."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [compose_unescape(v) for v in value]
    if isinstance(value, dict):
        return {k: compose_unescape(v) for k, v in value.items()}
    return value
