"""Snapshots: a reader answers from one published state while the index is rewritten, then moves on whole."""
from __future__ import annotations

import json
from pathlib import Path

from m2io.index.build import IndexConfig, build_index, encode_local
from m2io.index.manifest import IndexManifest
from m2io.retrieve import Retriever

NEW_DOC = ["zebra", "Zebra stripes\nThe quokkaflux filter paints zebra stripes over the selection.", []]


def _cfg(backend: dict, **kw) -> IndexConfig:
    return IndexConfig(backend=backend["backend"], pg_dsn=backend["pg_dsn"], pg_prefix=backend["pg_prefix"], **kw)


def _add_doc(corpus: Path, row: list = NEW_DOC) -> None:
    with (corpus / "doc_tiny.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")


def _docs(retriever: Retriever, query: str = "quokkaflux zebra stripes filter") -> set[str]:
    with retriever.reading():
        return {r.doc_id for r in retriever.search(query, k=10)}


def test_a_reader_stays_on_its_snapshot_while_a_run_writes_then_moves_on_whole(backend, tiny_corpus: Path,
                                                                                tmp_path: Path):
    index = tmp_path / "index"
    build_index([tiny_corpus], index, _cfg(backend), progress=False)
    reader = Retriever.open(index, pg_dsn=backend["pg_dsn"])
    assert reader.version == 1 and reader.sources["tiny/layers"].label.startswith("Tiny Paint Manual")
    _add_doc(tiny_corpus)
    seen_during = []

    def watching(todo, cfg, models, report):  # the real engine; the reader looks after each batch is written
        for rows in encode_local(todo, cfg, models, report):
            yield rows
            seen_during.append((_docs(reader), reader.version))

    report = build_index([tiny_corpus], index, _cfg(backend), progress=False, engine=watching)
    assert report.indexed == 1 and IndexManifest.load(index).snapshot["version"] == 2
    assert seen_during == [({"tiny/layers", "tiny/brush", "tiny/export", "tiny/crop"}, 1)]
    assert "tiny/zebra" in _docs(reader) and reader.version == 2  # BM25, rows and sources of snapshot 2 together
    assert "tiny/zebra" in reader.sections.read(["tiny/zebra"])  # the answerers' section reader moved too
    reader.close()


def test_a_run_that_stops_publishes_nothing(backend, tiny_corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    build_index([tiny_corpus], index, _cfg(backend), progress=False)
    reader = Retriever.open(index, pg_dsn=backend["pg_dsn"])
    _add_doc(tiny_corpus)
    _add_doc(tiny_corpus, ["yak", "Yak shaving\nShave the quokkaflux yak before exporting.", []])
    build_index([tiny_corpus], index, _cfg(backend, batch_docs=1, max_docs=1), progress=False)
    assert not reader.refresh() and reader.version == 1
    assert "tiny/zebra" not in _docs(reader) and "tiny/yak" not in _docs(reader)
    reader.close()


def test_old_snapshot_files_are_pruned_and_a_no_op_run_publishes_nothing(tiny_corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    build_index([tiny_corpus], index, IndexConfig(), progress=False)
    build_index([tiny_corpus], index, IndexConfig(), progress=False)
    assert IndexManifest.load(index).snapshot["version"] == 1
    readers, tables = [], []
    for n, word in enumerate(["alpha", "beta"]):
        _add_doc(tiny_corpus, [f"extra{n}", f"Extra {word}\nA page about {word}.", []])
        build_index([tiny_corpus], index, IndexConfig(), progress=False)
        readers.append(Retriever.open(index))
        tables.append(IndexManifest.load(index).snapshot["tables"])
    names = sorted(p.name for p in index.iterdir() if p.name.startswith(("bm25", "sources")))
    assert names == ["bm25.v2", "bm25.v3", "sources.v2.json", "sources.v3.json"]
    # Table versions before snapshot 2's are gone; a reader still on snapshot 2 reads on, unrefreshed.
    oldest = {name: min(v["version"] for v in readers[1].store.tables[name].list_versions()) for name in tables[0]}
    assert all(oldest[name] <= tables[0][name] for name in oldest) and readers[0].version == 2
    assert "tiny/extra0" in {r.doc_id for r in readers[0].search("Extra alpha page", k=5)}
    assert readers[0].store.counts()["docs"] == 5


def test_relabelled_sources_alone_publish_a_snapshot(tiny_corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    build_index([tiny_corpus], index, IndexConfig(), progress=False)
    sidecar = tiny_corpus / "tiny_sources.jsonl"
    sidecar.write_text(sidecar.read_text().replace("Tiny Paint Manual", "Tiny Paint Guide"))
    report = build_index([tiny_corpus], index, IndexConfig(), progress=False)
    assert report.indexed == 0 and IndexManifest.load(index).snapshot["version"] == 2
    assert Retriever.open(index).sources["tiny/layers"].manual == "Tiny Paint Guide"


def test_pgvector_reads_stay_in_one_state_while_another_run_commits(pg_dsn: str, tiny_corpus: Path, tmp_path: Path):
    backend = {"backend": "pgvector", "pg_dsn": pg_dsn, "pg_prefix": "snapview"}
    index = tmp_path / "index"
    build_index([tiny_corpus], index, _cfg(backend), progress=False)
    replica = Retriever.open(index, pg_dsn=pg_dsn)
    _add_doc(tiny_corpus)
    with replica.reading():
        before = {r.doc_id for r in replica.search("quokkaflux zebra stripes filter", k=10)}
        build_index([tiny_corpus], index, _cfg(backend), progress=False)  # commits on another connection
        during = {r.doc_id for r in replica.search("quokkaflux zebra stripes filter", k=10)}
        assert replica.store.chunks(["tiny/zebra::0"]) == {}
    assert before == during and "tiny/zebra" not in during and replica.version == 1
    assert "tiny/zebra" in _docs(replica) and replica.version == 2
    replica.close()


def test_rows_of_a_run_that_died_before_publishing_are_published_by_the_next(tiny_corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    build_index([tiny_corpus], index, IndexConfig(), progress=False)
    _add_doc(tiny_corpus)

    def dies_at_the_end(todo, cfg, models, report):  # every batch written, then the process dies before publishing
        yield from encode_local(todo, cfg, models, report)
        raise KeyboardInterrupt

    try:
        build_index([tiny_corpus], index, IndexConfig(), progress=False, engine=dies_at_the_end)
    except KeyboardInterrupt:
        pass
    assert IndexManifest.load(index).snapshot["version"] == 1
    again = build_index([tiny_corpus], index, IndexConfig(), progress=False)
    assert again.indexed == 0 and IndexManifest.load(index).snapshot["version"] == 2
    assert "tiny/zebra" in _docs(Retriever.open(index))
