#!/usr/bin/env python3
"""Produces schema-registry-framed Kafka records with the registries' own serializers, for tests.

  python produce.py confluent URL [USER:SECRET]   Confluent's AvroSerializer and JSONSerializer
                                                  (confluent-kafka), registering the schemas
  python produce.py glue ENDPOINT                 AWS's Glue serializer (aws-glue-schema-registry),
                                                  plain and zlib-compressed, against moto

Prints one JSON object: {"records": [...]} where each record has "topic", "key" and "value"
(base64 of the framed bytes, or null), "headers" ([[name, base64], ...], when the serializer put
the schema id in a header), and what the function should show: "expectedValue", "valueEncoding",
"schema" (the id, the GUID for a header-carried id, or the Glue version id), "expectedKey",
"keyEncoding". Expected Avro JSON comes from fastavro reading the datum, mapped by avro_mapping;
expected JSON Schema values are the documents serialized.
"""

import base64
import datetime
import decimal
import io
import json
import os
import sys
import uuid
import zlib

import fastavro

from avro_mapping import names_of, to_json

ORDER = {
    "type": "record", "name": "Order", "namespace": "com.example.orders",
    "fields": [
        {"name": "orderId", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "orderType", "type": {"type": "enum", "name": "OrderType", "symbols": ["RETAIL", "WHOLESALE", "RETURN"]}},
        {"name": "createdAt", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "deliveryDate", "type": ["null", {"type": "int", "logicalType": "date"}], "default": None},
        {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
            {"name": "id", "type": "long"},
            {"name": "email", "type": ["null", "string"], "default": None},
            {"name": "tier", "type": "OrderType"},
        ]}},
        {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line", "fields": [
            {"name": "sku", "type": "string"},
            {"name": "quantity", "type": "int"},
            {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
            {"name": "weight", "type": ["null", "float", "string"]},
        ]}}},
        {"name": "attributes", "type": {"type": "map", "values": "string"}},
        {"name": "checksum", "type": {"type": "fixed", "name": "Md5", "size": 16}},
        {"name": "total", "type": "double"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}

JSON_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#", "title": "Shipment", "type": "object",
    "properties": {"shipmentId": {"type": "string"}, "carrier": {"type": "string"},
                   "parcels": {"type": "array", "items": {"type": "integer"}}},
}


# Schema references two levels deep: Shipment -> Party -> Address, each registered under its own
# subject and named by reference, as Confluent's serializers resolve them.
ADDRESS = {"type": "record", "name": "Address", "namespace": "com.example.shared",
           "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "string"]}]}
PARTY = {"type": "record", "name": "Party", "namespace": "com.example.shared",
         "fields": [{"name": "name", "type": "string"}, {"name": "address", "type": "com.example.shared.Address"}]}
SHIPPED = {"type": "record", "name": "Shipped", "namespace": "com.example.orders",
           "fields": [{"name": "orderId", "type": "string"}, {"name": "to", "type": "com.example.shared.Party"},
                      {"name": "from", "type": ["null", "com.example.shared.Party"]}]}


def order(i, lines=2, note=None):
    return {
        "orderId": str(uuid.UUID(int=i * 7919 + 1)),
        "orderType": ["RETAIL", "WHOLESALE", "RETURN"][i % 3],
        "createdAt": datetime.datetime(2026, 11, 28, 12, 0, i % 60, 123000, tzinfo=datetime.timezone.utc),
        "deliveryDate": None if i % 2 else datetime.date(2026, 12, 1 + i % 28),
        "customer": {"id": 10_000_000_000 + i, "email": None if i % 3 == 0 else f"c{i}@example.com",
                     "tier": "WHOLESALE"},
        "lines": [{"sku": f"SKU-{i}-{n}", "quantity": n + 1,
                   "price": decimal.Decimal(f"{12 + n}.30"),
                   "weight": [None, 1.5 + n, "n/a"][n % 3]} for n in range(lines)],
        "attributes": {} if i % 4 == 0 else {"channel": "web", "región": "eu-west-1"},
        "checksum": bytes(range(i % 200, i % 200 + 16)),
        # NaN, and a double far beyond 2^63: the JSON number 1e300.
        "total": float("nan") if i == 3 else 1e300 if i == 5 else 24.6 + i,
        "note": note,
    }


def proto_messages(pb):
    """An Order (a top-level message), a nested Order.Line and an Ack: other message indexes."""
    order = pb.Order(order_id="o-1", status=pb.STATUS_PLACED, card_token="tok")
    line = order.lines.add(sku="SKU-1", quantity=2, price_micros=12_300_000)
    line.discounts.add(code="XMAS", percent=10.0)
    order.attributes["channel"] = "web"
    order.created_at.seconds = 1_795_867_200
    order.created_at.nanos = 123_000_000
    order.loyalty_points.value = 2**62
    order.customer.name = "Ana"
    order.customer.address.city = "Lyon"
    order.detail.Pack(pb.Ack(order_id="o-1", ok=True))
    order.scalars.f_uint64 = 2**64 - 1
    order.scalars.f_float = 0.1
    nested = pb.Order.Line(sku="SKU-2", quantity=1)
    return [order, nested, pb.Ack(order_id="o-2", ok=True)]


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def b64(data):
    return None if data is None else base64.b64encode(data).decode()


def avro_expected(schema, datum):
    parsed = fastavro.parse_schema(schema)
    value = fastavro.schemaless_reader(io.BytesIO(datum), parsed, None)
    names = {}
    names_of(parsed, names)
    return to_json(parsed, value, names)


def confluent(url, user_info=None):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.schema_registry.json_schema import JSONSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from confluent_kafka.schema_registry import header_schema_id_serializer
    # The newer serializers' option: the schema GUID in a record header, not a payload prefix.
    header_conf = {"schema.id.serializer": header_schema_id_serializer}
    conf = {"url": url}
    if user_info:
        conf["basic.auth.user.info"] = user_info
    # A registry on HTTPS behind a private CA, requiring a client certificate.
    if os.environ.get("REGISTRY_CA"):
        conf["ssl.ca.location"] = os.environ["REGISTRY_CA"]
        conf["ssl.certificate.location"] = os.environ["REGISTRY_CLIENT_CERT"]
        conf["ssl.key.location"] = os.environ["REGISTRY_CLIENT_KEY"]
        conf["ssl.key.password"] = os.environ["REGISTRY_CLIENT_KEY_PASSWORD"]
    client = SchemaRegistryClient(conf)
    value_serializer = AvroSerializer(client, json.dumps(ORDER), lambda o, ctx: o)
    key_serializer = AvroSerializer(client, json.dumps("long"), lambda o, ctx: o)
    string_serializer = AvroSerializer(client, json.dumps("string"), lambda o, ctx: o)
    json_serializer = JSONSerializer(json.dumps(JSON_SCHEMA), client, lambda o, ctx: o)
    records = []
    for i in range(6):
        value = value_serializer(order(i), SerializationContext("orders", MessageField.VALUE))
        key = key_serializer(1000 + i, SerializationContext("orders", MessageField.KEY))
        records.append({
            "topic": "orders", "key": b64(key), "value": b64(value),
            "expectedValue": avro_expected(ORDER, value[5:]), "valueEncoding": "avro",
            "schema": int.from_bytes(value[1:5], "big"),
            "expectedKey": 1000 + i, "keyEncoding": "avro", "keySchema": int.from_bytes(key[1:5], "big"),
        })
    # A schema referring to others, two levels deep.
    from confluent_kafka.schema_registry import Schema, SchemaReference
    address = client.register_schema_full_response("address", Schema(json.dumps(ADDRESS), "AVRO"))
    party = client.register_schema_full_response(
        "party", Schema(json.dumps(PARTY), "AVRO",
                        [SchemaReference("com.example.shared.Address", "address", address.version)]))
    shipped_schema = Schema(json.dumps(SHIPPED), "AVRO",
                            [SchemaReference("com.example.shared.Party", "party", party.version)])
    shipped_serializer = AvroSerializer(client, shipped_schema, lambda o, ctx: o)
    named = {}
    for s in (ADDRESS, PARTY):
        fastavro.parse_schema(s, named_schemas=named)
    shipped_parsed = fastavro.parse_schema(SHIPPED, named_schemas=named)
    for i in range(2):
        shipped = {"orderId": f"o-{i}", "to": {"name": "Ana", "address": {"city": "Lyon", "zip": None}},
                   "from": None if i else {"name": "Bo", "address": {"city": "Oslo", "zip": "0150"}}}
        value = shipped_serializer(shipped, SerializationContext("shipped", MessageField.VALUE))
        decoded = fastavro.schemaless_reader(io.BytesIO(value[5:]), shipped_parsed, None)
        names = {k: v for k, v in named.items()}
        names_of(shipped_parsed, names)
        records.append({"topic": "shipped", "key": None, "value": b64(value),
                        "expectedValue": to_json(shipped_parsed, decoded, names), "valueEncoding": "avro",
                        "schema": int.from_bytes(value[1:5], "big"), "references": True})
    # Protobuf: shop.proto imports party.proto, which imports address.proto (registered as
    # references by the serializer) and the well-known types.
    from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
    from google.protobuf import json_format
    from proto_cases import compiled, documented

    pb = compiled()
    for message in proto_messages(pb):
        serializer = ProtobufSerializer(type(message), client, {"use.deprecated.format": False})
        value = serializer(message, SerializationContext("orders-pb", MessageField.VALUE))
        records.append({"topic": "orders-pb", "key": None, "value": b64(value),
                        "expectedValue": documented(json_format.MessageToDict(message, preserving_proto_field_name=True)),
                        "valueEncoding": "protobuf", "schema": int.from_bytes(value[1:5], "big"),
                        "message": message.DESCRIPTOR.full_name})
        # The same message with its schema GUID and message indexes in a header.
        header_proto = ProtobufSerializer(type(message), client,
                                          {"use.deprecated.format": False, **header_conf})
        headers = []
        value = header_proto(message, SerializationContext("orders-pb", MessageField.VALUE, headers))
        assert value == message.SerializeToString(), "no prefix, no indexes in the payload"
        records.append({"topic": "orders-pb", "key": None, "value": b64(value),
                        "headers": [[n, b64(v)] for n, v in headers],
                        "expectedValue": documented(json_format.MessageToDict(message, preserving_proto_field_name=True)),
                        "valueEncoding": "protobuf", "schema": str(uuid.UUID(bytes=headers[0][1][1:17])),
                        "message": message.DESCRIPTOR.full_name})
    # A top-level primitive schema.
    value = string_serializer("plain string value", SerializationContext("notes", MessageField.VALUE))
    records.append({"topic": "notes", "key": None, "value": b64(value), "expectedValue": "plain string value",
                    "valueEncoding": "avro", "schema": int.from_bytes(value[1:5], "big")})
    # A top-level "bytes" schema: the serializer writes the bytes raw after the header, with no
    # Avro length prefix (and its deserializer reads them so).
    bytes_serializer = AvroSerializer(client, json.dumps("bytes"), lambda o, ctx: o)
    raw = b"\x00\x01raw \xff bytes"
    value = bytes_serializer(raw, SerializationContext("blobs", MessageField.VALUE))
    assert value[5:] == raw, "written raw"
    records.append({"topic": "blobs", "key": None, "value": b64(value), "expectedValue": b64(raw),
                    "valueEncoding": "avro", "schema": int.from_bytes(value[1:5], "big")})
    # The schema id in a record header instead of the payload (the newer serializers'
    # header_schema_id_serializer): a GUID header, and the payload with no prefix at all.
    header_avro = AvroSerializer(client, json.dumps(ORDER), lambda o, ctx: o, conf=header_conf)
    for i in (10, 11):
        headers = []
        value = header_avro(order(i), SerializationContext("orders", MessageField.VALUE, headers))
        assert [h[0] for h in headers] == ["__value_schema_id"] and headers[0][1][0] == 1
        records.append({"topic": "orders", "key": None, "value": b64(value), "headers": [[n, b64(v)] for n, v in headers],
                        "expectedValue": avro_expected(ORDER, value), "valueEncoding": "avro",
                        "schema": str(uuid.UUID(bytes=headers[0][1][1:17]))})
    # JSON Schema (a number far beyond 2^63 in one: still a JSON number, not a dead letter).
    for i in range(2):
        document = {"shipmentId": f"S-{i}", "carrier": "ACME", "parcels": list(range(i + 1))}
        if i == 1:
            document["declaredValue"] = 3.5e19
        value = json_serializer(document, SerializationContext("shipments", MessageField.VALUE))
        records.append({"topic": "shipments", "key": None, "value": b64(value), "expectedValue": document,
                        "valueEncoding": "jsonschema", "schema": int.from_bytes(value[1:5], "big")})
    # A large value (claim-checked under an event bus's limits).
    big = order(50, lines=8000, note="x" * 1000)
    value = value_serializer(big, SerializationContext("orders", MessageField.VALUE))
    records.append({"topic": "orders", "key": None, "value": b64(value),
                    "expectedValue": avro_expected(ORDER, value[5:]), "valueEncoding": "avro",
                    "schema": int.from_bytes(value[1:5], "big"), "large": True})
    print(json.dumps({"records": records}))


def glue(endpoint):
    import boto3
    from aws_schema_registry import DataAndSchema, SchemaRegistryClient
    from aws_schema_registry.avro import AvroSchema
    from aws_schema_registry.codec import encode
    from aws_schema_registry.jsonschema import JsonSchema
    from aws_schema_registry.serde import KafkaSerializer

    client = boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    try:
        client.create_registry(RegistryName="claim-check-tests")
    except client.exceptions.AlreadyExistsException:
        pass
    registry = SchemaRegistryClient(client, registry_name="claim-check-tests")
    serializer = KafkaSerializer(registry)
    avro = AvroSchema(json.dumps(ORDER))
    records = []
    for i in range(4):
        value = serializer.serialize("orders", DataAndSchema(order(i), avro))
        expected = avro_expected(ORDER, value[18:])
        version = str(uuid.UUID(bytes=value[2:18]))
        records.append({"topic": "orders", "key": None, "value": b64(value), "expectedValue": expected,
                        "valueEncoding": "avro", "schema": version})
        # The same datum, zlib-compressed as the Glue serializers compress it.
        compressed = encode(value[18:], uuid.UUID(bytes=value[2:18]), compression=True)
        assert compressed[1] == 5
        records.append({"topic": "orders", "key": None, "value": b64(compressed), "expectedValue": expected,
                        "valueEncoding": "avro", "schema": version})
    # Protobuf: Glue's Python serializer has none, so the records are framed here as Glue's Java
    # serializer frames them (ProtobufWireFormatEncoder: the Glue header, then an unsigned varint,
    # the message's index among all the file's messages sorted by full name, then the message).
    from google.protobuf import json_format
    from proto_cases import PROTO, compiled, documented, glue_index_of

    pb = compiled()
    with open(os.path.join(PROTO, "glue.proto")) as f:
        definition = f.read()
    try:
        created = client.create_schema(RegistryId={"RegistryName": "claim-check-tests"}, SchemaName="orders-pb",
                                       DataFormat="PROTOBUF", Compatibility="NONE", SchemaDefinition=definition)
    except client.exceptions.AlreadyExistsException:
        # A second run against the same registry: the version registered the first time.
        created = client.get_schema_by_definition(
            SchemaId={"RegistryName": "claim-check-tests", "SchemaName": "orders-pb"}, SchemaDefinition=definition)
    version = uuid.UUID(created["SchemaVersionId"])
    shipment = pb.glue.Shipment(shipment_id="s-1", name="ACME", kind=pb.glue.KIND_EXPRESS)
    shipment.shipped_at.seconds = 1_795_867_200
    shipment.parcels.add(grams=1200, tracking=2**60)
    shipment.counts["boxes"] = 2
    parcel = pb.glue.Shipment.Parcel(grams=5)
    ping = pb.glue.Ping(token=b"\x00\xff")
    for message in (shipment, parcel, ping):
        index = glue_index_of(message.DESCRIPTOR)
        body = varint(index) + message.SerializeToString()
        expected = documented(json_format.MessageToDict(message, preserving_proto_field_name=True))
        for compression in (False, True):
            value = encode(body, version, compression=compression)
            records.append({"topic": "orders-pb", "key": None, "value": b64(value), "expectedValue": expected,
                            "valueEncoding": "protobuf", "schema": str(version),
                            "message": message.DESCRIPTOR.full_name})
    schema = JsonSchema(json.dumps(JSON_SCHEMA))
    document = {"shipmentId": "S-9", "carrier": "ACME", "parcels": [1, 2]}
    value = serializer.serialize("shipments", DataAndSchema(document, schema))
    records.append({"topic": "shipments", "key": None, "value": b64(value), "expectedValue": document,
                    "valueEncoding": "jsonschema", "schema": str(uuid.UUID(bytes=value[2:18]))})
    print(json.dumps({"records": records}))


if __name__ == "__main__":
    if sys.argv[1] == "confluent":
        confluent(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        glue(sys.argv[2])
