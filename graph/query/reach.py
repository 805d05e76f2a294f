"""Transitive questions: who reaches a node (or whom it reaches) and one shortest path each.

A breadth-first search over the reach index (graph/query/reach_index.py),
level by level: a node's step towards the start is the node of the previous
level that first finds it. Each level is visited in (name, ID) order, so
among equally short paths the one through the smallest name is chosen and
answers are deterministic (Kuzu's own choice of shortest path is not).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from astrepo.graph.query.reach_index import ReachIndex

#: Longest chain followed by transitive questions and path searches.
MAX_DEPTH = 12


@dataclass(slots=True)
class Reached:
    """Rows reached from (or reaching) one start row, in the order they were found."""

    start: int
    order: list[int] = field(default_factory=list)  #: by distance, then (name, ID) of the step, then rank
    dist: dict[int, int] = field(default_factory=dict)  #: row -> hops from the start (the start: 0)
    step: dict[int, int] = field(default_factory=dict)  #: row -> the next row towards the start


def reach(index: ReachIndex, rel: str, start: int, backward: bool, max_depth: int = MAX_DEPTH) -> Reached:
    """Rows with a path of ``rel`` edges to ``start`` (``backward``) or from it, at most
    ``max_depth`` edges long; each with its distance and its step on one shortest path."""
    at, targets = index.adjacency(rel, "in" if backward else "out")
    rank = index.rank
    found = Reached(start, dist={start: 0})
    dist, step, order = found.dist, found.step, found.order
    level = [start]
    depth = 0
    while level and depth < max_depth:
        depth += 1
        following: list[int] = []
        for row in level:
            for other in targets[at[row]:at[row + 1]]:
                if other not in dist:
                    dist[other] = depth
                    step[other] = row
                    following.append(other)
        following.sort(key=rank.__getitem__)
        order += following
        level = following
    return found


def paths(found: Reached, names: dict[int, str], backward: bool) -> dict[int, list[str]]:
    """One shortest path (as names, from caller to callee) for every reached row (``names``: of
    the start and every reached row)."""
    chains: dict[int, list[str]] = {found.start: [names[found.start]]}
    step = found.step
    for row in found.order:  # by distance: each step's path is built before the paths through it
        chains[row] = [names[row]] + chains[step[row]] if backward else chains[step[row]] + [names[row]]
    del chains[found.start]
    return chains


def all_shortest_paths(index: ReachIndex, rel: str, start: int, end: int,
                       max_depth: int = MAX_DEPTH) -> list[list[int]]:
    """Every shortest path of ``rel`` edges from ``start`` to another node ``end``, as rows, in
    (name, ID) order of their steps (none from a node to itself, as Kuzu's ``ALL SHORTEST``)."""
    if start == end:
        return []
    parents: dict[int, list[int]] = {}  #: row -> its predecessors one level closer to the start
    depth_of = {start: 0}
    level = [start]
    depth = 0
    while level and depth < max_depth and end not in parents:
        depth += 1
        following: list[int] = []
        for row in level:
            for other in index.neighbours(rel, "out", row):
                known = depth_of.get(other)
                if known is None:
                    depth_of[other] = depth
                    parents[other] = [row]
                    following.append(other)
                elif known == depth:
                    parents[other].append(row)
        level = following
    if end not in parents:
        return []
    found: list[list[int]] = []

    def walk(row: int, tail: list[int]) -> None:
        if row == start:
            found.append([start, *tail])
            return
        for parent in parents[row]:
            walk(parent, [row, *tail])

    walk(end, [])
    rank = index.rank
    return sorted(found, key=lambda path: [rank[r] for r in path])
