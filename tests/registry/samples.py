#!/usr/bin/env python3
"""Writes the schema-registry samples in events/ and their schemas in events/schemas/, with the
registries' own serializers (deterministic: the same files on every run):

  registry-confluent-avro.json      confluent-kafka's AvroSerializer (against its mock:// registry
                                    client, which numbers schemas from 1), keys included
  registry-confluent-protobuf.json  confluent-kafka's ProtobufSerializer: shop.proto's Order
                                    (message index [1]), its nested Order.Line ([1, 0]) and Ack
                                    ([2]); the message indexes follow the schema id
  registry-glue-avro.json           fastavro's datum, framed by aws-glue-schema-registry's codec
                                    (the AWS Python serializer's framing), plain and zlib

  claim-check invoke events/registry-confluent-avro.json --schemas events/schemas

Usage: .venv/bin/python tests/registry/samples.py [EVENTS_DIR] [--expected FILE]
  --expected FILE  also writes what each record's value decodes to, by the producers' own
                   readers (fastavro; MessageToDict), as {"file": [value, ...]}
"""

import base64
import io
import json
import os
import shutil
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fastavro  # noqa: E402

from produce import ORDER, avro_expected, order  # noqa: E402

MSK_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/demo/751d2973-a626-431c-9d4e-d7975eb44dd7-2"
TS = 1764115200000
# A fixed Glue schema version id: a registry would assign one when the schema is registered.
GLUE_VERSION = uuid.UUID("6f1c2a5e-3b7d-4c9a-8e21-5d4b0f6a9c13")


def b64(data):
    return None if data is None else base64.b64encode(data).decode()


def record(topic, offset, value, key=None, headers=()):
    return {"eventSource": "aws:kafka", "eventSourceArn": MSK_ARN, "eventSourceKey": f"{topic}-0",
            "topic": topic, "partition": 0, "offset": offset, "timestamp": TS + offset,
            "timestampType": "CREATE_TIME", "key": b64(key), "value": b64(value),
            "headers": [{n: list(v)} for n, v in headers]}


def confluent_avro(client, schemas):
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    values = AvroSerializer(client, json.dumps(ORDER), lambda o, ctx: o)
    keys = AvroSerializer(client, json.dumps("long"), lambda o, ctx: o)
    records, expected = [], []
    for i in range(3):
        value = values(order(i if i < 2 else 5), SerializationContext("orders", MessageField.VALUE))
        key = keys(1000 + i, SerializationContext("orders", MessageField.KEY))
        for framed, schema in ((value, ORDER), (key, "long")):
            schemas[f"{int.from_bytes(framed[1:5], 'big')}.avsc"] = json.dumps(schema, indent=1) + "\n"
        records.append(record("orders", 40 + i, value, key=key, headers=[("source", b"checkout")]))
        expected.append(avro_expected(ORDER, value[5:]))
    return records, expected


def confluent_protobuf(client, schemas):
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    from google.protobuf import json_format

    from proto_cases import PROTO, compiled, documented
    from produce import proto_messages

    pb = compiled()
    records, expected = [], []
    for offset, message in enumerate(proto_messages(pb)):
        serializer = ProtobufSerializer(type(message), client, {"use.deprecated.format": False})
        value = serializer(message, SerializationContext("orders-pb", MessageField.VALUE))
        schemas[f"{int.from_bytes(value[1:5], 'big')}.proto"] = open(os.path.join(PROTO, "shop.proto")).read()
        records.append(record("orders-pb", 7 + offset, value))
        expected.append(documented(json_format.MessageToDict(message, preserving_proto_field_name=True)))
    # shop.proto's imports, by the paths it imports them under.
    for name in ("party.proto", "address.proto"):
        schemas[name] = open(os.path.join(PROTO, name)).read()
    return records, expected


def glue_avro(schemas):
    from aws_schema_registry.codec import encode

    parsed = fastavro.parse_schema(ORDER)
    records, expected = [], []
    for i, compression in ((0, False), (1, True)):
        datum = io.BytesIO()
        fastavro.schemaless_writer(datum, parsed, order(i))
        value = encode(datum.getvalue(), GLUE_VERSION, compression=compression)
        records.append(record("orders-glue", 100 + i, value))
        expected.append(avro_expected(ORDER, datum.getvalue()))
    schemas[f"{GLUE_VERSION}.avsc"] = json.dumps(ORDER, indent=1) + "\n"
    return records, expected


def main():
    args = sys.argv[1:]
    expected_file = None
    if "--expected" in args:
        at = args.index("--expected")
        expected_file = args[at + 1]
        del args[at:at + 2]
    out = args[0] if args else os.path.join(HERE, "..", "..", "events")
    from confluent_kafka.schema_registry import SchemaRegistryClient

    schemas = {}
    # One mock registry for both Confluent samples: ids are assigned in registration order.
    client = SchemaRegistryClient.new_client({"url": "mock://claim-check-samples"})
    samples = {
        "registry-confluent-avro.json": confluent_avro(client, schemas),
        "registry-confluent-protobuf.json": confluent_protobuf(client, schemas),
        "registry-glue-avro.json": glue_avro(schemas),
    }
    schema_dir = os.path.join(out, "schemas")
    shutil.rmtree(schema_dir, ignore_errors=True)
    os.makedirs(schema_dir)
    for name, text in sorted(schemas.items()):
        with open(os.path.join(schema_dir, name), "w") as f:
            f.write(text)
    for name, (records, _) in samples.items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(records, f, indent=1)
            f.write("\n")
    if expected_file:
        with open(expected_file, "w") as f:
            json.dump({name: values for name, (_, values) in samples.items()}, f)


if __name__ == "__main__":
    main()
