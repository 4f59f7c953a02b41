"""Folders reached through symbolic links are read like any other (``sources/ -> ~/reports``):
by ``assistant ingest`` and by the evaluation's corpus walk; a link cycle is walked once."""

from __future__ import annotations

import os

import pytest

from assistant.cli import main as cli
from assistant.evaluation.runner import corpus_files
from assistant.loaders import walk_files
from assistant.store import Store

from .conftest import REPORT_A, REPORT_B, write_pdf


def _linked_tree(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    write_pdf(elsewhere / "reports" / "survey-report.pdf", REPORT_B, title="Survey Report")
    sources = tmp_path / "sources"
    write_pdf(sources / "ppp-compendium.pdf", REPORT_A, title="Compendium of Partnerships")
    os.symlink(elsewhere / "reports", sources / "linked")  # a symlinked sub-folder
    os.symlink(sources, sources / "linked" / "loop")  # a cycle back to the top
    top = tmp_path / "top"
    os.symlink(sources, top)  # and the folder itself given as a link
    return sources, top


def test_walk_files_follows_links_once(tmp_path):
    sources, _ = _linked_tree(tmp_path)
    files = [p.relative_to(sources).as_posix() for p in walk_files(sources)]
    assert files == ["linked/survey-report.pdf", "ppp-compendium.pdf"], files
    assert corpus_files(sources) == files


@pytest.mark.slow  # embeds two documents
def test_ingest_reads_symlinked_folders(tmp_path, settings, capsys):
    _, top = _linked_tree(tmp_path)
    assert cli(["ingest", str(top), "--store", str(settings.store_dir), "-q"]) == 0
    err = capsys.readouterr().err
    assert "2 added" in err and "no documents found" not in err, err
    files = sorted(d["file"] for d in Store(settings).documents())
    assert files == ["linked/survey-report.pdf", "ppp-compendium.pdf"]
