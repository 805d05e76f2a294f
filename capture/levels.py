"""Capture levels: how deep the planner instruments one function, shallow to deep.

Each level includes the previous ones, except that ``counted``'s call counter
is replaced by the boundary from ``timed`` on:

* ``exceptions``: exceptions leaving the function and caught by its ``except``
  clauses (every plan has these everywhere: a zero-cost ``try`` until something
  raises);
* ``counted``: a line point on its first statement (a call counter, no clock);
* ``timed``: its boundary (calls, durations), no value previews;
* ``boundary``: boundary with argument and return previews (sampled);
* ``deep``: plus branches and assigned variables of its own body;
* ``full``: plus every line and call-site value.
"""

from __future__ import annotations

LEVELS = ("exceptions", "counted", "timed", "boundary", "deep", "full")
EXCEPTIONS, COUNTED, TIMED, BOUNDARY, DEEP, FULL = range(len(LEVELS))
LEVEL_OF = {name: i for i, name in enumerate(LEVELS)}
