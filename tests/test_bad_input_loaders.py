"""Every kind of bad input gives a LoadError whose one-line message names the file and the reason."""

from __future__ import annotations

import os
import zipfile

import pytest

from tests import pdfmaker
from assistant.errors import LoadError
from assistant.loaders import load_document


def expect_error(path, *reason_words, **kw) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_document(path, **kw)
    err = info.value
    msg = str(err)
    assert "\n" not in msg
    assert err.path == str(path) and msg.startswith(str(path) + ": ")
    for word in reason_words:
        assert word in err.reason, msg
    return err


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nowhere.pdf", "not found")


def test_empty_files(tmp_path):
    for name in ("empty.pdf", "empty.txt", "empty.html", "empty.docx"):
        (tmp_path / name).write_bytes(b"")
        expect_error(tmp_path / name, "empty file")


def test_blank_text_has_no_content(tmp_path):
    path = tmp_path / "blank.md"
    path.write_text(" \n\n\t \n", encoding="utf-8")
    expect_error(path, "no text content")


def test_truncated_pdf(tmp_path):
    good = pdfmaker.multipage_pdf(tmp_path / "good.pdf", ["Page one text.", "Page two text.", "Page three."])
    data = good.read_bytes()
    for frac in (0.5, 0.95):
        bad = tmp_path / f"cut{int(frac * 100)}.pdf"
        bad.write_bytes(data[: int(len(data) * frac)])
        expect_error(bad, "truncated")


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "garbage.pdf"
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(4000) + b"\n%%EOF\n")
    expect_error(path, "corrupt PDF")


def test_pdf_extension_but_not_pdf(tmp_path):
    path = tmp_path / "page.pdf"
    path.write_text("<html><body>Not really a PDF</body></html>", encoding="utf-8")
    expect_error(path, "not a PDF")


def test_encrypted_pdf(tmp_path):
    expect_error(pdfmaker.encrypted_pdf(tmp_path / "locked.pdf"), "encrypted", "password")


def test_image_only_pdf(tmp_path):
    expect_error(pdfmaker.image_only_pdf(tmp_path / "scan.pdf"), "no extractable text", "OCR")


def test_oversize(tmp_path):
    path = pdfmaker.multipage_pdf(tmp_path / "big.pdf", ["Some text."])
    expect_error(path, "too large", "the limit is 500 bytes", max_bytes=500)
    text = tmp_path / "long.txt"
    text.write_text("word " * 1000, encoding="utf-8")
    expect_error(text, "too large (5.0 KB; the limit is 1.0 KB)", max_bytes=1000)
    # the same file under a roomy limit loads
    assert load_document(path, max_bytes=10_000_000).n_pages == 1


def test_unsupported_type(tmp_path):
    for name in ("data.xlsx", "README"):
        path = tmp_path / name
        path.write_bytes(b"whatever")
        expect_error(path, "unsupported file type")


def test_undecodable_text(tmp_path):
    path = tmp_path / "legacy.txt"
    path.write_bytes("Caf\u00e9 r\u00e9sum\u00e9 na\u00efve \u00e0 la carte. ".encode("cp1252") * 5)
    expect_error(path, "cannot decode", "UTF-8")


def test_binary_disguised_as_text(tmp_path):
    path = tmp_path / "blob.txt"
    path.write_bytes(bytes(range(32)) * 50 + b"some ascii" * 10)
    expect_error(path, "binary")
    html = tmp_path / "blob.html"
    html.write_bytes(b"\x00\x01\x02\x03<html>" * 200)
    expect_error(html, "binary")


def test_corrupt_docx(tmp_path):
    not_zip = tmp_path / "notes.docx"
    not_zip.write_text("plain text pretending to be a docx", encoding="utf-8")
    expect_error(not_zip, "not a DOCX")
    wrong_zip = tmp_path / "archive.docx"
    with zipfile.ZipFile(wrong_zip, "w") as z:
        z.writestr("hello.txt", "not an office document")
    expect_error(wrong_zip, "corrupt DOCX")
    truncated = tmp_path / "cut.docx"
    import docx

    d = docx.Document()
    d.add_paragraph("Some text " * 200)
    d.save(tmp_path / "whole.docx")
    truncated.write_bytes((tmp_path / "whole.docx").read_bytes()[:3000])
    expect_error(truncated, "corrupt DOCX")
