"""Strongly connected components of a directed graph given as successor lists.

Tarjan's algorithm, iterative: call graphs have chains deeper than Python's
recursion limit. Used by the call-graph metrics (`astrepo.analyzers.metrics`)
and by the instrumentation planner's cost estimate (`astrepo.capture.plan_estimate`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def strongly_connected(nodes: Iterable[K], successors: Mapping[K, Sequence[K]]) -> list[list[K]]:
    """Every strongly connected component of the nodes reachable from ``nodes`` (singletons too),
    in the order Tarjan's algorithm completes them: a component comes after every component it
    reaches (callees first). Members in the order they leave the stack. Deterministic: the search
    starts from ``nodes`` in order and follows ``successors`` in order."""
    index: dict[K, int] = {}  #: visiting order
    low: dict[K, int] = {}  #: smallest visiting order reachable
    on_stack: set[K] = set()
    stack: list[K] = []
    components: list[list[K]] = []
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(successors.get(root, ())))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors.get(child, ()))))
                    break
                if child in on_stack and index[child] < low[node]:
                    low[node] = index[child]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(component)
    return components
