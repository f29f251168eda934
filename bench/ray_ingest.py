"""Distributed ingest: documents/s of the local engine and of Ray at 1 and 2 CPUs; wall time and memory at scale.

Throughput (``--repeats R``): the ``--corpus`` folders are indexed R times by each of (a) the local engine (torch on
every core), (b) Ray on a local cluster of 1 CPU (1 actor, 1 torch thread), (c) Ray on 2 CPUs (2 actors),
interleaved a b c a b c ..., each into a fresh temporary index. docs/s = documents indexed / wall time of
``build_index`` (everything: reading, hashing, models, encoding, writing, BM25); Ray's start-up is measured apart,
as a long-lived cluster would not pay it per run. Medians, and the ratio ray-2cpu / ray-1cpu.

Scale (``--synthetic-chunks N``): the ``--corpus`` datasets are replicated under new dataset names and document ids
until they hold >= N chunks (``chunk_document``, default ``ChunkConfig``). Images are not copied: each source's
image folder is hard-linked once into the synthetic corpus and all its replicas refer to it by path (symbolic links
or absolute paths out of a corpus folder are refused by the reader). Then it is indexed once with Ray on
``--ray-cpus`` CPUs. Recorded: wall time; peak RSS (VmHWM from /proc, polled every 0.5 s) of this process (the
driver), of every actor process and of Ray's other processes; the largest sum of their RSS at one poll.

    .venv/bin/python bench/ray_ingest.py --corpus data/kicad --repeats 3 --json bench/results/ray-ingest-kicad.json
    .venv/bin/python bench/ray_ingest.py --corpus data/kicad --repeats 0 --synthetic-chunks 100000 \\
        --json bench/results/ray-ingest-100k.json

Run it on a quiet machine: other work on the CPUs changes every rate.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from m2io.corpus.chunk import ChunkConfig, chunk_document
from m2io.corpus.mramg import collection_path, dataset_names, doc_path, read_dataset
from m2io.corpus.sources import write_sources
from m2io.index.build import IndexConfig, build_index
from m2io.index.models import IndexModels
from m2io.index.ray_engine import ray_engine, start_ray


class PeakRss(threading.Thread):
    """Peak RSS (MiB) of this process and of every process under it (Ray's daemons and workers), by pid."""

    def __init__(self, interval: float = 0.5):
        super().__init__(daemon=True)
        self.interval, self.done = interval, threading.Event()
        self.peak: dict[int, float] = {}
        self.title: dict[int, str] = {}
        self.total = 0.0
        """The largest sum of the processes' current RSS seen at one poll."""

    def poll(self) -> None:
        me = psutil.Process()
        mine, total = me.cmdline(), 0
        for p in [me, *me.children(recursive=True)]:
            try:
                status = Path(f"/proc/{p.pid}/status").read_text()
                cmdline = p.cmdline()
            except (OSError, psutil.Error):
                continue
            if p.pid != me.pid and cmdline == mine:
                continue  # forked by Ray to exec a daemon, not yet exec'd: its pages are this process's
            script = next((Path(a).name for a in cmdline[1:] if a.endswith(".py")), None)
            title = cmdline[0] if cmdline and cmdline[0].startswith("ray::") else script or p.name()
            kib = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in status.splitlines())
                   if k in ("VmHWM", "VmRSS")}
            hwm, total = kib.get("VmHWM", 0) / 1024, total + kib.get("VmRSS", 0) / 1024
            self.peak[p.pid] = max(self.peak.get(p.pid, 0.0), hwm)
            if p.pid not in self.title or title.startswith("ray::") and title != "ray::IDLE":
                self.title[p.pid] = title  # a worker takes its actor's name once it hosts one
        self.total = max(self.total, total)

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.poll()

    def stop(self) -> dict:
        self.done.set()
        self.join()
        self.poll()
        actors = {pid: mib for pid, mib in self.peak.items() if "MapWorker" in self.title[pid]}
        other = {pid: mib for pid, mib in self.peak.items() if pid != os.getpid() and pid not in actors}
        return {"driver_peak_rss_mib": round(self.peak.get(os.getpid(), 0.0), 1),
                "all_peak_rss_mib": round(self.total, 1),
                "actor_peak_rss_mib": [round(v, 1) for v in sorted(actors.values(), reverse=True)],
                "other_ray_processes_mib": {f"{pid} {self.title[pid][:60]}": round(v, 1)
                                            for pid, v in sorted(other.items())}}


def _one_run(folders: list[Path], engine: str, cpus: int, work: Path) -> dict:
    out = Path(tempfile.mkdtemp(dir=work, prefix=f"{engine}{cpus}-"))
    try:
        started = 0.0
        if engine == "ray":
            t0 = time.perf_counter()
            start_ray(num_cpus=cpus)
            started = time.perf_counter() - t0
        report = build_index(folders, out, IndexConfig(), progress=False,
                             engine=ray_engine(actors=cpus) if engine == "ray" else None)
    finally:
        if engine == "ray":
            import ray

            ray.shutdown()
        shutil.rmtree(out, ignore_errors=True)
    return {"docs": report.indexed, "chunks": report.chunks, "seconds": round(report.seconds, 2),
            "encode_seconds": round(report.encode_seconds, 2), "docs_per_s": round(report.indexed / report.seconds, 3),
            "ray_start_seconds": round(started, 2)}


def throughput(folders: list[Path], repeats: int, cpu_counts: list[int], work: Path) -> dict:
    configs = [("local", 1)] + [("ray", n) for n in cpu_counts]
    runs: dict[str, list[dict]] = {f"{e}-{n}cpu" if e == "ray" else e: [] for e, n in configs}
    for r in range(repeats):
        for (engine, cpus), key in zip(configs, runs):
            runs[key].append(_one_run(folders, engine, cpus, work))
            print(f"repeat {r + 1}/{repeats} {key}: {runs[key][-1]}", flush=True)
    median = {key: statistics.median(x["docs_per_s"] for x in rows) for key, rows in runs.items()}
    out = {"runs": runs, "median_docs_per_s": median}
    if "ray-1cpu" in median and "ray-2cpu" in median:
        out["ratio_ray_2cpu_over_1cpu"] = round(median["ray-2cpu"] / median["ray-1cpu"], 3)
    out["ratio_ray_over_local"] = {k: round(v / median["local"], 3) for k, v in median.items() if k != "local"}
    return out


def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system
        shutil.copy2(src, dst)


def synthetic_corpus(folders: list[Path], min_chunks: int, root: Path) -> dict:
    """Replicas of the datasets in ``folders`` under ``root`` until they hold >= ``min_chunks`` chunks."""
    sources = []
    root.mkdir(parents=True)
    for k, folder in enumerate(folders):
        for name in dataset_names(folder):
            ds = read_dataset(folder, name)
            chunks = sum(len(chunk_document(d, ChunkConfig())) for d in ds.documents)
            sources.append((k, folder, ds, chunks))
        shutil.copytree(folder / "images", root / f"src{k}" / "images", copy_function=_link, dirs_exist_ok=True)
    total = docs = replicas = 0
    while total < min_chunks:
        for k, folder, ds, chunks in sources:
            if total >= min_chunks:
                break
            name = f"{ds.name}_r{replicas}"
            with open(doc_path(root, name), "w", encoding="utf-8") as f:
                for d in ds.documents:
                    f.write(json.dumps([f"{d.id}~r{replicas}", d.content, d.image_ids], ensure_ascii=False) + "\n")
            collection = {i: {"image_path": f"src{k}/{im.path.resolve().relative_to(folder.resolve())}"
                              if im.path else "", "image_caption": im.caption} for i, im in ds.images.items()}
            collection_path(root, name).parent.mkdir(exist_ok=True)
            collection_path(root, name).write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
            write_sources(root, name, {f"{i}~r{replicas}": s for i, s in ds.sources.items()})
            total, docs = total + chunks, docs + len(ds.documents)
        replicas += 1
    return {"chunks": total, "docs": docs, "replicas": replicas, "source_datasets": [s[2].name for s in sources]}


def scale(folders: list[Path], min_chunks: int, cpus: int, actors: int | None, work: Path) -> dict:
    root = Path(tempfile.mkdtemp(dir=work, prefix="synthetic-"))
    try:
        corpus = synthetic_corpus(folders, min_chunks, root / "corpus")
        print(f"synthetic corpus: {corpus}", flush=True)
        try:
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM from here on, not the throughput runs'
        except OSError:
            pass
        sampler = PeakRss()
        sampler.start()
        t0 = time.perf_counter()
        with ray_engine(num_cpus=cpus, actors=actors) as engine:
            started = time.perf_counter() - t0
            report = build_index([root / "corpus"], root / "index", IndexConfig(), progress=True, engine=engine)
        wall = time.perf_counter() - t0
        memory = sampler.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"corpus": corpus, "ray_cpus": cpus, "actors": actors or cpus, "wall_seconds": round(wall, 1),
            "ray_start_seconds": round(started, 1), "build_seconds": round(report.seconds, 1),
            "indexed_docs": report.indexed, "indexed_chunks": report.chunks, "images": report.images,
            "images_skipped": len(report.images_skipped), "docs_per_s": round(report.indexed / report.seconds, 3),
            **memory}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, nargs="+", required=True, help="MRAMG dataset folder(s).")
    ap.add_argument("--repeats", type=int, default=3, help="Throughput repeats (0: none).")
    ap.add_argument("--cpus", type=int, nargs="+", default=[1, 2], help="Ray cluster sizes of the throughput runs.")
    ap.add_argument("--synthetic-chunks", type=int, default=0, help="Also index a synthetic corpus of >= N chunks.")
    ap.add_argument("--ray-cpus", type=int, default=os.cpu_count(), help="Cluster size of the synthetic run.")
    ap.add_argument("--ray-actors", type=int, default=None, help="Actors of the synthetic run [one per CPU].")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()), help="Where temporary indexes go.")
    ap.add_argument("--json", type=Path, default=None, help="Write the results here.")
    args = ap.parse_args()

    IndexModels().bridge  # noqa: B018  (imports, weights in the page cache, label vectors cached: no run pays them)
    result = {"corpus": [str(c) for c in args.corpus], "machine_cpus": os.cpu_count(),
              "memory_gib": round(psutil.virtual_memory().total / 2 ** 30, 1)}
    if args.repeats:
        result["throughput"] = throughput(args.corpus, args.repeats, args.cpus, args.work)
        print(json.dumps(result["throughput"]["median_docs_per_s"]), flush=True)
    if args.synthetic_chunks:
        result["synthetic"] = scale(args.corpus, args.synthetic_chunks, args.ray_cpus, args.ray_actors, args.work)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
