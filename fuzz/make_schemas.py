#!/usr/bin/env python3
"""Writes fuzz/schemas/avro.jsonl: the Avro schemas the `avro` fuzz target decodes with, each with
datums written by fastavro to seed its corpus. From tests/registry: avro_cases.py's generated
schemas (every type and logical type, nested unions, named-type references, recursion) and
produce.py's (the order, a top-level string and bytes, a schema with references two levels deep).

Usage: .venv/bin/python fuzz/make_schemas.py   (deterministic)
"""
import base64
import io
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "registry"))

import fastavro  # noqa: E402

import avro_cases  # noqa: E402
from produce import ADDRESS, ORDER, PARTY, SHIPPED, order  # noqa: E402


def datums(schema, values, named=None):
    named = dict(named or {})
    parsed = fastavro.parse_schema(schema, named_schemas=named)
    out = []
    for value in values:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, value)
        out.append(base64.b64encode(buf.getvalue()).decode())
    return out


def main():
    lines = []
    rng = random.Random(1)
    gen = avro_cases.Gen(rng)
    linked = avro_cases.linked_list(rng)
    lines.append({"schema": json.dumps(linked[0]), "datums": datums(linked[0], [linked[1]])})
    while len(lines) < 48:
        schema = gen.schema(depth=rng.randint(0, 4))
        lines.append({"schema": json.dumps(schema),
                      "datums": datums(schema, [gen.value(schema) for _ in range(3)])})
    lines.append({"schema": json.dumps(ORDER), "datums": datums(ORDER, [order(i) for i in range(3)])})
    for primitive, values in (("string", ["", "héllo"]), ("long", [0, -1, 2**62]), ("bytes", [b"\x00\xff"])):
        lines.append({"schema": json.dumps(primitive), "datums": datums(primitive, values)})
    named = {}
    for s in (ADDRESS, PARTY):
        fastavro.parse_schema(s, named_schemas=named)
    shipped = {"orderId": "o-1", "to": {"name": "Ana", "address": {"city": "Lyon", "zip": None}}, "from": None}
    lines.append({"schema": json.dumps(SHIPPED), "references": [json.dumps(ADDRESS), json.dumps(PARTY)],
                  "datums": datums(SHIPPED, [shipped], named)})
    assert len(lines) < 256, "the first input byte picks the schema"
    with open(os.path.join(HERE, "schemas", "avro.jsonl"), "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
