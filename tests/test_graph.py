"""The link graph: every edge kept with its kind, ghosts for unresolved targets, backlinks, orphans, hubs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.helpers import OpenApp

NOTES: dict[str, str | bytes] = {
    "Hub.md": "# Hub\n\n## Part\n\nSee [[#Part]] and ![[img.png|100]].\n",
    "A.md": '---\nup: "[[Hub]]"\n---\n[[Hub]] [[Hub#Part|part]] [[Ghost Town]]\n',
    "B.md": "[hub](Hub.md) and [[ghost town]]\n",
    "C.md": "![[Hub#Part]]\n",
    "Lonely.md": "nobody links here\n",
    "img.png": b"\x89PNG\r\n\x1a\n",
    "unused.pdf": b"%PDF-1.4",
}


def test_graph_keeps_every_link_with_its_kind_and_ghosts_for_unresolved(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    app = open_app(make_vault(NOTES))
    app.index(embed=False)
    graph = app.graph()
    edges = {(e.source, e.raw): e for e in graph.edges}
    a_kinds = sorted(e.kind for e in graph.edges if e.source == "A.md" and e.raw == "[[Hub]]")
    assert a_kinds == ["frontmatter", "wikilink"]  # the `up` property and the body link
    assert edges[("B.md", "[hub](Hub.md)")].kind == "markdown"
    assert (
        edges[("C.md", "![[Hub#Part]]")].kind == "embed"
        and edges[("C.md", "![[Hub#Part]]")].subpath == "Part"
    )
    assert edges[("Hub.md", "[[#Part]]")].target == "Hub.md"  # a self-link
    assert edges[("Hub.md", "![[img.png|100]]")].target == "img.png"
    # Both spellings of the missing note meet at one ghost node.
    ghost = "ghost:ghost town"
    assert graph.graph.nodes[ghost]["ghost"] is True
    assert sorted(s for s, _ in graph.graph.in_edges(ghost)) == ["A.md", "B.md"]
    # Attachments nothing links to are not graph nodes; linked ones are.
    assert "unused.pdf" not in graph.graph and "img.png" in graph.graph


def test_backlinks_orphans_and_hubs(make_vault: Callable[..., Path], open_app: OpenApp) -> None:
    app = open_app(make_vault(NOTES))
    app.index(embed=False)
    graph = app.graph()
    assert sorted({e.source for e in graph.backlinks("Hub.md")}) == ["A.md", "B.md", "C.md"]
    orphans = graph.orphans()
    assert "Lonely.md" in orphans and "Hub.md" not in orphans
    assert "index.md" not in orphans and "log.md" not in orphans  # generated notes are not content
    assert graph.hubs(1) == [("Hub.md", 3)]


def test_graph_json_has_nodes_and_edges_in_the_interface_shape(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    app = open_app(make_vault(NOTES))
    app.index(embed=False)
    data = app.graph().to_json()
    edge = next(e for e in data["edges"] if e["raw"] == "[[Ghost Town]]")
    assert edge == {
        "source": "A.md",
        "target": None,
        "raw": "[[Ghost Town]]",
        "subpath": None,
        "kind": "wikilink",
        "resolved": False,
        "ambiguous": False,
    }
    assert {"id", "path", "title", "kind", "ghost"} <= set(data["nodes"][0])


def test_status_counts_the_vaults_own_links_like_the_graph(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    app = open_app(make_vault(NOTES))
    app.index(embed=False)
    graph = app.graph()
    own = graph.own_edges()
    status = app.status().as_json()
    assert status["links"] == len(own) < len(graph.edges)  # index.md's links are not counted
    assert status["unresolved"] == sum(1 for e in own if e.target is None)


def test_status_graph_and_index_md_show_one_set_of_counts(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    vault = make_vault(
        {
            "a.md": "[[b]] and [[Missing]] and [[Missing]] again, ![[pic.png]]",
            "b.md": "back to [[a]]",
            "lonely.md": "nobody links here; [[Gone]]",
            "pic.png": b"\x89PNG",
        }
    )
    app = open_app(vault)
    app.index(embed=False)
    counts = app.status().counts
    assert (counts["notes"], counts["attachments"], counts["orphans"]) == (3, 1, 1)
    assert counts["unresolved"] == 3  # every unresolved link written: Missing twice, Gone once
    text = (vault / "index.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if " · " in line)
    assert header == "3 notes · 1 orphan · 3 unresolved links (2 names)"
    assert app.graph().orphans() == ["lonely.md"]
