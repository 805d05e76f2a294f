"""Search quality and speed of astrepo's embeddings, against a plain BM25 baseline.

Quality: for each project (a PyPI source distribution), a copy with every
docstring removed is indexed; each function that had a docstring gives one
query, the first sentence of its docstring, whose target is that function.
Reported: MRR@10 and recall@10 for astrepo's vectors alone, astrepo's hybrid
ranking (vectors re-ranked with BM25, at several weights), and a plain BM25
baseline over names and identifiers, in the same run.

Speed: symbols encoded per second, p50 search latency over 100k vectors
(exact, HNSW, and VectorIndex's float16 pre-selection with exact re-scoring),
and the time embeddings add to a full index of Django.

Usage::

    python bench/search_eval.py quality [--projects requests==2.32.3 ...] [--tokens 64] [--fp32]
    python bench/search_eval.py speed [--project Django==5.1.4] [--tokens 32] [--fp32]
    python bench/search_eval.py throughput [--sample 2000] [--configs 32:int8 64:int8 64:fp32 128:fp32]
    python bench/search_eval.py latency

Results are printed and appended as JSON lines to bench/results/search_eval.jsonl.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results"
DEFAULT_PROJECTS = ("requests==2.32.3", "flask==3.1.0", "click==8.1.8")


# -- getting and preparing projects -------------------------------------------------

def fetch_sdist(spec: str) -> Path:
    """Download (once) and unpack an sdist; return the unpacked folder."""
    name, version = spec.split("==")
    CACHE.mkdir(parents=True, exist_ok=True)
    archive = next((p for p in CACHE.glob("*.tar.gz") if p.name.lower() == f"{name}-{version}.tar.gz".lower()), None)
    if archive is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", spec,
                        "-d", str(CACHE)], check=True, stdout=subprocess.DEVNULL)
        archive = next(p for p in CACHE.glob("*.tar.gz") if p.name.lower() == f"{name}-{version}.tar.gz".lower())
    target = CACHE / "src" / archive.name[:-len(".tar.gz")]
    if not target.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(target.parent, filter="data")
    return target


def strip_docstrings(source: str) -> tuple[str, list[tuple[int, str, str]]]:
    """The source with docstrings blanked (line numbers kept) and the removed function docstrings.

    Returns:
        (new source, [(end_line of the function, function name, docstring)]).
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            continue
        body = node.body
        if not body or not isinstance(body[0], ast.Expr) or not isinstance(body[0].value, ast.Constant) \
                or not isinstance(body[0].value.value, str):
            continue
        doc = body[0]
        first, last = doc.lineno, doc.end_lineno or doc.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((node.end_lineno or 0, node.name, doc.value.value))
        # Only blank docstrings that occupy whole lines (the usual layout).
        if lines[first - 1][:doc.col_offset].strip() or lines[last - 1][doc.end_col_offset:].strip():
            continue
        indent = " " * doc.col_offset
        needs_pass = len(body) == 1
        for ln in range(first, last + 1):
            lines[ln - 1] = "\n"
        lines[first - 1] = f"{indent}pass\n" if needs_pass else "\n"
    return "".join(lines), found


def first_sentence(doc: str) -> str:
    text = " ".join(doc.strip().split("\n\n", 1)[0].split())
    for end in (". ", ".\n"):
        if end in text:
            text = text.split(end, 1)[0]
    return text.rstrip(".")


def prepare_copy(src: Path) -> tuple[Path, dict[tuple[str, int, str], str]]:
    """A docstring-free copy of a project and its queries keyed by (file, end_line, name)."""
    dst = src.parent.parent / "stripped" / src.name
    if dst.exists():
        shutil.rmtree(dst)
    queries: dict[tuple[str, int, str], str] = {}
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            stripped, docs = strip_docstrings(text)
        except SyntaxError:
            stripped, docs = text, []
        out.write_text(stripped, encoding="utf-8")
        for end_line, name, doc in docs:
            sentence = first_sentence(doc)
            if len(sentence.split()) >= 3:
                queries[(rel, end_line, name)] = sentence
    return dst, queries


# -- evaluation ----------------------------------------------------------------------

def index_graph(root: Path, db: Path) -> float:
    from astrepo.graph.build import IndexConfig, build_index

    if db.exists():
        shutil.rmtree(db)
    t = time.perf_counter()
    build_index(IndexConfig(root=root, db_dir=db, rebuild=True))
    return time.perf_counter() - t


def read_graph_symbols(db: Path, check: bool = True):
    from astrepo.graph.db import GraphDB
    from astrepo.graph.store import DB_FILE, GraphStore
    from astrepo.graph.symbols import read_symbols
    from astrepo.layout import Layout

    store = GraphStore(Layout(db))
    graph: GraphDB = store.open_read() if check else GraphDB(str(store.current_path() / DB_FILE), read_only=True)
    try:
        return read_symbols(graph)
    finally:
        graph.close()


def metrics(ranks: list[int | None], k: int = 10) -> dict[str, float]:
    n = len(ranks)
    mrr = sum(1.0 / r for r in ranks if r is not None and r <= k) / n
    recall = sum(1 for r in ranks if r is not None and r <= k) / n
    return {"mrr@10": round(mrr, 4), "recall@10": round(recall, 4)}


def rank_of(target: int, ranked: list[int]) -> int | None:
    try:
        return ranked.index(target) + 1
    except ValueError:
        return None


def evaluate_project(spec: str, encoder, alphas: tuple[float, ...]) -> dict:
    from astrepo.embeddings.lexical import BM25, document_terms, query_terms
    from astrepo.embeddings.search import RERANK_CANDIDATES, SemanticIndex, rerank, update_embeddings
    from astrepo.embeddings.text import SourceLines, SymbolKind
    from astrepo.embeddings.vector_index import load_vector_index
    from astrepo.layout import Layout

    src = fetch_sdist(spec)
    copy, queries = prepare_copy(src)
    db = CACHE / "db" / src.name
    index_seconds = index_graph(copy, db)
    symbols = read_graph_symbols(db)
    position = {(s.file, s.end_line, s.short_name): i for i, s in enumerate(symbols)
                if s.kind is SymbolKind.FUNCTION}
    pairs = [(position[key], q) for key, q in sorted(queries.items()) if key in position]
    # astrepo: the embedding stage and the search API, as `astrepo search` runs them.
    layout = Layout(db)
    summary = update_embeddings(layout, copy, symbols, encoder=encoder)
    index = SemanticIndex(load_vector_index(layout.embeddings_dir), encoder)
    qvecs = encoder.encode([q for _, q in pairs])
    found = [index.search_vector(v, RERANK_CANDIDATES) for v in qvecs]
    # BM25 over names and identifiers of each symbol's whole source.
    files = SourceLines(copy)
    docs = []
    for s in symbols:
        lines = files(s.file) or []
        body = "\n".join(lines[s.start_line - 1:s.end_line]) if s.kind is not SymbolKind.MODULE else ""
        docs.append(document_terms(s.name, body))
    bm25 = BM25(docs)
    ranks: dict[str, list[int | None]] = {"astrepo_vector": [], "bm25": []}
    for a in alphas:
        ranks[f"astrepo_hybrid_{a}"] = []
    ids = [s.id for s in symbols]
    for (target, q), hits in zip(pairs, found):
        ranks["astrepo_vector"].append(rank_of(ids[target], [h.id for h in hits[:10]]))
        lexical = bm25.scores(query_terms(q))
        ranks["bm25"].append(rank_of(target, [i for i, _ in sorted(lexical.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]))
        for a in alphas:
            fused = rerank(hits, query_terms(q), index._lexical_scores, a)
            ranks[f"astrepo_hybrid_{a}"].append(rank_of(ids[target], [h.id for h in fused[:10]]))
    return {
        "project": spec, "symbols": len(symbols), "queries": len(pairs),
        "index_seconds": round(index_seconds, 2), "embed_stage_seconds": summary["seconds"],
        "encode_seconds": summary["encode_seconds"], "symbols_per_second": summary["symbols_per_second"],
        **{name: metrics(r) for name, r in ranks.items()},
    }


def run_quality(args: argparse.Namespace) -> list[dict]:
    from astrepo.embeddings.encode import Encoder, EncoderConfig

    config = EncoderConfig(max_tokens=args.tokens, quantize=not args.fp32)
    encoder = Encoder.load(config)
    out = []
    for spec in args.projects:
        result = {"bench": "quality", "model": config.key, **evaluate_project(spec, encoder, tuple(args.alphas))}
        report(result)
        out.append(result)
    return out


# -- speed -----------------------------------------------------------------------------

def run_speed(args: argparse.Namespace) -> dict:
    """Time a full Django index without embeddings, then the embedding stage on its graph."""
    from astrepo.embeddings.encode import EncoderConfig
    from astrepo.embeddings.search import update_embeddings
    from astrepo.graph.symbols import published_symbols
    from astrepo.layout import Layout

    src = fetch_sdist(args.project)
    db = CACHE / "db" / f"speed-{src.name}"
    index_seconds = index_graph(src, db)
    layout = Layout(db)
    if layout.embeddings_dir.exists():
        shutil.rmtree(layout.embeddings_dir)
    t = time.perf_counter()
    published = published_symbols(layout, src)
    read_seconds = time.perf_counter() - t
    config = EncoderConfig(max_tokens=args.tokens, quantize=not args.fp32)
    t = time.perf_counter()
    summary = update_embeddings(layout, src, published.symbols, config, generation=published.generation,
                                file_hashes=published.file_hashes)
    embed_seconds = time.perf_counter() - t
    # Incremental: touch nothing, then re-run: nothing is encoded.
    t = time.perf_counter()
    again = update_embeddings(layout, src, published.symbols, config, generation=published.generation,
                              file_hashes=published.file_hashes)
    result = {"bench": "speed", "project": args.project, "model": config.key, "symbols": summary["symbols"],
              "graph_index_seconds": round(index_seconds, 1), "read_symbols_seconds": round(read_seconds, 2),
              "embed_stage_seconds": round(embed_seconds, 1), "encode_seconds": summary["encode_seconds"],
              "encode_cpu_seconds": summary["encode_cpu_seconds"], "symbols_per_second": summary["symbols_per_second"],
              "unchanged_rerun_seconds": round(time.perf_counter() - t, 2), "unchanged_rerun_encoded": again["encoded"],
              "loadavg": os.getloadavg()}
    report(result)
    return result


def run_throughput(args: argparse.Namespace) -> list[dict]:
    """Encoding throughput on a random sample of a project's symbols, per token window and precision.

    Wall-clock time on a shared machine depends on what else runs, so CPU
    time of this process is reported too (2 cores: wall >= cpu / 2).
    """
    import random

    from astrepo.embeddings.encode import Encoder, EncoderConfig
    from astrepo.embeddings.text import SourceLines, symbol_texts

    src = fetch_sdist(args.project)
    db = CACHE / "db" / f"speed-{src.name}"
    from astrepo.errors import AstrepoError

    try:
        symbols = read_graph_symbols(db)
    except AstrepoError:  # not indexed yet, or by another schema
        try:  # a graph of an older schema still has every column read here
            symbols = read_graph_symbols(db, check=False)
        except Exception:  # noqa: BLE001 - no graph at all
            index_graph(src, db)
            symbols = read_graph_symbols(db)
    sample = random.Random(0).sample(symbols, min(args.sample, len(symbols)))
    files = SourceLines(src)
    out = []
    for spec in args.configs:
        tokens, precision = spec.split(":")
        encoder = Encoder.load(EncoderConfig(max_tokens=int(tokens), quantize=precision == "int8"))
        texts = symbol_texts(sample, files, encoder.config.max_tokens)
        t, cpu = time.perf_counter(), time.process_time()
        encoder.encode(texts)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        result = {"bench": "throughput", "project": args.project, "model": encoder.config.key, "texts": len(texts),
                  "symbols_per_second": round(len(texts) / wall, 1),
                  "symbols_per_cpu_second": round(len(texts) / cpu, 1), "loadavg": os.getloadavg()}
        report(result)
        out.append(result)
    return out


def run_latency(args: argparse.Namespace) -> dict:
    """p50 search latency over 100k vectors, exact and HNSW (random unit vectors with some structure)."""
    from astrepo.embeddings.vector_index import HNSW_EF_SEARCH, build_faiss_index

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((2000, 384)).astype(np.float32)
    vectors = centres[rng.integers(0, 2000, args.n)] + 0.5 * rng.standard_normal((args.n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.integers(0, args.n, 200)] + 0.1 * rng.standard_normal((200, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    result: dict = {"bench": "latency", "vectors": args.n}
    exact_top = None
    for name, threshold in (("flat", args.n + 1), ("hnsw", 0)):
        import faiss

        faiss.omp_set_num_threads(os.cpu_count() or 1)  # build with all cores; search as VectorIndex does

        t = time.perf_counter()
        index = build_faiss_index(vectors, threshold=threshold)
        build = time.perf_counter() - t
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = HNSW_EF_SEARCH
        faiss.omp_set_num_threads(1)
        times, tops = [], []
        for q in queries:
            t = time.perf_counter()
            _, idx = index.search(q[None, :], 10)
            times.append(time.perf_counter() - t)
            tops.append(idx[0])
        entry = {"build_seconds": round(build, 2), "p50_ms": round(1000 * float(np.median(times)), 3),
                 "p95_ms": round(1000 * float(np.percentile(times, 95)), 3)}
        if exact_top is None:
            exact_top = tops
        else:
            entry["recall@10_vs_exact"] = round(float(np.mean([len(set(a) & set(b)) / 10
                                                                for a, b in zip(tops, exact_top)])), 4)
        result[name] = entry
    result["flat_fp16_preselect"] = _preselect_latency(vectors, queries, exact_top)
    report(result)
    return result


def _preselect_latency(vectors: np.ndarray, queries: np.ndarray, exact_top: list) -> dict:
    """One query at a time through VectorIndex.search below the HNSW threshold: float16 pre-selection,
    exact re-scoring (embeddings.vector_index.COARSE_MARGIN); its top 10 against the full flat scan's."""
    from astrepo.embeddings.vector_index import Meta, Row, VectorIndex, build_faiss_index

    n, dim = vectors.shape
    rows = [Row(str(i), "", "function", f"s{i}", "m.py", 1, 1) for i in range(n)]
    meta = Meta("synthetic", "synthetic", dim, n, "flat", "", 1, 32, False)
    index = VectorIndex(meta, rows, vectors, build_faiss_index(vectors, threshold=n + 1))
    index.search(queries[0], 10)  # the float16 copies are made on the first search
    times, same = [], 0
    for q, exact in zip(queries, exact_top):
        t = time.perf_counter()
        hits = index.search(q, 10)[0]
        times.append(time.perf_counter() - t)
        same += [i for i, _ in hits] == list(exact)
    return {"p50_ms": round(1000 * float(np.median(times)), 3),
            "p95_ms": round(1000 * float(np.percentile(times, 95)), 3), "same_top10_as_exact": f"{same}/{len(queries)}"}


def report(result: dict) -> None:
    print(json.dumps(result), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "search_eval.jsonl", "a") as handle:
        handle.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **result}) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--projects", nargs="+", default=list(DEFAULT_PROJECTS))
    q.add_argument("--alphas", nargs="*", type=float, default=[0.2, 0.3, 0.5])
    s = sub.add_parser("speed")
    s.add_argument("--project", default="Django==5.1.4")
    for p in (q, s):
        p.add_argument("--tokens", type=int, default=32)
        p.add_argument("--fp32", action="store_true", help="No int8 quantisation.")
    th = sub.add_parser("throughput")
    th.add_argument("--project", default="Django==5.1.4")
    th.add_argument("--sample", type=int, default=2000)
    th.add_argument("--configs", nargs="+", default=["32:int8", "64:int8", "64:fp32", "128:fp32"])
    lat = sub.add_parser("latency")
    lat.add_argument("-n", type=int, default=100_000)
    args = parser.parse_args(argv)
    {"quality": run_quality, "speed": run_speed, "throughput": run_throughput, "latency": run_latency}[args.what](args)


if __name__ == "__main__":
    main()
