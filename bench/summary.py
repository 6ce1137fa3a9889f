"""One table from the last `make bench` run: backfill vs pandas, stream latency, drains vs plain Python.

    python -m bench.summary [--rows 1000000] [--rate 1000]

Reads what `bench.backfill_vs_pandas` and `bench.stream_latency` wrote to `bench/results/`,
prints it as one table and writes it to `bench/results/summary.md`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tabulate import tabulate

RESULTS = Path(__file__).parent / "results"


def _backfill_rows(backfill: dict) -> list[dict]:
    rows = [{"what": f"backfill {backfill['rows']:,} tx: {r['pipeline']}", "figure": f"{r['tx/s']:,.0f} tx/s",
             "vs baseline": f"{r['x pandas']:.2f}x pandas"} for r in backfill["results"]]
    rows.append({"what": "backfill: cost of three more windows", "figure": f"{backfill['three_more_windows_cost']:.1%}",
                 "vs baseline": "of job throughput"})
    return rows


def _stream_rows(stream: dict) -> list[dict]:
    latency = stream["latency"]
    p = latency["arrival-to-score ms"]
    quiet = latency["last second before silence, arrival-to-score ms"]
    fresh = latency["freshness ms"]
    rows = [
        {"what": f"stream at {latency['rate sent']:.0f} tx/s: arrival-to-score p50 / p95 / p99",
         "figure": f"{p['p50']:.0f} / {p['p95']:.0f} / {p['p99']:.0f} ms",
         "vs baseline": f"{latency['distinct scored']} of {latency['transactions']} scored, {latency['late']} late"},
        {"what": "stream: last second before silence, max arrival-to-score", "figure": f"{quiet['max']:.0f} ms", "vs baseline": ""},
        {"what": "stream: freshness (online_at - event_time) p50 / p99", "figure": f"{fresh['p50']:.0f} / {fresh['p99']:.0f} ms",
         "vs baseline": ""},
    ]
    if "cores busy while sending" in latency:
        cores = latency["cores busy while sending"]
        rows.append({"what": "stream: cores busy while sending (machine; JVM, Python workers, broker, load generator)",
                     "figure": f"{cores['machine']:.2f}; " + ", ".join(f"{cores[r]:.2f}" for r in
                                                                        ("JVM", "Python workers", "broker", "load generator")),
                     "vs baseline": ""})
    for drain in stream["drains"]:
        who = drain["parallelism"] if isinstance(drain["parallelism"], str) else f"skewless -p {drain['parallelism']}"
        cpu = (f", {drain['cores busy']['machine']:.2f} cores busy, {drain['machine CPU s per 1,000 tx']:.3f} CPU-s per 1,000 tx"
               if "cores busy" in drain else "")
        rows.append({"what": f"stream drain of {drain['backlog']:,}: {who}",
                     "figure": f"{drain['tx/s (first to last score)']:,} tx/s{cpu}",
                     "vs baseline": f"{drain['x plain Python']}x plain Python" if "x plain Python" in drain else "baseline"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()
    backfill = json.loads((RESULTS / f"backfill_vs_pandas_{args.rows}.json").read_text())
    stream = json.loads((RESULTS / f"stream_latency_{args.rate}.json").read_text())
    table = tabulate(_backfill_rows(backfill) + _stream_rows(stream), headers="keys", tablefmt="github")
    (RESULTS / "summary.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
