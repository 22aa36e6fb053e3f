#!/usr/bin/env python3
"""Writes the sample Pipes batches in events/ (deterministic: same files on every run).

Usage: python3 scripts/gen-events.py [OUT_DIR]   (default: events/ next to this script's parent)
"""
import base64
import json
import os
import random
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "events")
MSK_ARN = "arn:aws:kafka:sa-east-1:123456789012:cluster/demo/751d2973-a626-431c-9d4e-d7975eb44dd7-2"
BOOTSTRAP = "smk://b-1.kafka.example.com:9092,b-2.kafka.example.com:9092"
CONFLUENT = "smk://pkc-p11xm.us-east-1.aws.confluent.cloud:9092"
TS = 1764115200000


def b64(data):
    return base64.b64encode(data).decode() if data is not None else None


def header(name, value, signed=False):
    raw = value.encode() if isinstance(value, str) else value
    return {name: [b - 256 if signed and b > 127 else b for b in raw]}


def msk(topic, partition, offset, key, value, headers=(), **override):
    rec = {"eventSource": "aws:kafka", "eventSourceArn": MSK_ARN,
           "eventSourceKey": f"{topic}-{partition}", "topic": topic, "partition": str(partition),
           "offset": offset, "timestamp": TS + offset, "timestampType": "CREATE_TIME",
           "key": b64(key), "value": b64(value), "headers": list(headers)}
    rec.update(override)
    return rec


def broken(rec, **fields):
    rec.update(fields)
    return rec


def order(rng, lines):
    return {
        "type": "OrderPlaced", "orderId": f"ord-{rng.randrange(10**8):08d}",
        "customer": {"id": f"cus-{rng.randrange(10**6):06d}", "tier": rng.choice(["gold", "silver", "bronze"])},
        "lines": [{"sku": f"SKU-{rng.randrange(10**5):05d}", "qty": rng.randrange(1, 9),
                   "price": round(rng.uniform(1, 500), 2),
                   "note": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(40))}
                  for _ in range(lines)],
        "currency": "EUR",
    }


def dump(data):
    return json.dumps(data, separators=(",", ":")).encode()


def write(name, records):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(records, f, indent=1 if len(json.dumps(records)) < 20000 else None)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(20260129)

    # The record of the EventBridge Pipes MSK documentation, verbatim, and two more.
    doc = {"eventSource": "aws:kafka", "eventSourceArn": MSK_ARN, "eventSourceKey": "mytopic-0",
           "topic": "mytopic", "partition": "0", "offset": 15, "timestamp": 1545084650987,
           "timestampType": "CREATE_TIME", "key": "abcDEFghiJKLmnoPQRstuVWXyz1234==",
           "value": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==",
           "headers": [{"headerKey": [104, 101, 97, 100, 101, 114, 86, 97, 108, 117, 101]}]}
    write("msk.json", [
        doc,
        msk("orders", 0, 16, b"ord-1", dump(order(rng, 2)),
            [header("content-type", "application/json"), header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]),
        msk("orders", 0, 17, None, b"plain text payload", []),
    ])

    write("self-managed.json", [
        {"eventSource": "SelfManagedKafka", "bootstrapServers": BOOTSTRAP, "eventSourceKey": "payments-3",
         "topic": "payments", "partition": "3", "offset": 1200 + i, "timestamp": TS + i,
         "timestampType": "LOG_APPEND_TIME", "key": b64(f"acct-{i}".encode()),
         "value": b64(dump({"type": "PaymentAuthorized", "amount": 100 + i, "currency": "USD"})),
         "headers": [header("source", "ledger"), header("retry", "0")]}
        for i in range(3)
    ])

    # Shape captured from a Confluent Cloud pipe: numeric partition, signed header bytes,
    # fields Pipes may add, a duplicate header name.
    write("confluent.json", [
        {"eventSource": "SelfManagedKafka", "bootstrapServers": CONFLUENT, "eventSourceKey": "clicks-5",
         "topic": "clicks", "partition": 5, "offset": 9_007_199_254_740_993 + i, "timestamp": TS + i,
         "timestampType": "CREATE_TIME", "key": b64(b"user-\xc3\xab"), "value": b64(dump({"page": "/caf\u00e9", "n": i})),
         "headers": [header("name", "Zo\u00eb", signed=True), header("tag", "a"), header("tag", "b")],
         "eventSourceInstance": "lkc-abc123"}
        for i in range(2)
    ])

    write("tombstone.json", [
        msk("customers", 1, 40, b"cus-000001", None, []),
        {k: v for k, v in msk("customers", 1, 41, b"cus-000002", None).items() if k not in ("value", "headers")},
        msk("customers", 1, 42, None, b"", [header("deleted-by", "gdpr-job")]),
    ])

    blob = bytes(rng.randrange(256) for _ in range(2048))
    write("binary.json", [
        msk("telemetry", 2, 7, bytes([0, 1, 2, 255]), blob, [header("schema-id", bytes([0, 0, 0, 42]))]),
        msk("telemetry", 2, 8, b"\x08\x96\x01", b"\x08\x96\x01\x12\x04test", []),
    ])

    big = order(rng, 3200)          # ~300 KB of JSON: over the 256 KB event limit
    write("large-payload.json", [
        msk("orders", 1, 100, b"ord-small", dump(order(rng, 1)), [header("content-type", "application/json")]),
        msk("orders", 1, 101, b"ord-big", dump(big), [header("content-type", "application/json")]),
        broken(msk("orders", 1, 102, b"ord-broken", None, []), value="this is not base64!"),
    ])

    # Ten records that each fit (~40 KB) but together exceed the 256 KB batch limit.
    write("batch-guard.json", [
        msk("orders", 4, 500 + i, f"ord-{i}".encode(), dump(order(rng, 300 + 10 * i)), [])
        for i in range(10)
    ])

    write("broken-record.json", [
        msk("orders", 0, 1, b"k", b'{"ok":true}'),
        broken(msk("orders", 0, 2, b"k", None), value="%%%not-base64%%%"),
        {k: v for k, v in msk("orders", 0, 3, b"k", b"v").items() if k != "offset"},
        msk("orders/../../etc", 0, 4, b"k", b"v"),
        msk("orders", 0, 5, b"k", b"v", headers=[{"h": [300]}]),
        broken(msk("orders", 0, 6, b"k", b"v"), offset="six"),
        msk("orders", 0, 7, b"k", b'{"ok":"after the broken ones"}'),
    ])


if __name__ == "__main__":
    main()
