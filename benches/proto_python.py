"""The Python anchor for the Protobuf benchmark: the protobuf package (its upb backend) parsing the
same messages, json_format.MessageToDict(preserving_proto_field_name=True), then json.dumps.

Usage: python proto_python.py OUT_DIR COUNT
Writes OUT_DIR/messages.bin (each: 4-byte big-endian length, then a serialized shop.v1.Order from
tests/registry/proto_cases.py's generator, seed 7), times the Python path over them and prints one
JSON line: {"bytes", "records", "seconds", "implementation"}.
"""

import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "registry"))
from proto_cases import Gen, compiled  # noqa: E402


def main():
    from google.protobuf import json_format
    from google.protobuf.internal import api_implementation

    out_dir, count = sys.argv[1], int(sys.argv[2])
    pb = compiled()
    gen = Gen(random.Random(7), pb)
    messages = []
    for _ in range(count):
        order = pb.Order()
        gen.order(order)
        messages.append(order.SerializeToString())
    with open(os.path.join(out_dir, "messages.bin"), "wb") as f:
        for m in messages:
            f.write(len(m).to_bytes(4, "big"))
            f.write(m)
    samples = []
    started = time.perf_counter()
    while len(samples) < 5 or (time.perf_counter() - started < 3 and len(samples) < 200):
        t = time.perf_counter()
        for data in messages:
            message = pb.Order.FromString(data)
            json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True))
        samples.append(time.perf_counter() - t)
    print(json.dumps({"bytes": sum(len(m) for m in messages), "records": count,
                      "seconds": statistics.median(samples), "implementation": api_implementation.Type()}))


if __name__ == "__main__":
    main()
