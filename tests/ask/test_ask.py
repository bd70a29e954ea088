"""`Companion.ask` on a real indexed vault: offline answers, `--save`, and the LLM path against a
real OpenAI-compatible server on loopback (good prose, uncited sentences, failures)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.app import Companion
from companion.config import load_settings
from companion.embed import Embedder
from tests.helpers import run_cli, write
from tests.ingest.llm_server import Reply, completion, error, llm_server

pytestmark = pytest.mark.slow  # real vaults and an HTTP server

CRANE = """---
aliases: [the crane]
---
The yard crane moves containers between the quay and the stacks.

## Service
The yard crane is serviced every Tuesday at 07:00 by the day shift.
Its boom is inspected once a year by an outside surveyor.
"""
GATE = "The yard gate is painted blue and faces the river. Trucks queue at it from six.\n"


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    Companion.init(root)
    write(root, "yard/Yard Crane.md", CRANE)
    write(root, "yard/Yard Gate.md", GATE)
    return root


@pytest.fixture
def app(vault: Path, tmp_path: Path, embedder: Embedder) -> Iterator[Companion]:
    a = Companion(load_settings(vault, state_dir=tmp_path / "state", embed_backend="fake"))
    a.use_embedder(embedder)
    a.index()
    yield a
    a.close()


def test_an_offline_answer_is_the_vaults_sentences_each_cited_to_its_note_and_heading(
    app: Companion,
) -> None:
    answer = app.ask("when is the yard crane serviced")
    first = answer.cited()[0]
    assert first.text == "The yard crane is serviced every Tuesday at 07:00 by the day shift."
    assert first.citation == "[[yard/Yard Crane#Service]]"
    assert answer.markdown().splitlines()[0] == (
        "- The yard crane is serviced every Tuesday at 07:00 by the day shift "
        "([[yard/Yard Crane#Service]])."
    )
    assert answer.by == "extractive" and answer.saved is None


def test_save_files_an_answer_page_that_lint_finds_nothing_wrong_with(
    app: Companion, vault: Path
) -> None:
    answer = app.ask("When is the yard crane serviced?", save=True)
    assert answer.saved == "wiki/answers/When is the yard crane serviced.md"
    text = (vault / answer.saved).read_text(encoding="utf-8")
    assert "type: answer" in text and "version: 1" in text
    assert "question: When is the yard crane serviced?" in text or 'question: "When' in text
    assert '"[[yard/Yard Crane]]"' in text.split("---")[1]  # listed in `sources`
    assert "([[yard/Yard Crane#Service]])." in text
    read = app.read_note(answer.saved)
    assert any(link["target"] == "yard/Yard Crane.md" for link in read["links"])
    # Its citations, sources and schema are right; nothing links to it yet (an orphan: true).
    on_page = [f.kind for f in app.lint().findings if f.path == answer.saved]
    assert on_page == ["orphan"], on_page


def _with_llm(app: Companion, url: str) -> Companion:
    settings = dataclasses.replace(app.settings, llm_url=url, llm_model="test-model")
    other = Companion(settings)
    other.use_embedder(app.embedder)
    return other


def test_llm_prose_keeps_only_sentences_that_cite_a_passage(app: Companion) -> None:
    prose = (
        "The crane is serviced on Tuesdays at seven [1]. It is the best crane in the port. "
        "An outside surveyor inspects the boom yearly [2]."
    )
    with llm_server(lambda r: Reply(body=completion(prose))) as server:
        llm = _with_llm(app, server.url)
        try:
            answer = llm.ask("when is the yard crane serviced")
        finally:
            llm.close()
        sent = server.requests[0].json()
    assert [t for t, _ in answer.sentences] == [
        "The crane is serviced on Tuesdays at seven.",
        "An outside surveyor inspects the boom yearly.",
    ]
    assert answer.dropped == 1 and answer.by.endswith("test-model")
    assert all(p.path == "yard/Yard Crane.md" for _, p in answer.sentences[:1])
    assert "[1] The yard crane is serviced every Tuesday" in sent["messages"][1]["content"]


@pytest.mark.parametrize(
    "reply",
    [
        error(500, "overloaded"),
        Reply(body=b"not json"),
        Reply(body=completion("no numbers at all.")),
    ],
    ids=["http-500", "malformed", "uncited"],
)
def test_a_failing_or_uncited_llm_leaves_the_offline_answer_with_a_note(
    app: Companion, reply: Reply
) -> None:
    with llm_server(lambda r: reply) as server:
        llm = _with_llm(app, server.url)
        try:
            answer = llm.ask("when is the yard crane serviced")
        finally:
            llm.close()
    assert answer.sentences == [] and answer.by == "extractive"
    assert answer.note and answer.cited()[0].text.startswith("The yard crane is serviced")


def test_the_cli_prints_cited_sentences_and_json(vault: Path, tmp_path: Path) -> None:
    env = {"COMPANION_EMBED_BACKEND": "fake"}
    state = str(tmp_path / "cli-state")
    assert run_cli("index", str(vault), "--state-dir", state, env=env).returncode == 0
    done = run_cli(
        "ask",
        "when is the yard crane serviced",
        "--vault",
        str(vault),
        "--state-dir",
        state,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "([[yard/Yard Crane#Service]])" in done.stdout
    as_json = run_cli(
        "ask", "yard gate colour", "--json", "--vault", str(vault), "--state-dir", state, env=env
    )
    data = json.loads(as_json.stdout)
    assert data["answer"] and all(a["citation"].startswith("[[") for a in data["answer"])


def test_an_earlier_answer_and_link_lists_are_no_evidence(app: Companion, vault: Path) -> None:
    app.ask("When is the yard crane serviced?", save=True)
    write(vault, "yard/Index.md", "- [[yard/Yard Crane]]\n- [[yard/Yard Gate]]\n")
    app.index()
    again = app.ask("when is the yard crane serviced")
    assert all(not p.path.startswith("wiki/answers/") for p in again.passages)
    assert all(p.path != "yard/Index.md" for p in again.passages)


def test_asking_again_with_save_writes_nothing_over_the_saved_answer(
    app: Companion, vault: Path
) -> None:
    from companion.errors import VersionConflict

    first = app.ask("When is the yard crane serviced?", save=True)
    assert first.saved is not None
    page = vault / first.saved
    page.write_text(
        page.read_text(encoding="utf-8") + "- asked the day shift: still Tuesdays\n",
        encoding="utf-8",
    )
    before = page.read_bytes()
    with pytest.raises(VersionConflict, match="saved already: wiki/answers/When is the yard"):
        app.ask("when is the yard crane serviced", save=True)  # the same page, any case
    assert page.read_bytes() == before  # the person's line and the answer, as they were


def test_the_cli_saves_through_a_running_daemon_the_vaults_writer(
    vault: Path, tmp_path: Path, embedder: Embedder
) -> None:
    import io

    from companion.daemon.core import Daemon
    from tests.daemon.support import FAST, serve_in_thread

    state = tmp_path / "daemon-state"
    settings = load_settings(vault, state_dir=state, embed_backend="fake")
    daemon = Daemon(settings, FAST, embedder=embedder, query_embedder=embedder, out=io.StringIO())
    daemon.start()
    thread = serve_in_thread(daemon)
    try:
        done = run_cli(
            "ask",
            "When is the yard crane serviced?",
            "--save",
            "--vault",
            str(vault),
            "--state-dir",
            str(state),
            env={"COMPANION_EMBED_BACKEND": "fake"},
        )
        assert done.returncode == 0, done.stderr  # not "this vault already has a writer"
        assert "saved wiki/answers/When is the yard crane serviced.md" in done.stderr
        assert "([[yard/Yard Crane#Service]])" in done.stdout
        assert (vault / "wiki/answers/When is the yard crane serviced.md").is_file()
    finally:
        daemon.stop()
        thread.join(timeout=20)
