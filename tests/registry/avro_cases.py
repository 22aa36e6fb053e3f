"""Generates Avro test cases with independent tools: random schemas (every Avro type and logical
type, nested unions, named-type references, recursion), random values including extremes, datums
written by fastavro, read back by fastavro and mapped to the expected JSON by avro_mapping.

Usage: python avro_cases.py SEED COUNT  ->  JSON lines {"schema", "datum" (base64), "expected"}
"""

import base64
import datetime
import decimal
import io
import json
import random
import sys
import uuid

import fastavro

from avro_mapping import names_of, to_json

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
LOGICAL = [
    "decimal-bytes", "decimal-fixed", "uuid", "date", "time-millis", "time-micros",
    "timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros",
]
TEXTS = ["", "a", "héllo wörld", "quote \" backslash \\ slash /", "tab\tnew\nline\r", "\u0000\u001f\u007f",
         "emoji \U0001F600", "\ufffe\uffff", "<script>", "日本語"]


class Gen:
    def __init__(self, rng):
        self.rng = rng
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def schema(self, depth, in_union=False):
        r = self.rng
        # Logical types are not direct union branches: fastavro's union writer raises on them
        # (it parses an enum symbol as a date) instead of trying the next branch.
        choices = ["primitive"] * 4 + ([] if in_union else ["logical"] * 2) + ["enum", "fixed"]
        if depth > 0:
            choices += ["array", "map", "record", "record"] + ([] if in_union else ["union", "union"])
        kind = r.choice(choices)
        if kind == "primitive":
            return r.choice(PRIMITIVES)
        if kind == "logical":
            return self.logical(r.choice(LOGICAL))
        if kind == "enum":
            symbols = [self.name("S") for _ in range(r.randint(1, 5))]
            return {"type": "enum", "name": self.name("E"), "symbols": symbols}
        if kind == "fixed":
            return {"type": "fixed", "name": self.name("F"), "size": r.randint(0, 20)}
        if kind == "array":
            return {"type": "array", "items": self.schema(depth - 1)}
        if kind == "map":
            return {"type": "map", "values": self.schema(depth - 1)}
        if kind == "record":
            record = {"type": "record", "name": self.name("R"), "fields": []}
            if r.random() < 0.3:
                record["namespace"] = f"ns{self.count}.sub"
            for _ in range(r.randint(0, 5)):
                record["fields"].append({"name": self.name("f"), "type": self.schema(depth - 1)})
            return record
        # A union: null first or last, then distinct underlying types, at most one complex branch
        # and never both float and double (so a decoded Python value names its branch).
        branches, used = ["null"], {"null"}
        for _ in range(r.randint(1, 3)):
            b = self.schema(depth - 1, in_union=True)
            t = underlying(b)
            if t in used or (t in ("float", "double") and used & {"float", "double"}) or (
                t in ("int", "long") and used & {"int", "long"}) or (
                t in ("string", "enum") and used & {"string", "enum"}) or (
                t in ("bytes", "fixed") and used & {"bytes", "fixed"}) or (
                t in ("record", "map") and used & {"record", "map"}):
                continue
            used.add(t)
            branches.append(b)
        if r.random() < 0.5:
            branches.reverse()
        return branches

    def logical(self, name):
        r = self.rng
        if name == "decimal-bytes":
            precision = r.randint(1, 40)
            return {"type": "bytes", "logicalType": "decimal", "precision": precision,
                    "scale": r.randint(0, precision)}
        if name == "decimal-fixed":
            size = r.randint(1, 16)
            precision = max(1, len(str(2 ** (8 * size - 1) - 1)) - 1)
            return {"type": "fixed", "name": self.name("D"), "size": size, "logicalType": "decimal",
                    "precision": precision, "scale": r.randint(0, precision)}
        if name == "uuid":
            return {"type": "string", "logicalType": "uuid"}
        base = {"date": "int", "time-millis": "int"}.get(name, "long")
        return {"type": base, "logicalType": name}

    def value(self, schema):
        r = self.rng
        if isinstance(schema, list):
            return self.value(r.choice(schema))
        if isinstance(schema, str):
            kind, logical = schema, None
        else:
            kind, logical = schema["type"], schema.get("logicalType")
        if logical == "decimal":
            precision, scale = schema["precision"], schema["scale"]
            unscaled = r.choice([0, 1, -1, 10 ** precision - 1, -(10 ** precision - 1),
                                 r.randint(-(10 ** precision - 1), 10 ** precision - 1)])
            return decimal.Decimal(unscaled).scaleb(-scale)
        if logical == "uuid":
            return str(uuid.UUID(int=r.getrandbits(128)))
        if logical == "date":
            return datetime.date(1, 1, 1) + datetime.timedelta(days=r.choice([0, 3652058, r.randint(0, 3652058), 719162]))
        if logical in ("time-millis", "time-micros"):
            micro = r.choice([0, 86399999999, r.randint(0, 86399999999)])
            if logical == "time-millis":
                micro -= micro % 1000
            return (datetime.datetime(2000, 1, 1) + datetime.timedelta(microseconds=micro)).time()
        if logical and "timestamp" in logical:
            start = datetime.datetime(1, 1, 1)
            span = int((datetime.datetime(9999, 12, 31, 23, 59, 59) - start).total_seconds())
            seconds = r.choice([0, span, r.randint(0, span), 62135596800, 62135596800 - 1])
            micro = r.randint(0, 999999)
            if logical.endswith("millis"):
                micro -= micro % 1000
            dt = start + datetime.timedelta(seconds=seconds, microseconds=micro)
            return dt if logical.startswith("local") else dt.replace(tzinfo=datetime.timezone.utc)
        if kind == "null":
            return None
        if kind == "boolean":
            return r.random() < 0.5
        if kind == "int":
            return r.choice([0, 1, -1, 2**31 - 1, -2**31, r.randint(-2**31, 2**31 - 1)])
        if kind == "long":
            return r.choice([0, -1, 2**63 - 1, -2**63, 2**53 + 1, r.randint(-2**63, 2**63 - 1)])
        if kind == "float":
            return r.choice([0.0, -0.0, 0.1, 3.4028234663852886e38, 1.4e-45, float("nan"), float("inf"),
                             float("-inf"), 1e19, r.uniform(-1e6, 1e6)])
        if kind == "double":
            return r.choice([0.0, -0.0, 0.1, 1e300, -1e300, 5e-324, float("nan"), float("-inf"),
                             2.0**63, 2.0**63 - 1024, 9007199254740993.0, r.uniform(-1e12, 1e12)])
        if kind == "bytes":
            return bytes(r.getrandbits(8) for _ in range(r.choice([0, 1, 2, 3, 17])))
        if kind == "string":
            return r.choice(TEXTS + ["".join(chr(r.randint(0x20, 0x2FFF)) for _ in range(r.randint(0, 12)))])
        if kind == "enum":
            return r.choice(schema["symbols"])
        if kind == "fixed":
            return bytes(r.getrandbits(8) for _ in range(schema["size"]))
        if kind == "array":
            return [self.value(schema["items"]) for _ in range(r.choice([0, 1, 3]))]
        if kind == "map":
            return {f"k{i}\u00e9": self.value(schema["values"]) for i in range(r.choice([0, 1, 3]))}
        if kind == "record":
            return {f["name"]: self.value(f["type"]) for f in schema["fields"]}
        raise ValueError(schema)


def underlying(schema):
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, str):
        return schema
    return schema["type"]


def linked_list(rng):
    """A recursive record referring to itself by name, and to a named type defined earlier."""
    schema = {"type": "record", "name": "Node", "namespace": "com.example", "fields": [
        {"name": "label", "type": {"type": "enum", "name": "Label", "symbols": ["A", "B"]}},
        {"name": "other", "type": "Label"},
        {"name": "next", "type": ["null", "Node"]},
    ]}
    value, node = None, None
    for _ in range(rng.randint(0, 20)):
        node = {"label": rng.choice("AB"), "other": rng.choice("AB"), "next": node}
    return schema, node or {"label": "A", "other": "B", "next": None}


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    gen = Gen(rng)
    cases = [linked_list(rng)]
    while len(cases) < count:
        schema = gen.schema(depth=rng.randint(0, 4))
        for _ in range(3):
            cases.append((schema, gen.value(schema)))
    for schema, value in cases[:count]:
        parsed = fastavro.parse_schema(schema)
        out = io.BytesIO()
        fastavro.schemaless_writer(out, parsed, value)
        datum = out.getvalue()
        decoded = fastavro.schemaless_reader(io.BytesIO(datum), parsed, None)
        names = {}
        names_of(parsed, names)
        expected = to_json(parsed, decoded, names)
        print(json.dumps({"schema": json.dumps(schema), "datum": base64.b64encode(datum).decode(),
                          "expected": expected}))


if __name__ == "__main__":
    main()
