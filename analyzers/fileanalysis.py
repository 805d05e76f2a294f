"""All per-file analyses in one call, packed for the trip from a worker process.

`analyze_file` walks the tree once (`index_statements`) and runs the CFG,
data-flow, exception and metrics analyzers on it. Their records are
NamedTuples; pickling a NamedTuple costs about five times a plain tuple
(pickle calls ``__reduce_ex__`` per object), so `FileAnalysis` carries each
table as a list of plain tuples, in the field order of its record type, and
rebuilds typed records on demand (``FileAnalysis.records(name)``).

Invariants: the result depends only on (tree, facts), so it can be cached
next to the file's facts under the same content hash; every table is in a
deterministic order.
"""

from __future__ import annotations

from typing import NamedTuple

import tree_sitter

from astrepo.model import FileFacts
from astrepo.analyzers.cfg import CfgEdge, CfgNode, build_cfg, synthetic_nodes
from astrepo.analyzers.dataflow import (
    CallArgs, CallableInfo, ParamInfo, Reach, ReturnSite, analyze_dataflow,
)
from astrepo.analyzers.exceptions import (
    CallSiteGuard, CatchFact, ExceptionFacts, ImplicitRaise, RaiseFact, analyze_exceptions,
)
from astrepo.analyzers.metrics import Effect, FunctionMetrics, Role, analyze_metrics
from astrepo.analyzers.statements import index_statements

#: Bump when an analyzer changes what it produces (cached analyses of an older
#: version are recomputed). History: 1 - CFG, data flow, exceptions, metrics; 2 - handlers that
#: re-raise guard nothing; 3 - slices raise no lookup error, subscript stores no KeyError; 4 - statements
#: found in files that start with blank lines; 5 - none (the cache holding analyses with their facts
#: pickles the facts in a new form, `FileFacts.__getstate__`).
ANALYSIS_VERSION = 5

#: Table name -> record type.
RECORD_TYPES: dict[str, type] = {
    "cfg_edges": CfgEdge, "cfg_nodes": CfgNode,
    "reaches": Reach, "call_args": CallArgs, "params": ParamInfo, "callables": CallableInfo,
    "returns": ReturnSite,
    "raises": RaiseFact, "catches": CatchFact, "implicit": ImplicitRaise, "guards": CallSiteGuard,
    "functions": FunctionMetrics, "roles": Role, "effects": Effect,
}


class FileAnalysis(NamedTuple):
    """Every per-file analysis result of one file, as plain tuples."""

    path: str
    tables: dict[str, list[tuple]]  #: table name (RECORD_TYPES) -> rows as plain tuples
    classes: list[tuple[str, tuple[str, ...]]]  #: (class short name, base short names) for the hierarchy
    partial: list[str]  #: functions whose data-flow fixpoint hit its budget

    def records(self, name: str) -> list:
        """The rows of one table as typed records."""
        make = RECORD_TYPES[name]._make
        return [make(row) for row in self.tables.get(name, ())]

    def exception_facts(self) -> ExceptionFacts:
        """What `propagate_exceptions` needs of this file (guarded call sites only)."""
        return ExceptionFacts(self.records("raises"), [], [], self.records("guards"), self.classes)


def analyze_file(tree: tree_sitter.Tree, facts: FileFacts) -> FileAnalysis:
    """Run every per-file analyzer on one parsed file."""
    index = index_statements(tree, facts)
    cfg = build_cfg(tree, facts, index)
    flow = analyze_dataflow(tree, facts, index, cfg)
    exc = analyze_exceptions(tree, facts, index, guarded_only=True)
    met = analyze_metrics(tree, facts, index)
    tables = {
        "cfg_edges": cfg, "cfg_nodes": synthetic_nodes(index),
        "reaches": flow.reaches, "call_args": flow.call_args, "params": flow.params,
        "callables": flow.callables, "returns": flow.returns,
        "raises": exc.raises, "catches": exc.catches, "implicit": exc.implicit,
        # Unguarded call sites add nothing to propagation (their scope is in the CallFacts).
        "guards": [s for s in exc.sites if s.handlers],
        "functions": met.functions, "roles": met.roles, "effects": met.effects,
    }
    return FileAnalysis(facts.path, {k: list(map(tuple, v)) for k, v in tables.items()}, exc.classes,
                        list(flow.partial))
