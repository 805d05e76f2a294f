"""analyzers/components.py: strongly connected components."""

from __future__ import annotations

import random

import networkx as nx

from astrepo.analyzers.components import strongly_connected


def _random_graph(rng: random.Random) -> dict[int, list[int]]:
    n = rng.randint(1, 60)
    successors: dict[int, list[int]] = {}
    for _ in range(rng.randint(0, 3 * n)):
        successors.setdefault(rng.randrange(n), []).append(rng.randrange(n))
    return successors


def test_same_components_as_networkx_each_after_what_it_reaches() -> None:
    rng = random.Random(7)
    for _ in range(200):
        successors = _random_graph(rng)
        nodes = sorted({*successors, *(b for out in successors.values() for b in out)})
        found = strongly_connected(nodes, successors)
        graph = nx.DiGraph()
        graph.add_nodes_from(nodes)
        graph.add_edges_from((a, b) for a, out in successors.items() for b in out)
        assert sorted(map(sorted, found)) == sorted(map(sorted, nx.strongly_connected_components(graph)))
        position = {node: i for i, component in enumerate(found) for node in component}
        for a, out in successors.items():
            for b in out:
                assert position[b] <= position[a]  # callees' components complete first


def test_only_what_the_start_nodes_reach() -> None:
    assert strongly_connected([1], {1: [2], 2: [1], 3: [1]}) == [[2, 1]]


def test_chains_deeper_than_the_recursion_limit() -> None:
    n = 100_000
    successors = {k: [k + 1] for k in range(n)}
    successors[n] = [0]
    found = strongly_connected([0], successors)
    assert len(found) == 1 and len(found[0]) == n + 1
