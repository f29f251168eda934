"""Server-side numbers for bench/load.py: CPU from /proc and the servers' Prometheus /metrics.

CPU: utime+stime (children reaped included) of a process tree, and the host's busy cores, both in
seconds from /proc; a step divides their difference by its wall time. /metrics: the text is parsed to
{(name, sorted labels): value}; ``metrics_delta`` turns the scrapes before and after a step (one per
target) into cache hit rates, stage means, request counts by route and status, and index versions.

>>> before = parse_metrics('m2io_cache_lookups_total{cache="sections",result="hit"} 1.0\\n'
...                        'm2io_cache_lookups_total{cache="sections",result="miss"} 1.0\\n')
>>> after = parse_metrics('m2io_cache_lookups_total{cache="sections",result="hit"} 4.0\\n'
...                       'm2io_cache_lookups_total{cache="sections",result="miss"} 2.0\\n')
>>> metric_sum(after, "m2io_cache_lookups_total", result="hit")
4.0
>>> metrics_delta([before], [after])["caches"]
{'sections': {'hit': 3.0, 'miss': 1.0, 'hit_rate': 0.75}}
>>> tree_cpu_seconds([os.getpid()]) > 0, host_busy_seconds() > 0
(True, True)
"""
from __future__ import annotations

import os
from pathlib import Path

import httpx

CLK = os.sysconf("SC_CLK_TCK")


# --- /proc: CPU of a process tree and of the host ---------------------------------------------------------------

def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, utime+stime+cutime+cstime seconds) of every process now."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / CLK)
    return table


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU seconds of ``roots`` and all their descendants (live ones, plus what they reaped: no double count)."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo, seen = 0.0, [r for r in roots if r in table], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += table[pid][1]
        todo.extend(children.get(pid, []))
    return total


def host_busy_seconds() -> float:
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(parts[:8]) - parts[3] - parts[4]) / CLK


# --- /metrics -----------------------------------------------------------------------------------------------

def parse_metrics(text: str) -> dict[tuple, float]:
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def metric_sum(metrics: dict, name: str, **match) -> float:
    """The sum of the samples called ``name`` whose labels include ``match``."""
    return sum(v for (n, labels), v in metrics.items()
               if n == name and all(dict(labels).get(k) == want for k, want in match.items()))


def scrape_metrics(targets: list[str], why: list[str]) -> list[dict | None]:
    """Parsed /metrics of each target (None where it failed; the reason is appended to ``why``)."""
    out = []
    for b in targets:
        try:
            r = httpx.get(b + "/metrics", timeout=5)
            if r.status_code != 200:
                why.append(f"{b}/metrics: HTTP {r.status_code} {r.text[:120]}")
                out.append(None)
                continue
            out.append(parse_metrics(r.text))
        except (httpx.HTTPError, ValueError) as e:
            why.append(f"{b}/metrics: {e.__class__.__name__}: {e}"[:200])
            out.append(None)
    return out


def metrics_delta(before: list[dict | None], after: list[dict | None]) -> dict | None:
    """Cache hit rates, stage means and the server's request counts over a step, summed over the targets."""
    pairs = [(b, a) for b, a in zip(before, after) if b is not None and a is not None]
    if not pairs:
        return None

    def delta(name: str, **match) -> float:
        return sum(metric_sum(a, name, **match) - metric_sum(b, name, **match) for b, a in pairs)

    caches = sorted({dict(l).get("cache") for b, a in pairs for (n, l) in a if n == "m2io_cache_lookups_total"})
    per_cache = {}
    for c in caches:
        hit, miss = delta("m2io_cache_lookups_total", cache=c, result="hit"), delta("m2io_cache_lookups_total",
                                                                                      cache=c, result="miss")
        per_cache[c] = {"hit": hit, "miss": miss, "hit_rate": hit / (hit + miss) if hit + miss else None}
    hits, misses = sum(v["hit"] for v in per_cache.values()), sum(v["miss"] for v in per_cache.values())
    stages = sorted({dict(l).get("stage") for b, a in pairs for (n, l) in a if n == "m2io_stage_seconds_count"})
    stage_ms = {}
    for s in stages:
        n = delta("m2io_stage_seconds_count", stage=s)
        stage_ms[s] = 1000 * delta("m2io_stage_seconds_sum", stage=s) / n if n else None
    keys = sorted({(dict(l).get("route"), dict(l).get("status")) for b, a in pairs for (n, l) in a
                   if n == "m2io_requests_total"}, key=str)
    requests = {f"{r} {st}": delta("m2io_requests_total", route=r, status=st) for r, st in keys}
    return {"cache_hit_rate": hits / (hits + misses) if hits + misses else None, "caches": per_cache,
            "stage_ms_mean": stage_ms, "server_requests": {k: v for k, v in requests.items() if v},
            "index_version_by_pid": {dict(l).get("pid", "-"): v for _, a in pairs for (n, l), v in a.items()
                                     if n == "m2io_index_version"}}
