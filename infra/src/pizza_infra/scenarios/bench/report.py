"""The benchmark's PNG: throughput and p99 latency against concurrency, beside the floor."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = sorted(report["curve"], key=lambda point: point["concurrency"])
    levels = [point["concurrency"] for point in curve]
    floor = report["floor"]
    figure, (rate, latency) = plt.subplots(1, 2, figsize=(11, 4.2))
    rate.plot(levels, [p["ok_per_s"] for p in curve], marker="o", label="platform: accepted/s")
    rate.axhline(floor["ok_per_s"], color="grey", linestyle="--", label="HTTP floor")
    rate.set_yscale("log")
    rate.set_ylabel("answers per second (log)")
    latency.plot(levels, [p["latency_ms"]["p99"] for p in curve], marker="o", label="p99")
    latency.plot(levels, [p["latency_ms"]["p50"] for p in curve], marker=".", label="p50")
    latency.axhline(floor["latency_ms"]["p99"], color="grey", linestyle="--", label="floor p99")
    latency.set_yscale("log")
    latency.set_ylabel("POST /orders latency, ms (log)")
    for axis in (rate, latency):
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, [str(level) for level in levels])
        axis.set_xlabel("concurrent connections")
        axis.grid(alpha=0.3)
        axis.legend()
    sustained = report["sustained"]
    figure.suptitle(
        f"{report['when']}: {sustained['accepted_per_s']:.0f} accepted/s and "
        f"{sustained['delivered_per_s']:.0f} delivered/s at concurrency "
        f"{sustained['concurrency']}, {sustained['cpu_ms_per_order']:.1f} ms CPU per order"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def lines(report: dict[str, Any]) -> list[str]:
    """The summary printed at the end of a run."""
    sustained, floor, ceiling = report["sustained"], report["floor"], report["kafka_ceiling"]
    accept = sustained["accept_latency_ms"]
    delivered = sustained["accepted_to_delivered_ms"]
    out = [
        f"sustained, concurrency {sustained['concurrency']} for {sustained['seconds']} s: "
        f"{sustained['accepted_per_s']:.0f} accepted/s "
        f"({sustained['accepted_per_s'] / floor['ok_per_s']:.1%} of the HTTP floor's "
        f"{floor['ok_per_s']:.0f}/s), p50 {accept['p50']:.1f} ms, p90 {accept['p90']:.1f} ms, "
        f"p99 {accept['p99']:.1f} ms; answers {sustained['answers_by_status']}",
        f"delivered {sustained['delivered_per_s']:.0f}/s while loaded; accepted to delivered "
        f"p50 {delivered['p50']:.0f} ms, p99 {delivered['p99']:.0f} ms; all delivered "
        f"{sustained['drained_after_s']} s after the load stopped; lag "
        f"{[sample['lag'] for sample in sustained['lag']]}",
        f"CPU ms per order: {sustained['cpu_ms_per_order']:.2f} in all ("
        + ", ".join(f"{k} {v}" for k, v in sorted(sustained["cpu_ms_per_process"].items()))
        + ")",
        "RSS MiB: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(report["rss_mib"].items())),
        "curve: "
        + "; ".join(
            f"c={p['concurrency']} {p['ok_per_s']:.0f}/s p99 {p['latency_ms']['p99']:.0f} ms"
            for p in sorted(report["curve"], key=lambda point: point["concurrency"])
        ),
    ]
    if "cpu_ms_per_request" in floor:
        out.append(f"HTTP floor: {floor['cpu_ms_per_request']:.3f} ms of server CPU per request")
    if report.get("layers_us"):
        costs = report["layers_us"].items()
        out.append(
            "CPU per call, each layer alone: "
            + ", ".join(f"{k.removesuffix('_us')} {v:.1f} µs" for k, v in costs)
        )
    producer = ceiling.get("producer_records_per_s")
    if producer:
        out.append(
            f"Kafka ceiling: produce {producer:.0f} records/s, consume "
            f"{ceiling['consumer_records_per_s']:.0f} records/s; the platform's delivered/s "
            f"is {sustained['delivered_per_s'] / producer:.2%} of the producer ceiling"
        )
    return out
