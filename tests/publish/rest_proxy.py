#!/usr/bin/env python3
"""A stand-in for the Confluent REST Proxy v3 records endpoint, for the tests only: no REST Proxy v3
can be installed from the package registries (Confluent ships it in Confluent Platform archives and
images, not on PyPI or Maven Central as a runnable server).

  rest_proxy.py BOOTSTRAP USERNAME PASSWORD

prints `PORT CLUSTER_ID` on its first line, then serves on 127.0.0.1:PORT until killed:

  POST /kafka/v3/clusters/{cluster_id}/topics/{topic}/records

It follows Confluent's implementation (kafka-rest, io.confluent.kafkarest.entities.v3.ProduceRequest
and the no-schema serializers): BASIC auth (401 otherwise), the cluster id of the broker behind it
(404 otherwise), a ProduceRequest body (`partition_id`, `headers` [{name, value: base64 | null}],
`key` and `value` {type: BINARY | JSON | STRING, data}, `timestamp`; 400 for anything else). The
record is produced with confluent-kafka: STRING data as its UTF-8 bytes, BINARY data decoded from
base64, JSON data written as JSON (Jackson writes compact JSON; so does this). The answer is a
ProduceResponse with the record's partition and offset.
"""

import base64
import binascii
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

REQUEST_FIELDS = {"id", "partition_id", "headers", "key", "value", "timestamp"}
DATA_FIELDS = {"type", "data", "subject", "subject_name_strategy", "schema_id", "schema_version", "schema"}
FORMATS = {"BINARY", "JSON", "STRING"}


class Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def serialize(data, part):
    """The bytes REST Proxy produces for a ProduceRequestData without a schema."""
    if data is None:
        return None
    if not isinstance(data, dict) or not set(data) <= DATA_FIELDS:
        raise Refused(400, f"{part}: not a ProduceRequestData object")
    kind = data.get("type")
    if kind not in FORMATS:
        raise Refused(400, f"{part}.type: {kind!r} is not one of {sorted(FORMATS)} (schema types need a registry)")
    value = data.get("data")
    if kind == "JSON":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused(400, f"{part}.data: {kind} data must be a JSON string")
    if kind == "STRING":
        return value.encode()
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise Refused(400, f"{part}.data: not base64") from None


def parse(body):
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise Refused(400, f"the body is not JSON: {e}") from None
    if not isinstance(request, dict):
        raise Refused(400, "the body is not a ProduceRequest object")
    unknown = set(request) - REQUEST_FIELDS
    if unknown:
        raise Refused(400, f"unknown ProduceRequest fields {sorted(unknown)}")
    partition = request.get("partition_id")
    if partition is not None and (not isinstance(partition, int) or isinstance(partition, bool)):
        raise Refused(400, "partition_id must be an integer")
    headers = []
    for h in request.get("headers") or []:
        if not isinstance(h, dict) or not isinstance(h.get("name"), str) or not set(h) <= {"name", "value"}:
            raise Refused(400, "headers: each is {name, value}")
        value = h.get("value")
        try:
            headers.append((h["name"], None if value is None else base64.b64decode(value, validate=True)))
        except (binascii.Error, TypeError):
            raise Refused(400, f"header {h['name']}: value is not base64") from None
    return partition, headers, serialize(request.get("key"), "key"), serialize(request.get("value"), "value")


def main(bootstrap, username, password):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    cluster_id = admin.describe_cluster(request_timeout=30).result().cluster_id
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 16_000_000, "enable.idempotence": True})
    expected_auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                if self.headers.get("Authorization") != expected_auth:
                    raise Refused(401, "Unauthorized")
                parts = self.path.split("/")
                if len(parts) != 8 or parts[1:4] != ["kafka", "v3", "clusters"] or parts[5] != "topics" or parts[7] != "records":
                    raise Refused(404, f"no such endpoint {self.path}")
                if parts[4] != cluster_id:
                    raise Refused(404, f"Cluster {parts[4]} cannot be found.")
                if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                    raise Refused(415, "HTTP 415 Unsupported Media Type")
                topic = parts[6]
                partition, headers, key, value = parse(body)
                delivered = []
                kwargs = {} if partition is None else {"partition": partition}
                producer.produce(topic, key=key, value=value, headers=headers or None,
                                 on_delivery=lambda err, msg: delivered.append((err, msg)), **kwargs)
                producer.flush(30)
                if not delivered or delivered[0][0] is not None:
                    raise Refused(500, f"not produced: {delivered[0][0] if delivered else 'timeout'}")
                message = delivered[0][1]
                self.answer(200, {
                    "error_code": 200, "cluster_id": cluster_id, "topic_name": topic,
                    "partition_id": message.partition(), "offset": message.offset(),
                    "key": None if key is None else {"size": len(key)},
                    "value": None if value is None else {"size": len(value)},
                })
            except Refused as e:
                self.answer(e.status, {"error_code": e.status, "message": str(e)})
            except KafkaException as e:
                self.answer(500, {"error_code": 500, "message": str(e)})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], cluster_id, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:])
