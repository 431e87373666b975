"""A fast path for the PDF text layer: a page's content stream read with one regular expression, for pages
whose fonts are simple (Type1/TrueType, a standard encoding, no ToUnicode map, no Differences) and that draw no
form XObjects. Anything else returns None and pypdf's extraction reads the page (ml.documents.pdf).

`simple_fonts(resources, resolve)` takes its input from either structure reader: pypdf's objects or
ml.documents.pdf_objects'. pypdf parses every operand into objects (about half of reading a table-heavy page);
here only text operators, positions and the graphics state stack are followed (`follow`), runs of path, colour
and other idle operators are one token, and each shown string becomes a run at its position. ml.documents.
pdf_content reads whole streams with it (`content_runs`, `page_runs`)."""

from __future__ import annotations

import re

# The content stream is decoded once (cp1252, one character a byte: the simple fonts' encoding) and tokenized as
# text; findall gives (x, y, string, token) for each item.
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)"
DELIMITED = r"(?![^\s\[\]()<>{}/%])"
_STRING = r"\((?:\\.|[^\\()])*\)"  # a literal string without nested parentheses
# Operators that change nothing the fast path follows (paths, painting, clipping, colour, graphics state other
# than cm, marked content), each with its number operands: one item per run of them, its groups empty.
_IDLE = r"re|[SsfFBbnWwJjMdimlcvyhGgKk]\*?|ri|gs|CS|cs|SCN?|scn?|RG|rg|sh|Do|BMC|BDC|EMC|MP|DP"  # common first
# "BT x y Td (string) Tj ET", most of a table's text objects, in one item (groups: x, y, string); BT_AT_TOKEN and
# TD_TJ are also ml.documents.pdf_content's split (the string by the unrolled loop: no alternation per character)
BT_AT_TOKEN = r"BT(?<![^\s\]>}]BT)\s+"
TD_TJ = rf"({NUMBER})\s+({NUMBER})\s+Td\s*\(([^\\()]*(?:\\.[^\\()]*)*)\)\s*Tj"
_SIMPLE = rf"{BT_AT_TOKEN}{TD_TJ}\s+ET{DELIMITED}"
ITEM_RE = re.compile(
    rf"{_SIMPLE}"  # 1-3
    rf"|(?:(?:{NUMBER}\s+)*(?:{_IDLE}){DELIMITED}\s*)+"
    rf"|({_STRING}"  # 4: any other token
    r"|<[0-9A-Fa-f\s]*>"  # a hex string
    r"|/[^\s/\[\]()<>{}%]*"  # a name
    rf"|{NUMBER}"
    r"|[A-Za-z'\"*]+[01]?"  # an operator
    r"|\[|\]"
    r"|%[^\r\n]*"  # a comment
    r"|<<|>>"
    r"|\S)",  # anything else: the fast path gives up
    re.DOTALL | re.ASCII,
)
_CP1252 = bytes(range(256)).decode("cp1252", errors="replace")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "(": "(", ")": ")", "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\([0-7]{1,3}|\r\n|[\r\n]|.)", re.DOTALL)
_ENCODINGS = {None, "/WinAnsiEncoding", "/StandardEncoding"}
_NUMBER_START = frozenset("+-.0123456789")
_OPERATOR_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'\"*")


class GiveUp(Exception):
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


def _unescape(match: re.Match) -> str:
    code = match.group(1)
    if "0" <= code[0] <= "7":
        return _CP1252[int(code, 8) & 0xFF]
    if code in ("\r\n", "\r", "\n"):
        return ""
    return _ESCAPES.get(code, code)


def literal(inner: str) -> str:
    """A literal string's text from what lies between its parentheses."""
    return _ESCAPE_RE.sub(_unescape, inner) if "\\" in inner else inner


def _hex(token: str) -> str:
    digits = "".join(token[1:-1].split())
    if len(digits) % 2:
        digits += "0"
    return bytes.fromhex(digits).decode("cp1252", errors="replace")


def _mul(a: list[float], b: list[float]) -> list[float]:
    return [
        a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5],
    ]  # fmt: skip


class ContentState:
    def __init__(self) -> None:
        self.cm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        self.stack: list[list[float]] = []
        self.tm = self.tlm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        self.size = 10.0
        self.leading = 0.0
        self.moved = True  # a position change since the last shown string
        self.runs: list = []  # (x, y, size, text as shown); Runs where _split_runs made them

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


def _operate(state: ContentState, op: str, args: list) -> None:
    if op == "q":
        state.stack.append(state.cm)
    elif op == "Q":
        state.cm = state.stack.pop() if state.stack else state.cm
    elif op == "cm":
        state.cm = _mul([float(a) for a in args[-6:]], state.cm)
    elif op == "BT":
        state.tm = state.tlm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        state.moved = True
    elif op == "Tf":
        state.size = float(args[-1])
    elif op == "TL":
        state.leading = float(args[-1])
    elif op in ("Td", "TD"):
        tx, ty = float(args[-2]), float(args[-1])
        if op == "TD":
            state.leading = -ty
        state.move(tx, ty)
    elif op == "Tm":
        state.tm = state.tlm = [float(a) for a in args[-6:]]
        state.moved = True
    elif op == "T*":
        state.move(0.0, -state.leading)
    elif op in ("Tj", "'", '"'):
        if op != "Tj":
            state.move(0.0, -state.leading)
        state.show(args[-1] if args and isinstance(args[-1], str) else "")
    elif op == "TJ":
        parts = [a if isinstance(a, str) else (" " if a < -250 else "") for a in (args[-1] if args and isinstance(args[-1], list) else [])]
        state.show("".join(parts))
    elif op in ("BI", "ID", "EI", "d0", "d1"):
        raise GiveUp  # inline images (binary data the tokenizer cannot skip), Type3 glyphs


# Outside text objects only the graphics-state stack and cm matter (and an inline image means: give up).
_MARKS = frozenset({"BT", "ET", "q", "Q", "cm", "BI"})


def _is_td_tj(tokens: list[str]) -> bool:
    """Whether the tokens are "x y Td (text) Tj"."""
    if len(tokens) != 5 or tokens[2] != "Td" or tokens[4] != "Tj":
        return False
    shown = tokens[3]
    return len(shown) > 1 and shown[0] == "(" and shown[-1] == ")" and tokens[0][:1] in _NUMBER_START and tokens[1][:1] in _NUMBER_START


def _text_object(state: ContentState, tokens: list[str]) -> None:
    """The operators of one BT ... ET (BT itself already applied); an empty token: a run of idle operators."""
    if _is_td_tj(tokens):
        state.move(float(tokens[0]), float(tokens[1]))  # "x y Td (text) Tj"
        state.show(literal(tokens[3][1:-1]))
        return
    args: list = []
    arrays: list[list] = []
    for token in tokens:
        first = token[:1]
        if first == "(":
            if len(token) < 2 or not token.endswith(")"):
                raise GiveUp  # an unescaped parenthesis inside a string
            value = literal(token[1:-1])
        elif first == "<" and token != "<<":
            if len(token) < 2 or not token.endswith(">"):
                raise GiveUp
            value = _hex(token)
        elif first in _NUMBER_START:
            value = float(token)
        elif first == "[":
            arrays.append([])
            continue
        elif first == "]":
            value = arrays.pop() if arrays else []
        elif first in ("/", "%") or token in ("<<", ">>"):
            if not token.isascii():
                raise GiveUp  # read as latin-1 before; such names or comments are rare enough for pypdf
            value = token
        elif first in _OPERATOR_START or not token:
            if arrays:
                raise GiveUp  # an operator inside an array
            _operate(state, token, args)
            args = []
            continue
        else:
            raise GiveUp
        (arrays[-1] if arrays else args).append(value)


def follow(state: ContentState, items: list[tuple[str, str, str, str]]) -> None:
    """Apply the tokenizer's items (`ITEM_RE.findall`) to the state; its runs gain every shown string."""
    runs = state.runs
    i, count = 0, len(items)
    while i < count:
        x, y, text, op = items[i]
        if x:  # BT x y Td (string) Tj ET: tm is the translation, shown at once
            if text := literal(text) if "\\" in text else text:
                cm = state.cm
                x, y = float(x), float(y)
                runs.append((x * cm[0] + y * cm[2] + cm[4], x * cm[1] + y * cm[3] + cm[5], abs(state.size * (cm[3] or 1)) or 10.0, text))
        elif op in _MARKS:
            if op == "BT":
                end = i + 1
                while end < count and items[end][3] != "ET":
                    end += 1  # q, Q or cm inside a text object: not allowed by the format, read as text operators
                if any(item[0] for item in items[i + 1 : end]):
                    raise GiveUp  # a whole text object inside this one (no ET between)
                _operate(state, "BT", [])
                _text_object(state, [item[3] for item in items[i + 1 : end]])
                i = end
            elif op == "BI":
                raise GiveUp  # binary image data could look like operators
            elif op == "cm":
                _operate(state, "cm", [float(item[3]) for item in items[i - 6 : i]])
            elif op != "ET":
                _operate(state, op, [])
        i += 1
