"""The link graph, built from the store with networkx.

Nodes are vault files (notes, canvases, attachments that something links to) plus one *ghost* node
per unresolved link target, named by the link path as written (normalised for case), exactly as
Obsidian draws a not-yet-created note. Every link is an edge (a MultiDiGraph keeps parallel links)
carrying its kind, so embeds and frontmatter links can be told apart.

Generated notes (index.md, log.md, sub-indexes) are in the graph but do not count towards
backlinks, orphans or hubs: a catalog that links everything must not make every note look linked.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import networkx as nx

from companion.store.rows import EdgeRow, NodeRow

GHOST_PREFIX = "ghost:"


def ghost_id(link_path: str) -> str:
    return GHOST_PREFIX + unicodedata.normalize("NFC", link_path.strip().lstrip("/")).casefold()


@dataclass(frozen=True, slots=True)
class VaultGraph:
    graph: Any  # nx.MultiDiGraph
    edges: list[EdgeRow]

    def backlinks(self, path: str) -> list[EdgeRow]:
        """Links into `path` from non-generated notes (self-links excluded)."""
        return [
            e
            for e in self.edges
            if e.target == path
            and e.source != path
            and not self.graph.nodes[e.source].get("generated")
        ]

    def own_edges(self) -> list[EdgeRow]:
        """Links written in the vault's own notes (the generated catalog's are left out)."""
        return [e for e in self.edges if not self.graph.nodes[e.source].get("generated")]

    @property
    def node_count(self) -> int:
        return int(self.graph.number_of_nodes())

    def _content_in_degree(self) -> dict[str, int]:
        counts: dict[str, set[str]] = {}
        for e in self.edges:
            if (
                e.target
                and e.target != e.source
                and not self.graph.nodes[e.source].get("generated")
            ):
                counts.setdefault(e.target, set()).add(e.source)
        return {k: len(v) for k, v in counts.items()}

    def orphans(self) -> list[str]:
        """Notes no other note links to (generated and excluded notes aside)."""
        inbound = self._content_in_degree()
        return sorted(
            n
            for n, d in self.graph.nodes(data=True)
            if d.get("kind") in ("note", "canvas")
            and not d.get("generated")
            and not d.get("excluded")
            and inbound.get(n, 0) == 0
        )

    def hubs(self, top: int = 10) -> list[tuple[str, int]]:
        """The most linked-to notes: (path, number of distinct notes linking in)."""
        inbound = self._content_in_degree()
        ranked = sorted(inbound.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(n, c) for n, c in ranked if not self.graph.nodes[n].get("ghost")][:top]

    def to_json(self) -> dict[str, list[dict[str, object]]]:
        nodes = [
            {"id": n, **{k: v for k, v in d.items() if k != "id"}}
            for n, d in sorted(self.graph.nodes(data=True), key=lambda nd: str(nd[0]))
        ]
        edges = [
            {
                "source": e.source,
                "target": e.target,
                "raw": e.raw,
                "subpath": e.subpath,
                "kind": e.kind,
                "resolved": e.target is not None,
                "ambiguous": e.ambiguous,
            }
            for e in self.edges
        ]
        return {"nodes": nodes, "edges": edges}


def build_graph(nodes: list[NodeRow], edges: list[EdgeRow]) -> VaultGraph:
    """The graph of these files and links (`store.pages.nodes()`, `store.links.edges()`)."""
    g = nx.MultiDiGraph()
    for path, kind, title, excluded, generated in nodes:
        g.add_node(
            path,
            path=path,
            title=title,
            kind=kind,
            ghost=False,
            excluded=excluded,
            generated=generated,
        )
    for e in edges:
        target = e.target if e.target is not None else ghost_id(e.path)
        if target not in g:
            g.add_node(
                target,
                path=None,
                title=e.path.strip(),
                kind="ghost",
                ghost=True,
                excluded=False,
                generated=False,
            )
        g.add_edge(e.source, target, kind=e.kind, raw=e.raw, subpath=e.subpath)
    # Attachments nothing links to are files, not part of the knowledge graph.
    lonely = [n for n, d in g.nodes(data=True) if d["kind"] == "attachment" and g.degree(n) == 0]
    g.remove_nodes_from(lonely)
    return VaultGraph(g, edges)
