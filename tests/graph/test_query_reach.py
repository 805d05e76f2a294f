"""Shortest paths rebuilt from distances and edges (no database)."""

from __future__ import annotations

from astrepo.graph.query.reach import Reached, shortest_paths


def reached(start: str, nodes: dict[str, int], edges: dict[str, list[str]]) -> Reached:
    """A `Reached` whose node names are their IDs."""
    return Reached(start, start, {n: ("Function", n, "f.py", 1, "function", d) for n, d in nodes.items()}, edges)


def test_callers_step_towards_the_start_through_the_smallest_name() -> None:
    # a -> b -> t and a -> c -> t are equally short; b wins. d reaches t only through a.
    found = reached("t", {"b": 1, "c": 1, "a": 2, "d": 3}, {"a": ["c", "b", "x"], "d": ["a"]})
    assert shortest_paths(found, backward=True) == {
        "b": ["b", "t"], "c": ["c", "t"], "a": ["a", "b", "t"], "d": ["d", "a", "b", "t"]}


def test_callees_hang_off_the_first_settled_predecessor() -> None:
    # s -> a, s -> b; a -> c, b -> c, c -> e; c -> a goes back up and is no shortest step.
    found = reached("s", {"a": 1, "b": 1, "c": 2, "e": 3}, {"b": ["c"], "a": ["c"], "c": ["e", "a"]})
    assert shortest_paths(found, backward=False) == {
        "a": ["s", "a"], "b": ["s", "b"], "c": ["s", "a", "c"], "e": ["s", "a", "c", "e"]}


def test_nothing_reached() -> None:
    assert shortest_paths(reached("t", {}, {}), backward=True) == {}
