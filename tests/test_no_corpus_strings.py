"""The product never contains the evaluation corpus: none of conflicts-dev's quotes, the names of
its documents, or the subjects its truth file names appear anywhere in the package (a detector
tuned to one corpus would learn its vocabulary; the corpus is for measuring only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import REPO, SHARED_DATA

CORPUS = SHARED_DATA / "conflicts-dev"


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared test data not found at {CORPUS}")
def test_the_package_holds_no_quote_name_or_file_name_of_the_evaluation_corpus() -> None:
    truth = json.loads((CORPUS / "truth.json").read_text(encoding="utf-8"))
    needles: set[str] = set()
    for item in truth:
        for side in ("a", "b"):
            quote = " ".join(item[side]["quote"].split())
            if len(quote) >= 20:
                needles.add(quote.casefold())
            needles.add(Path(item[side]["file"]).stem.casefold())
        needles.add(item["subject"].casefold())
    needles = {n for n in needles if len(n) >= 8}
    assert len(needles) > 40  # the check has something to look for
    found = []
    for path in sorted((REPO / "companion").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".md", ".toml", ".json", ".txt"):
            text = " ".join(path.read_text(encoding="utf-8", errors="replace").split()).casefold()
            found += [f"{path.relative_to(REPO)}: {n!r}" for n in needles if n in text]
    assert found == []
