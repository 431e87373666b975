"""A small PDF structure reader for plain files, so that reading their text needs no pypdf: one classic `xref`
table and its trailer, objects parsed lazily where the table says they are, the page tree walked (/Resources
inherited) and the content streams inflated with zlib.

It reads only what it can read exactly. Anything else raises NotSimple and ml.documents.pdf reads the whole
file with pypdf: no `startxref` + `%%EOF` at the end, an xref stream, object streams, an incremental update
(/Prev), a hybrid file (/XRefStm), /Encrypt, an object not where the table says, a /Length that does not end at
`endstream`, a filter other than a plain /FlateDecode, a name with # escapes, a nested string, a cyclic or
untyped page tree, no pages."""

from __future__ import annotations

import re
import zlib
from typing import NamedTuple


class NotSimple(Exception):
    """The file needs pypdf."""


class Ref(NamedTuple):
    number: int
    generation: int


class Stream(NamedTuple):
    info: dict
    raw: bytes


_DELIMITED = rb"(?![^\s/\[\]()<>{}%])"
_TOKEN_RE = re.compile(
    rb"(\d+)\s+(\d+)\s+R" + _DELIMITED  # 2: a reference
    + rb"|([-+]?(?:\d+\.?\d*|\.\d+))" + _DELIMITED  # 3: a number
    + rb"|(/[^\s/\[\]()<>{}%]*)"  # 4: a name
    rb"|(<<|\[)"  # 5
    rb"|(>>|\])"  # 6
    rb"|(\((?:\\.|[^\\()])*\))"  # 7: a literal string without nested parentheses
    rb"|(<[0-9A-Fa-f\s]*>)"  # 8: a hex string
    rb"|([A-Za-z]+)" + _DELIMITED  # 9: true, false, null (anything else: not simple)
    + rb"|(%[^\r\n]*)"  # 10: a comment
    rb"|(\S)",  # 11: anything else
    re.DOTALL,
)  # fmt: skip
# A dictionary of names, numbers and references only (most page and stream dictionaries), read by two regexes
_NAME = rb"/[^\s/\[\]()<>{}%#]*"
_FLAT_VALUE = rb"(?:(\d+)\s+(\d+)\s+R|([-+]?(?:\d+\.?\d*|\.\d+))|(" + _NAME + rb"))" + _DELIMITED
_FLAT_RE = re.compile(rb"\s*<<((?:\s*" + _NAME + rb"\s*" + _FLAT_VALUE + rb")*)\s*>>")
_PAIR_RE = re.compile(rb"(" + _NAME + rb")\s*" + _FLAT_VALUE)
_WORDS = {b"true": True, b"false": False, b"null": None}
_CLOSES = {b">>": b"<<", b"]": b"["}
_HEADER_RE = re.compile(rb"(\d+)[ \t\r\n]+(\d+)[ \t\r\n]+obj" + _DELIMITED)
_AFTER_RE = re.compile(rb"[ \t\r\n]*(?:(endobj)|stream(?:\r\n|\n))")
_ENDSTREAM_RE = re.compile(rb"[ \t\r\n]*endstream")
_TAIL_RE = re.compile(rb"startxref[ \t\r\n]+(\d+)[ \t\r\n]+%%EOF[ \t\r\n]*\Z")
_XREF_RE = re.compile(rb"xref[ \t]*(?:\r\n|\r|\n)")
_SECTION_RE = re.compile(rb"(\d+) (\d+)[ \t]*(?:\r\n|\r|\n)")
_ENTRY_RE = re.compile(rb"(\d{10}) (\d{5}) ([nf])(?: \r| \n|\r\n)")
_TRAILER_RE = re.compile(rb"trailer[ \t\r\n]*")
_MAX_OUTPUT = 75_000_000  # pypdf's zlib output limit
_MAX_DEPTH = 64
_MEMO_BODY = 512


def parse_value(data: bytes, pos: int) -> tuple[object, int]:
    """The object that starts at `pos` and where it ends: dicts (name keys), lists, Ref, int/float, names as
    str with their slash, strings as their raw bytes token, True/False/None."""
    if flat := _FLAT_RE.match(data, pos):
        return {
            key.decode("latin-1"): Ref(int(ref), int(generation))
            if ref
            else (float(number) if b"." in number else int(number))
            if number
            else name.decode("latin-1")
            for key, ref, generation, number, name in _PAIR_RE.findall(flat[1])
        }, flat.end()
    containers: list[list] = []
    opens: list[bytes] = []
    for match in _TOKEN_RE.finditer(data, pos):
        kind = match.lastindex
        if kind == 2:
            value = Ref(int(match[1]), int(match[2]))
        elif kind == 3:
            token = match[3]
            value = float(token) if b"." in token else int(token)
        elif kind == 4:
            if b"#" in match[4]:
                raise NotSimple("a name with # escapes")
            value = match[4].decode("latin-1")
        elif kind == 5:
            containers.append([])
            opens.append(match[5])
            if len(opens) > _MAX_DEPTH:
                raise NotSimple("objects nested too deep")
            continue
        elif kind == 6:
            if not opens or opens.pop() != _CLOSES[match[6]]:
                raise NotSimple("an unbalanced dictionary or array")
            items = containers.pop()
            value = items if match[6] == b"]" else _dict(items)
        elif kind in (7, 8):
            value = match[kind]
        elif kind == 9 and match[9] in _WORDS:
            value = _WORDS[match[9]]
        elif kind == 10:
            continue
        else:
            raise NotSimple(f"unexpected {match[0][:20]!r} in an object")
        if not containers:
            return value, match.end()
        containers[-1].append(value)
    raise NotSimple("an object runs to the end of the file")


def _dict(items: list) -> dict:
    keys = items[::2]
    if len(items) % 2 or not all(isinstance(key, str) and key[:1] == "/" for key in keys):
        raise NotSimple("a dictionary without name keys")
    return dict(zip(keys, items[1::2], strict=True))


def _xref(data: bytes) -> tuple[dict[int, tuple[int, int]], dict]:
    """The offsets (number -> (offset, generation)) and the trailer of the file's one classic xref table."""
    tail = _TAIL_RE.search(data, max(0, len(data) - 1024))
    if tail is None:
        raise NotSimple("no startxref offset and %%EOF at the end")
    pos = int(tail[1])
    if data[pos : pos + 4] != b"xref" or (pos > 0 and data[pos - 1 : pos] not in b"\r\n \t"):
        raise NotSimple("startxref does not point at an xref table")
    keyword = _XREF_RE.match(data, pos)
    if keyword is None:
        raise NotSimple("an xref keyword without its line end")
    pos = keyword.end()
    offsets: dict[int, tuple[int, int]] = {}
    while section := _SECTION_RE.match(data, pos):
        first, count = int(section[1]), int(section[2])
        pos = section.end()
        for number in range(first, first + count):
            entry = _ENTRY_RE.match(data, pos)
            if entry is None or number in offsets:
                raise NotSimple("an xref entry that is not 20 bytes, or an object listed twice")
            pos = entry.end()
            if entry[3] == b"n":
                offsets[number] = (int(entry[1]), int(entry[2]))
    trailer_at = _TRAILER_RE.match(data, pos)
    if trailer_at is None:
        raise NotSimple("no trailer after the xref table")
    trailer, _ = parse_value(data, trailer_at.end())
    if not isinstance(trailer, dict) or not offsets:
        raise NotSimple("no trailer dictionary")
    if {"/Prev", "/XRefStm", "/Encrypt"} & trailer.keys():
        raise NotSimple("an incremental update, a hybrid file or an encrypted one")
    return offsets, trailer


class Document:
    """The objects of one simple PDF file, parsed when first asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offsets, self.trailer = _xref(data)
        self.cache: dict[int, object] = {}
        self.bodies: dict[bytes, object] = {}  # short object bodies already parsed: writers repeat /Resources per page

    def get(self, ref: Ref) -> object:
        if ref.number in self.cache:
            return self.cache[ref.number]
        offset, generation = self.offsets.get(ref.number, (-1, -1))
        header = _HEADER_RE.match(self.data, offset) if offset >= 0 else None
        if header is None or generation != ref.generation or (int(header[1]), int(header[2])) != ref:
            raise NotSimple(f"object {ref.number} {ref.generation} is not where the xref table says")
        self.cache[ref.number] = None  # a /Length that refers to its own stream reads as null
        close = self.data.find(b"endobj", header.end(), header.end() + _MEMO_BODY)
        body = self.data[header.end() : close] if close >= 0 else b"stream"
        if b"stream" not in body and body in self.bodies:
            self.cache[ref.number] = self.bodies[body]
            return self.bodies[body]  # the same bytes parse to the same value (read-only: never changed here)
        value, end = parse_value(self.data, header.end())
        after = _AFTER_RE.match(self.data, end)
        if after is None:
            raise NotSimple(f"object {ref.number} ends without endobj")
        if after[1] is None:
            value = self._stream(value, after.end())
        elif after.start(1) == close and b"stream" not in body:
            self.bodies[body] = value  # only a body that is the whole object (no "endobj" inside a string)
        self.cache[ref.number] = value
        return value

    def resolve(self, value: object) -> object:
        return self.get(value) if type(value) is Ref else value

    def _stream(self, info: object, start: int) -> Stream:
        length = self.resolve(info.get("/Length")) if isinstance(info, dict) else None
        if type(length) is not int or length < 0 or not _ENDSTREAM_RE.match(self.data, start + length):
            raise NotSimple("a stream whose /Length does not end at endstream")
        return Stream(info, self.data[start : start + length])

    def decoded(self, stream: object) -> bytes:
        if type(stream) is not Stream:
            raise NotSimple("a content stream that is not a stream")
        filters = self.resolve(stream.info.get("/Filter"))
        if filters is None or filters == []:
            return stream.raw
        if filters not in ("/FlateDecode", ["/FlateDecode"]) or "/DecodeParms" in stream.info:
            raise NotSimple("a filter other than a plain /FlateDecode")
        inflate = zlib.decompressobj()
        try:
            data = inflate.decompress(stream.raw, _MAX_OUTPUT)
        except zlib.error as exc:
            raise NotSimple("a damaged Flate stream") from exc
        if inflate.unconsumed_tail or not inflate.eof:
            raise NotSimple("a Flate stream that is cut short or too large")
        return data

    def pages(self) -> list[tuple[dict, object]]:
        """Each page's dictionary and its own or inherited /Resources, in page-tree order."""
        root = self.resolve(self.trailer.get("/Root"))
        tree = root.get("/Pages") if isinstance(root, dict) else None
        pages: list[tuple[dict, object]] = []
        seen: set[int] = set()
        pending = [(tree, None)]
        while pending:
            ref, resources = pending.pop()
            if type(ref) is not Ref or ref.number in seen:
                raise NotSimple("a page tree node that is not an indirect object, or one reached twice")
            seen.add(ref.number)
            node = self.get(ref)
            if type(node) is not dict:
                raise NotSimple("a page tree node that is not a dictionary")
            kind = node.get("/Type")
            resources = node.get("/Resources", resources)
            kids = self.resolve(node.get("/Kids")) if kind == "/Pages" else None
            if kind == "/Page":
                pages.append((node, resources))
            elif isinstance(kids, list):
                pending.extend((kid, resources) for kid in reversed(kids))
            else:
                raise NotSimple("a page tree node that is neither /Pages with /Kids nor /Page")
        if not pages or self.resolve(self.get(tree).get("/Count")) != len(pages):
            raise NotSimple("no pages, or a page count that does not match the tree")
        return pages

    def contents(self, page: dict) -> bytes | None:
        """The page's content streams inflated and joined as pypdf joins them (a newline after each part)."""
        contents = self.resolve(page.get("/Contents"))
        if contents is None:
            return None
        if type(contents) is not list:
            return self.decoded(contents)
        data = bytearray()
        for part in contents:
            part = self.resolve(part)
            if part is not None:
                data += self.decoded(part)
            if data[-1:] != b"\n":
                data += b"\n"
        return bytes(data)
