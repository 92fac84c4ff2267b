"""The catalog as a graph (networkx): papers, the claims they state, and the relations between claims.

Nodes are papers (``paper:<citation>``) and claims (their ids); an edge joins a paper to each claim it
states, and claims to each other by the relations they declare in ``Claim.related`` (``generalizes``,
``derived from``, ``same data as``, ``compares with``) or that the code shows (two claims that inherit the
same ``make_data`` draw the same data: ``same data as``). ``theorycheck list --graph`` prints it as text,
DOT or node-link JSON; the HTML report draws it.
"""

from __future__ import annotations

import io
import json
from typing import Any, Iterable

import networkx as nx

from theorycheck.errors import InputError

RELATIONS = ("generalizes", "derived from", "same data as", "compares with")


def paper_key(source: Any) -> str:
    return f"paper:{source.authors} ({source.year}). {source.title}"


def short_cite(source: Any) -> str:
    """'Soudry et al. 2018' (or 'Mohri, Rostamizadeh 2018' for two authors)."""
    authors = [a.strip() for a in source.authors.replace(" and ", ", ").split(",") if a.strip()]
    first = authors[0].split()[-1] if authors else "?"
    names = first if len(authors) == 1 else f"{first}, {authors[1].split()[-1]}" if len(authors) == 2 \
        else f"{first} et al."
    return f"{names} {source.year}"


def claims_graph(ids: Iterable[str] | None = None, catalog: dict[str, type] | None = None) -> nx.DiGraph:
    """The graph of the given claims (default: the whole catalog) and their papers.

    A declared relation to a claim outside ``ids`` is kept only when that claim is in the catalog; a relation
    of an unknown kind or to an unknown claim raises InputError naming the claim that declares it.
    """
    from theorycheck.verify.registry import load_claims

    catalog = catalog if catalog is not None else load_claims()
    chosen = list(catalog) if ids is None else [i for i in ids if i in catalog]
    graph = nx.DiGraph()
    for cid in chosen:
        cls = catalog[cid]
        paper = paper_key(cls.source)
        graph.add_node(paper, kind="paper", label=short_cite(cls.source), title=cls.source.cite())
        graph.add_node(cid, kind="claim", label=cid, title=cls.title, family=cid.split(".", 1)[0])
        graph.add_edge(paper, cid, relation="states")
    for cid in chosen:
        cls = catalog[cid]
        for relation, other in getattr(cls, "related", ()):
            if relation not in RELATIONS:
                raise InputError(f"claim {cid}: unknown relation {relation!r}; use one of {', '.join(RELATIONS)}")
            if other not in catalog:
                raise InputError(f"claim {cid}: related claim {other!r} is not in the catalog")
            if other in graph:
                graph.add_edge(cid, other, relation=relation)
    _distinct_labels(graph)
    by_data: dict[Any, list[str]] = {}
    for cid in chosen:
        by_data.setdefault(catalog[cid].make_data, []).append(cid)
    for group in by_data.values():
        for a, b in zip(group, group[1:]):
            if not graph.has_edge(a, b) and not graph.has_edge(b, a):
                graph.add_edge(a, b, relation="same data as")
    return graph


def _distinct_labels(graph: nx.DiGraph) -> None:
    """Two papers with the same short citation become 'Nacson et al. 2019a' and '... 2019b'."""
    by_label: dict[str, list[str]] = {}
    for node, data in sorted(graph.nodes(data=True)):
        if data["kind"] == "paper":
            by_label.setdefault(data["label"], []).append(node)
    for label, nodes in by_label.items():
        if len(nodes) > 1:
            for letter, node in zip("abcdefghijklmnopqrstuvwxyz", nodes):
                graph.nodes[node]["label"] = label + letter


def claim_relations(graph: nx.DiGraph) -> list[tuple[str, str, str]]:
    """(claim, relation, claim) for every edge between two claims."""
    return [(a, d["relation"], b) for a, b, d in graph.edges(data=True) if d["relation"] != "states"]


def papers(graph: nx.DiGraph) -> list[str]:
    """Paper nodes in the order their first claim appears (claim ids sorted)."""
    order = sorted(n for n, d in graph.nodes(data=True) if d["kind"] == "claim")
    seen: list[str] = []
    for cid in order:
        for paper in graph.predecessors(cid):
            if graph.nodes[paper]["kind"] == "paper" and paper not in seen:
                seen.append(paper)
    return seen


def text_tree(graph: nx.DiGraph) -> str:
    """Papers with their claims, then the relations between claims: plain text."""
    lines = []
    for paper in papers(graph):
        lines.append(graph.nodes[paper]["title"])
        claims = sorted(c for c in graph.successors(paper) if graph.nodes[c]["kind"] == "claim")
        width = max(len(c) for c in claims)
        lines += [f"  {c.ljust(width)}  {graph.nodes[c]['title']}" for c in claims]
    relations = claim_relations(graph)
    if relations:
        lines += ["", "relations between claims:"]
        lines += [f"  {a}  {relation}  {b}" for a, relation, b in sorted(relations)]
    return "\n".join(lines) + "\n"


def to_dot(graph: nx.DiGraph) -> str:
    """Graphviz DOT text (render with ``dot -Tpdf``)."""

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph theorycheck {", "  rankdir=LR; node [fontname=Helvetica, fontsize=10];"]
    for node, data in graph.nodes(data=True):
        shape = "box, style=filled, fillcolor=gray92" if data["kind"] == "paper" else "ellipse"
        lines.append(f"  {q(node)} [label={q(data['label'])}, tooltip={q(data['title'])}, shape={shape}];")
    for a, b, data in graph.edges(data=True):
        style = "" if data["relation"] == "states" else f", label={q(data['relation'])}, style=dashed"
        lines.append(f"  {q(a)} -> {q(b)} [arrowsize=0.6{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(graph: nx.DiGraph) -> str:
    """Node-link JSON (``networkx.node_link_data``)."""
    return json.dumps(nx.node_link_data(graph, edges="edges"), indent=2) + "\n"


VERDICT_COLORS = {"agrees": "#2ca02c", "disagrees": "#d62728", "inconclusive": "#e6a100", "error": "#7f0000"}


def draw_svg(graph: nx.DiGraph, verdicts: dict[str, str] | None = None) -> str:
    """The graph as inline SVG: papers in the left column, their claims in the right one, relations between
    claims as labelled arcs right of the claim ids; claims coloured by verdict (grey without one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    from theorycheck.report.figures import style

    verdicts = verdicts or {}
    order = papers(graph)
    claims = [c for p in order for c in sorted(graph.successors(p)) if graph.nodes[c]["kind"] == "claim"]
    pos = {c: (1.0, -float(i)) for i, c in enumerate(claims)}
    for p in order:  # each paper level with the middle of its claims
        ys = [pos[c][1] for c in graph.successors(p) if c in pos]
        pos[p] = (0.0, sum(ys) / len(ys))
    width, height = 6.75, max(1.2, 0.24 * len(claims) + 0.4)
    char = 0.6 * 7 / 72 * 3.5 / width  # a 7 pt monospace character (0.6 em wide), in data units (x spans 3.5)
    lane = 1.06 + char * max(len(c) for c in claims) + 0.04  # where relation arcs start: right of the ids
    with plt.rc_context({**style(), "figure.constrained_layout.use": False}):
        fig, ax = plt.subplots(figsize=(width, height))
        fig.subplots_adjust(0, 0, 1, 1)
        ax.set_axis_off()
        ax.set_xlim(-0.75, 2.75)
        ax.set_ylim(-len(claims) + 0.5, 0.5)
        states = [(a, b) for a, b, d in graph.edges(data=True) if d["relation"] == "states" and a in pos and b in pos]
        nx.draw_networkx_edges(graph, pos, edgelist=states, ax=ax, edge_color="0.75", width=0.7, arrows=False)
        nx.draw_networkx_nodes(graph, pos, nodelist=order, ax=ax, node_color="0.55", node_size=16, node_shape="s")
        nx.draw_networkx_nodes(graph, pos, nodelist=claims, ax=ax, node_size=20,
                               node_color=[VERDICT_COLORS.get(verdicts.get(c, ""), "0.35") for c in claims])
        for p in order:
            ax.text(-0.04, pos[p][1], graph.nodes[p]["label"], ha="right", va="center", fontsize=7)
        for c in claims:
            ax.text(1.04, pos[c][1], c, ha="left", va="center", fontsize=7, family="monospace")
        for a, b, d in graph.edges(data=True):
            if d["relation"] == "states" or a not in pos or b not in pos:
                continue
            ya, yb = pos[a][1], pos[b][1]
            ax.add_patch(FancyArrowPatch((lane, ya), (lane, yb), connectionstyle="arc3,rad=-0.35",
                                         arrowstyle="-|>", mutation_scale=6, color="#1f77b4", linewidth=0.8))
            bulge = 0.35 * abs(ya - yb) * (width / 3.5) / height * 0.9
            ax.text(lane + bulge * 0.5 + 0.03, (ya + yb) / 2, d["relation"], fontsize=6, color="#1f77b4",
                    va="center")
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]
