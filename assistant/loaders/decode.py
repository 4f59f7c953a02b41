"""Bytes -> str for text-like files, refusing binary data instead of indexing garbage.

Order tried: a BOM (UTF-8/UTF-16/UTF-32), strict UTF-8, BOM-less UTF-16 recognised by its
pattern of NUL bytes, then a charset the caller found declared in the file (HTML <meta>).
Anything else is rejected with a reason the user can act on.
"""

from __future__ import annotations

import codecs
import re

from ..errors import LoadError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _utf16_without_bom(data: bytes) -> str | None:
    """ASCII-heavy UTF-16 has a NUL in every other byte; pick the side they fall on."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.6 * half and even < 0.1 * half:
        enc = "utf-16-le"
    elif even > 0.6 * half and odd < 0.1 * half:
        enc = "utf-16-be"
    else:
        return None
    try:
        return data.decode(enc)
    except UnicodeDecodeError:
        return None


def decode_text(path: str, data: bytes, declared: str | None = None) -> str:
    """Decode ``data`` or raise ``LoadError`` ("binary" or "cannot decode")."""
    text: str | None = None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                raise LoadError(path, f"cannot decode text (starts with a {enc.upper()} byte-order mark but is not valid {enc.upper()})") from None
            break
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _utf16_without_bom(data)
    if text is None and declared:
        try:
            text = data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            text = None
    if text is None:
        if data.count(0) > 0.01 * len(data):
            raise LoadError(path, "binary content, not text")
        what = "UTF-8/UTF-16" + (f" or the declared charset {declared!r}" if declared else "")
        raise LoadError(path, f"cannot decode text (not {what}); save it as UTF-8")
    if text and len(_CONTROL.findall(text)) > max(2, 0.01 * len(text)):
        raise LoadError(path, "binary content, not text (many NUL/control characters)")
    return text
