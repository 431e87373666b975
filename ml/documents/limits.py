"""What a document may be before it is read, and the one error every reading failure raises."""

from __future__ import annotations

import os
from dataclasses import dataclass

MB = 1024 * 1024


class DocumentError(ValueError):
    """A document that cannot be read; the message is one plain sentence for the user."""

    def __init__(self, message: str, *, code: str = "unreadable"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * MB
    max_pages: int = 500
    max_zip_entries: int = 1000
    max_uncompressed: int = 100 * MB
    max_segments: int = 20_000

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Limits:
        """DOCUMENT_MAX_MB, DOCUMENT_MAX_PAGES (unset: the defaults)."""
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            max_bytes=int(float(env.get("DOCUMENT_MAX_MB") or default.max_bytes / MB) * MB),
            max_pages=int(env.get("DOCUMENT_MAX_PAGES") or default.max_pages),
        )


def check_size(size: int, limits: Limits) -> None:
    if size == 0:
        raise DocumentError("the file is empty", code="empty")
    if size > limits.max_bytes:
        raise DocumentError(f"the file is {size / MB:.1f} MB, over the {limits.max_bytes / MB:.0f} MB limit", code="too_large")


def check_pages(pages: int, limits: Limits) -> None:
    if pages > limits.max_pages:
        raise DocumentError(f"the document has {pages} pages, over the {limits.max_pages}-page limit", code="too_many_pages")
