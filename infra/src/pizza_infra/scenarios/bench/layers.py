"""What one call of each layer on an order's path costs in CPU, each measured alone.

The floor under the platform's CPU per order: an order is, at the least, some log lines,
some spans, a few database transactions and Avro encodes and decodes, besides the HTTP
requests (the HTTP floor) and the broker. Each layer is set up as the services set it up
(the shared logging, tracing and database code) and timed in this process by
``time.process_time``, which also counts the background threads a layer uses (the span
exporter's). ``python -m pizza_infra.scenarios.bench.layers [SCALE]`` prints the figures
as JSON; a SCALE below 1 makes every run that much shorter.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import fastavro
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from sqlalchemy import Column, MetaData, String, Table, insert

from pizza_common.contracts import ORDER_PLACED, OrderPlaced, load_schema_text
from pizza_common.runtime import configure_logging, make_engine
from pizza_infra.scenarios.bench.kitchens import bench_order

ROWS_PER_BATCH = 16  # as many records as a delivery instance starts together


def per_call_us(call: Callable[[], object], calls: int) -> float:
    """Microseconds of process CPU per call, after a tenth as many calls to warm up."""
    for _ in range(max(1, calls // 10)):
        call()
    began = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - began) / calls * 1e6


def log_line_us(calls: int = 20_000) -> float:
    """One JSON log line with an order id, through the services' structlog setup."""
    import structlog

    stdout, sys.stdout = sys.stdout, io.StringIO()
    try:
        configure_logging("bench", "layers", "INFO")
        log = structlog.get_logger("bench")
        buffer = sys.stdout

        def line() -> None:
            log.info("order accepted", order_id="3f0c6a1e", total="21.50")
            if isinstance(buffer, io.StringIO) and buffer.tell() > 1 << 20:
                buffer.seek(0)
                buffer.truncate()

        return per_call_us(line, calls)
    finally:
        sys.stdout = stdout


class _EncodeOnly(SpanExporter):
    """Encodes a batch as the Zipkin exporter sends it, and sends it nowhere."""

    def __init__(self) -> None:
        zipkin = ZipkinExporter(endpoint="http://127.0.0.1:9/none")
        self._encoder, self._node = zipkin.encoder, zipkin.local_node
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._encoder.serialize(spans, self._node)  # type: ignore[arg-type]  # reads ended spans only
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


def span_us(calls: int = 20_000, exporter: _EncodeOnly | None = None) -> float:
    """One span with an attribute, ended and encoded for Zipkin in batches."""
    provider = TracerProvider()
    exporter = exporter or _EncodeOnly()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=max(2048, calls * 2)))
    tracer = provider.get_tracer("bench")  # as the services' span(), without the global

    def one() -> None:
        with tracer.start_as_current_span("bench span", attributes={"pizza.order_id": "1"}):
            pass

    for _ in range(calls // 10):
        one()
    provider.force_flush()
    began = time.process_time()
    for _ in range(calls):
        one()
    provider.force_flush()  # the export of these spans is part of their cost
    spent = time.process_time() - began
    provider.shutdown()
    if exporter.spans < calls:  # an exporter that failed would make spans look cheap
        raise RuntimeError(f"{exporter.spans} of {calls} spans were encoded")
    return spent / calls * 1e6


def avro_us(calls: int = 20_000) -> float:
    """One order.placed event to Avro bytes and back to an event (what the codecs do
    once the schema is known)."""
    schema = fastavro.parse_schema(json.loads(load_schema_text(ORDER_PLACED)))
    event = bench_order()

    def round_trip() -> None:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, event.to_record())
        out.seek(0)
        OrderPlaced.from_record(fastavro.schemaless_reader(out, schema, schema))  # type: ignore[arg-type]

    return per_call_us(round_trip, calls)


async def _transactions(url: str, rows_per_transaction: int, transactions: int) -> float:
    engine = make_engine(url)
    table = Table(
        "rows", MetaData(), Column("id", String, primary_key=True), Column("body", String)
    )
    async with engine.begin() as connection:
        await connection.run_sync(table.metadata.create_all)
    statement = insert(table)
    body = "x" * 300  # about an order's row
    counter = 0

    async def one() -> None:
        nonlocal counter
        rows = [{"id": str(counter + i), "body": body} for i in range(rows_per_transaction)]
        counter += rows_per_transaction
        async with engine.begin() as connection:
            await connection.execute(statement, rows)

    for _ in range(max(1, transactions // 10)):
        await one()
    began = time.process_time()
    for _ in range(transactions):
        await one()
    spent = time.process_time() - began
    await engine.dispose()
    return spent / transactions * 1e6


def sqlite_us(directory: Path, rows_per_transaction: int, transactions: int = 3_000) -> float:
    """One transaction inserting ``rows_per_transaction`` rows into a SQLite file in WAL
    mode, through the services' async engine."""
    url = f"sqlite+aiosqlite:///{directory / f'layers-{rows_per_transaction}.db'}"
    return asyncio.run(_transactions(url, rows_per_transaction, transactions))


def measure(scale: float = 1.0) -> dict[str, float]:
    """Microseconds of CPU per call of each layer; ``scale`` shortens every run."""

    def calls(n: int) -> int:
        return max(10, int(n * scale))

    with tempfile.TemporaryDirectory() as directory:
        one = sqlite_us(Path(directory), 1, calls(3_000))
        batch = sqlite_us(Path(directory), ROWS_PER_BATCH, calls(3_000))
    return {
        "log_line_us": round(log_line_us(calls(20_000)), 1),
        "span_us": round(span_us(calls(20_000)), 1),
        "avro_round_trip_us": round(avro_us(calls(20_000)), 1),
        "sqlite_transaction_us": round(one, 1),
        "sqlite_row_in_a_batch_us": round(batch / ROWS_PER_BATCH, 1),
    }


def main() -> None:
    print(json.dumps(measure(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)))


if __name__ == "__main__":
    main()
