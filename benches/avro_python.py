"""The Python anchor for the Avro benchmark: fastavro decoding the same datums, then json.dumps.

Usage: python avro_python.py OUT_DIR COUNT LINES
Writes OUT_DIR/schema.json and OUT_DIR/datums.bin (each datum: 4-byte big-endian length, then the
Avro binary datum, as fastavro writes it), then times fastavro.schemaless_reader + json.dumps over
them and prints one JSON line: {"bytes", "records", "seconds"} (median of the rounds).
"""

import base64
import datetime
import decimal
import io
import json
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "registry"))
import fastavro  # noqa: E402
from produce import ORDER, order  # noqa: E402


def default(value):
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    raise TypeError(type(value))


def main():
    out_dir, count, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    schema = fastavro.parse_schema(ORDER)
    datums = []
    for i in range(count):
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, schema, order(i, lines=lines, note=None if i % 2 else "rush"))
        datums.append(buffer.getvalue())
    with open(os.path.join(out_dir, "schema.json"), "w") as f:
        json.dump(ORDER, f)
    with open(os.path.join(out_dir, "datums.bin"), "wb") as f:
        for d in datums:
            f.write(len(d).to_bytes(4, "big"))
            f.write(d)
    total = sum(len(d) for d in datums)
    samples = []
    started = time.perf_counter()
    while len(samples) < 5 or (time.perf_counter() - started < 3 and len(samples) < 200):
        t = time.perf_counter()
        for d in datums:
            json.dumps(fastavro.schemaless_reader(io.BytesIO(d), schema, None), default=default)
        samples.append(time.perf_counter() - t)
    print(json.dumps({"bytes": total, "records": count, "seconds": statistics.median(samples)}))


if __name__ == "__main__":
    main()
