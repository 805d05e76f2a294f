"""Transitive questions: who reaches a node (or whom it reaches) and one shortest path each.

Kuzu answers a ``SHORTEST`` recursive pattern quickly when it returns only the
endpoint and ``length(p)``; materializing the path (``nodes(p)``) costs about
ten times more on Django (~0.2 s for 2,000 callers). So one query returns each
reached node with its distance and its outgoing edges, and `shortest_paths`
rebuilds one shortest path per node in Python: a node at distance d steps to
a neighbour at distance d-1. Among equally short paths the one through the
smallest name is chosen, so answers are deterministic (Kuzu's choice is not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

#: Longest chain followed by transitive questions and path searches.
MAX_DEPTH = 12

Runner = Callable[[str, dict[str, Any]], list[list[Any]]]


@dataclass(slots=True)
class Reached:
    """Nodes reached from (or reaching) one start node."""

    start: str  #: the start node's ID
    start_name: str
    #: node ID -> (label, name, file, line, kind, distance), distance >= 1
    nodes: dict[str, tuple[str, str, str, int, str | None, int]] = field(default_factory=dict)
    #: node ID -> IDs it has an edge to (only what path rebuilding needs)
    edges: dict[str, list[str]] = field(default_factory=dict)


def node_columns(var: str, labels: str) -> str:
    """The columns every row needs: id, label, name, file, line, kind (functions and externals have a kind)."""
    kind = f"{var}.kind" if ("Function" in labels or "External" in labels) else "''"
    return f"{var}.id, label({var}), {var}.name, {var}.file, {var}.start_line, {kind}"


def reach(run: Runner, rel: str, start_id: str, start_label: str, start_name: str, backward: bool,
          labels: str, step_labels: str) -> Reached:
    """Nodes with ``labels`` that reach the start over ``rel`` edges (``backward``), or that the
    start reaches, within MAX_DEPTH hops; with the edges `shortest_paths` needs, to nodes with
    ``step_labels`` (naming them makes Kuzu expand from the few reached nodes: 2-4x faster)."""
    cols = node_columns("n", labels)
    if backward:
        # A node at distance d needs an edge to a node at d-1; at distance 1 that is the start itself.
        cypher = (f"MATCH p = (n:{labels})-[:{rel}* SHORTEST 1..{MAX_DEPTH}]->(t:{start_label}) WHERE t.id = $id "
                  f"WITH n, length(p) AS d OPTIONAL MATCH (n)-[:{rel}]->(m:{step_labels}) WHERE d > 1 "
                  f"RETURN {cols}, d, collect(m.id)")
    else:
        # The start's own edges are not needed: everything at distance 1 hangs off it. The steps
        # come as internal IDs: reading each callee's `id` costs more than the search (~2x on Django).
        cypher = (f"MATCH p = (t:{start_label})-[:{rel}* SHORTEST 1..{MAX_DEPTH}]->(n:{labels}) WHERE t.id = $id "
                  f"WITH n, length(p) AS d OPTIONAL MATCH (n)-[:{rel}]->(m:{step_labels}) "
                  f"RETURN {cols}, d, id(n), collect(id(m))")
    out = Reached(start_id, start_name)
    records = run(cypher, {"id": start_id})
    if not backward:
        by_key = {_internal(r[7]): r[0] for r in records}
        records = [[*r[:7], [by_key[k] for k in map(_internal, filter(None, r[8] or ())) if k in by_key]]
                   for r in records]
    for node_id, label, name, file, line, kind, dist, targets in records:
        out.nodes[node_id] = (label, name, file or "", int(line or 0), kind, int(dist))
        if targets:
            out.edges[node_id] = targets
    return out


def _internal(node: dict[str, int]) -> tuple[int, int]:
    """An internal node ID (as the driver returns it) as a hashable key."""
    return node["table"], node["offset"]


def shortest_paths(found: Reached, backward: bool) -> dict[str, list[str]]:
    """One shortest path (as names, from caller to callee) for every reached node."""
    dist = {node_id: info[5] for node_id, info in found.nodes.items()}
    dist[found.start] = 0
    name = {node_id: info[1] for node_id, info in found.nodes.items()}
    name[found.start] = found.start_name
    order = sorted(found.nodes, key=lambda i: (dist[i], name[i], i))
    step: dict[str, str] = {}  #: backward: next node towards the start; forward: previous node from it
    if backward:
        for node_id in order:
            if dist[node_id] == 1:
                step[node_id] = found.start
                continue
            hops = [m for m in found.edges.get(node_id, ()) if dist.get(m) == dist[node_id] - 1]
            step[node_id] = min(hops, key=lambda m: (name[m], m))
    else:
        for node_id in order:
            if dist[node_id] == 1:
                step[node_id] = found.start
        for node_id in order:  # by distance, so a node's predecessors are settled before its successors
            for m in sorted(found.edges.get(node_id, ()), key=lambda m: (name.get(m, ""), m)):
                if dist.get(m) == dist[node_id] + 1 and m not in step:
                    step[m] = node_id
    # By distance, so each step's path is built before the paths through it.
    chains: dict[str, list[str]] = {found.start: [name[found.start]]}
    for node_id in order:
        chains[node_id] = ([name[node_id]] + chains[step[node_id]] if backward
                           else chains[step[node_id]] + [name[node_id]])
    return {node_id: chains[node_id] for node_id in found.nodes}
