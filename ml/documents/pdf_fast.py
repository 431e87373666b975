"""A fast path for the PDF text layer: the page's content stream read with one regular expression, for pages
whose fonts are simple (Type1/TrueType, a standard encoding, no ToUnicode map, no Differences) and that draw no
form XObjects. Anything else returns None and pypdf's extraction reads the page (ml.documents.pdf).

pypdf parses every operand into objects (about half of reading a table-heavy page); here only text operators,
positions and the graphics state stack are followed, and each shown string becomes a run at its position."""

from __future__ import annotations

import re

_NUMBER = rb"[-+]?(?:\d+\.?\d*|\.\d+)"
_LITERAL = rb"\((?:\\.|[^\\()])*\)"  # a literal string without nested parentheses
# "BT x y Td (text) Tj ET", most of a table's text objects, is one token; its groups give the position and text.
_SIMPLE_TEXT = rb"BT\s+(?P<x>%s)\s+(?P<y>%s)\s+Td\s*(?P<text>%s)\s*Tj\s+ET(?![^\s\[\]()<>{}/%%])" % (_NUMBER, _NUMBER, _LITERAL)
_SIMPLE_TEXT_RE = re.compile(_SIMPLE_TEXT)
_SIMPLE_STARTS = frozenset(b"BT" + bytes([c]) for c in b" \t\n\r\f\v")  # an operator token holds no whitespace
_TOKEN_RE = re.compile(
    re.sub(rb"\(\?P<\w+>", b"(?:", _SIMPLE_TEXT)
    + rb"|" + _LITERAL
    + rb"|<[0-9A-Fa-f\s]*>"  # a hex string
    rb"|/[^\s/\[\]()<>{}%]*"  # a name
    rb"|" + _NUMBER
    + rb"|[A-Za-z'\"*]+[01]?"  # an operator
    rb"|\[|\]"
    rb"|%[^\r\n]*"  # a comment
    rb"|<<|>>"
    rb"|\S",  # anything else: the fast path gives up
    re.DOTALL,
)  # fmt: skip
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}
_ESCAPE_RE = re.compile(rb"\\([0-7]{1,3}|\r\n|[\r\n]|.)", re.DOTALL)
_ENCODINGS = {None, "/WinAnsiEncoding", "/StandardEncoding"}


class _GiveUp(Exception):
    pass


def _pypdf_object(value):
    return value.get_object() if value is not None else None


def simple_fonts(resources, resolve=_pypdf_object) -> bool:
    """Whether the fast path can read text drawn with these resources (`resolve` turns a reference into its
    object: pypdf's or ml.documents.pdf_objects')."""
    resources = resolve(resources) or {}
    for xobject in (resolve(resources.get("/XObject")) or {}).values():
        if resolve(xobject).get("/Subtype") == "/Form":
            return False
    for font in (resolve(resources.get("/Font")) or {}).values():
        font = resolve(font)
        encoding = font.get("/Encoding")
        if font.get("/Subtype") not in ("/Type1", "/TrueType") or "/ToUnicode" in font:
            return False
        if encoding is not None and (not isinstance(encoding, str) or encoding not in _ENCODINGS):
            return False  # a Differences dictionary or another encoding
    return True


def _literal(token: bytes) -> str:
    if b"\\" not in token:
        return token[1:-1].decode("cp1252", errors="replace")

    def unescape(match: re.Match) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8) & 0xFF])
        if code in (b"\r\n", b"\r", b"\n"):
            return b""
        return _ESCAPES.get(code, code)

    return _ESCAPE_RE.sub(unescape, token[1:-1]).decode("cp1252", errors="replace")


def _hex(token: bytes) -> str:
    digits = re.sub(rb"\s", b"", token[1:-1])
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode()).decode("cp1252", errors="replace")


def _mul(a: list[float], b: list[float]) -> list[float]:
    return [
        a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5],
    ]  # fmt: skip


class _State:
    def __init__(self) -> None:
        self.cm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        self.stack: list[list[float]] = []
        self.tm = self.tlm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        self.size = 10.0
        self.leading = 0.0
        self.moved = True  # a position change since the last shown string
        self.runs: list[tuple[float, float, float, str]] = []

    def move(self, tx: float, ty: float) -> None:
        a, b, c, d, e, f = self.tlm  # a translation times tlm, without the general product
        self.tlm = self.tm = [a, b, c, d, tx * a + ty * c + e, tx * b + ty * d + f]
        self.moved = True

    def show(self, text: str) -> None:
        if not text:
            return
        if self.moved or not self.runs:
            tm, cm = self.tm, self.cm  # only the translation of tm x cm is needed
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            self.runs.append((x, y, abs(self.size * (tm[3] or 1) * (cm[3] or 1)) or 10.0, text))
            self.moved = False
        else:
            x, y, size, previous = self.runs[-1]
            self.runs[-1] = (x, y, size, previous + text)


def _operate(state: _State, op: bytes, args: list) -> None:
    if op == b"q":
        state.stack.append(state.cm)
    elif op == b"Q":
        state.cm = state.stack.pop() if state.stack else state.cm
    elif op == b"cm":
        state.cm = _mul([float(a) for a in args[-6:]], state.cm)
    elif op == b"BT":
        state.tm = state.tlm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        state.moved = True
    elif op == b"Tf":
        state.size = float(args[-1])
    elif op == b"TL":
        state.leading = float(args[-1])
    elif op in (b"Td", b"TD"):
        tx, ty = float(args[-2]), float(args[-1])
        if op == b"TD":
            state.leading = -ty
        state.move(tx, ty)
    elif op == b"Tm":
        state.tm = state.tlm = [float(a) for a in args[-6:]]
        state.moved = True
    elif op == b"T*":
        state.move(0.0, -state.leading)
    elif op in (b"Tj", b"'", b'"'):
        if op != b"Tj":
            state.move(0.0, -state.leading)
        state.show(args[-1] if args and isinstance(args[-1], str) else "")
    elif op == b"TJ":
        parts = [a if isinstance(a, str) else (" " if a < -250 else "") for a in (args[-1] if args and isinstance(args[-1], list) else [])]
        state.show("".join(parts))
    elif op in (b"BI", b"ID", b"EI", b"d0", b"d1"):
        raise _GiveUp  # inline images (binary data the tokenizer cannot skip), Type3 glyphs


# Outside text objects only the graphics-state stack and cm matter (and an inline image means: give up).
_MARKS = frozenset({b"BT", b"ET", b"q", b"Q", b"cm", b"BI"})


def _is_string(token: bytes) -> bool:
    return len(token) >= 2 and token[:1] == b"(" and token.endswith(b")")


def _is_number(*tokens: bytes) -> bool:
    return all(token[:1] in _NUMBER_START for token in tokens)


_NUMBER_START = frozenset(bytes([c]) for c in b"+-.0123456789")


def _text_object(state: _State, tokens: list[bytes]) -> None:
    """The operators of one BT ... ET (BT itself already applied)."""
    if len(tokens) == 5 and tokens[2] == b"Td" and tokens[4] == b"Tj" and _is_string(tokens[3]) and _is_number(tokens[0], tokens[1]):
        state.move(float(tokens[0]), float(tokens[1]))  # "x y Td (text) Tj", most of a table's text objects
        state.show(_literal(tokens[3]))
        return
    args: list = []
    arrays: list[list] = []
    for token in tokens:
        first = token[:1]
        if first == b"(":
            if len(token) < 2 or not token.endswith(b")"):
                raise _GiveUp  # an unescaped parenthesis inside a string
            value = _literal(token)
        elif first == b"<" and token != b"<<":
            if len(token) < 2 or not token.endswith(b">"):
                raise _GiveUp
            value = _hex(token)
        elif first in b"+-.0123456789":
            value = float(token)
        elif first == b"[":
            arrays.append([])
            continue
        elif first == b"]":
            value = arrays.pop() if arrays else []
        elif first in (b"/", b"%") or token in (b"<<", b">>"):
            value = token.decode("latin-1")
        elif first.isalpha() or first in b"'\"*":
            if arrays or token[:3] in _SIMPLE_STARTS:
                raise _GiveUp  # an operator inside an array; a whole text object inside this one (no ET between)
            _operate(state, token, args)
            args = []
            continue
        else:
            raise _GiveUp
        (arrays[-1] if arrays else args).append(value)


def page_runs(page) -> list[tuple[float, float, float, str]] | None:
    """(x, y, font size, text) of every shown string of a pypdf page, or None when the page needs pypdf."""
    if not simple_fonts(page.get("/Resources")):
        return None
    contents = page.get_contents()
    return [] if contents is None else content_runs(contents.get_data())


def content_runs(content: bytes) -> list[tuple[float, float, float, str]] | None:
    """(x, y, font size, text) of every string a content stream shows, or None when it needs pypdf."""
    tokens = _TOKEN_RE.findall(content)
    marks = [i for i, token in enumerate(tokens) if token in _MARKS or token[:3] in _SIMPLE_STARTS]
    state = _State()
    try:
        k = 0
        while k < len(marks):
            i = marks[k]
            op = tokens[i]
            if op[:3] in _SIMPLE_STARTS:
                found = _SIMPLE_TEXT_RE.match(op)
                state.tm = state.tlm = [1.0, 0.0, 0.0, 1.0, float(found["x"]), float(found["y"])]  # BT, then x y Td
                state.moved = True
                state.show(_literal(found["text"]))
            elif op == b"BT":
                k += 1
                while k < len(marks) and tokens[marks[k]] != b"ET":
                    k += 1  # q, Q or cm inside a text object: not allowed by the format, read as text operators
                end = marks[k] if k < len(marks) else len(tokens)
                _operate(state, b"BT", [])
                _text_object(state, tokens[i + 1 : end])
            elif op == b"BI":
                raise _GiveUp  # binary image data could look like operators
            elif op == b"cm":
                _operate(state, b"cm", [float(v) for v in tokens[i - 6 : i]])
            elif op != b"ET":
                _operate(state, op, [])
            k += 1
    except (_GiveUp, ValueError, IndexError):
        return None
    return state.runs
