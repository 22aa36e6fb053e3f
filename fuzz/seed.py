#!/usr/bin/env python3
"""Seeds every fuzz target's corpus (fuzz/corpus/TARGET/seed-*) from the test fixtures, each in the
input layout its target reads (see the target's doc comment):

  enrich, strict_json  the sample batches in events/
  avro, avro_schema    fastavro datums of fuzz/schemas/avro.jsonl
  protobuf             Python protobuf serializations of tests/registry/proto (proto_cases.py),
                       with Confluent message indexes in the payload, in a header, and Glue's index
  protobuf_schema      the fixture .proto files with a serialized message
  framing, registry    the registry samples' framed values (Confluent Avro and Protobuf, Glue plain
                       and zlib) and schema-id headers

Usage: .venv/bin/python fuzz/seed.py   (from the repository root)
"""
import base64
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")

sys.path.insert(0, os.path.join(ROOT, "tests", "registry"))
from produce import varint  # noqa: E402  (the registry test producers' unsigned varint)


def write(target, name, data):
    path = os.path.join(CORPUS, target)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, f"seed-{name}"), "wb") as f:
        f.write(data)


def zigzag(n):
    return varint((n << 1) ^ (n >> 63))


def confluent_indexes(path):
    if path == [0]:
        return b"\x00"
    return zigzag(len(path)) + b"".join(zigzag(i) for i in path)


def main():
    batches = sorted(glob.glob(os.path.join(ROOT, "events", "*.json")))
    for f in batches:
        name = os.path.basename(f)[:-5]
        body = open(f, "rb").read()
        write("enrich", name, b"\x00" + body)
        write("strict_json", name, body)

    with open(os.path.join(ROOT, "fuzz", "schemas", "avro.jsonl")) as f:
        for i, line in enumerate(f):
            case = json.loads(line)
            for j, datum in enumerate(case["datums"]):
                datum = base64.b64decode(datum)
                write("avro", f"{i}-{j}", bytes([i]) + datum)
                if not case.get("references"):
                    schema = case["schema"].encode()
                    write("avro_schema", f"{i}-{j}", len(schema).to_bytes(2, "big") + schema + datum)

    out = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "registry", "proto_cases.py"), "1", "60"],
                         cwd=os.path.join(ROOT, "tests", "registry"), check=True, capture_output=True, text=True)
    shop = open(os.path.join(ROOT, "tests", "registry", "proto", "shop.proto"), "rb").read()
    for i, line in enumerate(out.stdout.splitlines()):
        case = json.loads(line)
        data = base64.b64decode(case["bytes"])
        indexes = confluent_indexes(case["path"])
        write("protobuf", f"{i}-prefix", bytes([0]) + indexes + data)
        write("protobuf", f"{i}-header", bytes([4, len(indexes)]) + indexes + data)
        write("protobuf", f"{i}-glue", bytes([8]) + varint(case["glue_index"]) + data)
        if i < 8:
            write("protobuf_schema", str(i), bytes([0]) + len(shop).to_bytes(2, "big") + shop + indexes + data)

    for f in sorted(glob.glob(os.path.join(ROOT, "events", "registry-*.json"))):
        name = os.path.basename(f)[:-5]
        for i, record in enumerate(json.load(open(f))):
            for field in ("key", "value"):
                if record.get(field):
                    framed = base64.b64decode(record[field])
                    write("framing", f"{name}-{i}-{field}", framed)
                    write("registry", f"{name}-{i}-{field}", bytes([0]) + framed)
    # A schema-id header as Confluent's newer serializers write it: magic 1, the GUID, and for
    # Protobuf the message indexes.
    write("framing", "guid-header", b"\x01" + bytes(range(16)) + b"\x02\x02\x00")
    write("registry", "guid-header", bytes([1, 17]) + b"\x01" + bytes(range(16)) + b"\x0a\x01x")


if __name__ == "__main__":
    main()
