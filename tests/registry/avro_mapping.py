"""The documented Avro -> JSON mapping (docs/schema-registry.md), applied to what fastavro decodes.

This is the independent side of the differential tests: fastavro reads the datum, and this
module turns the Python values into the JSON the function should show, by the table alone.
"""

import base64
import datetime
import math
import struct

def f32_shortest(x):
    """The shortest decimal that reads back as the same 32-bit float."""
    target = struct.pack("<f", x)
    for digits in range(1, 10):
        text = f"{x:.{digits}g}"
        try:
            if struct.pack("<f", float(text)) == target:
                return float(text)
        except OverflowError:
            continue
    return x


def number(x, single):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if single:
        x = f32_shortest(x)
    return x


def stamp(dt, digits, utc):
    if utc:
        dt = dt.astimezone(datetime.timezone.utc)
    fraction = dt.microsecond // 1000 if digits == 3 else dt.microsecond
    text = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        f".{fraction:0{digits}d}"
    )
    return text + ("Z" if utc else "")


def names_of(schema, names, namespace=None):
    """Collects named types (full name -> schema) from a fastavro-parsed schema."""
    if isinstance(schema, list):
        for branch in schema:
            names_of(branch, names, namespace)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            names[schema["name"]] = schema
        if kind in ("record", "error"):
            for field in schema["fields"]:
                names_of(field["type"], names)
        elif kind == "array":
            names_of(schema["items"], names)
        elif kind == "map":
            names_of(schema["values"], names)
        elif isinstance(kind, (dict, list)):
            names_of(kind, names)


def branch_for(value, branches, names):
    """The union branch a decoded value came from (the tests' unions keep this unambiguous)."""
    def kind(b):
        b = names.get(b, b) if isinstance(b, str) else b
        t = b["type"] if isinstance(b, dict) else b
        logical = b.get("logicalType") if isinstance(b, dict) else None
        return t, logical, b

    for b in branches:
        t, logical, resolved = kind(b)
        if value is None and t == "null":
            return resolved
        if isinstance(value, bool):
            if t == "boolean":
                return resolved
            continue
        if isinstance(value, datetime.datetime) and logical in (
            "timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros"
        ):
            return resolved
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime) and logical == "date":
            return resolved
        if isinstance(value, datetime.time) and logical in ("time-millis", "time-micros"):
            return resolved
        if type(value).__name__ == "Decimal" and logical == "decimal":
            return resolved
        if type(value).__name__ == "UUID" and logical == "uuid":
            return resolved
        if isinstance(value, int) and t in ("int", "long") and logical is None:
            return resolved
        if isinstance(value, float) and t in ("float", "double"):
            return resolved
        if isinstance(value, str) and (t == "string" or t == "enum") and logical is None:
            return resolved
        if isinstance(value, bytes) and t in ("bytes", "fixed") and logical is None:
            return resolved
        if isinstance(value, list) and t == "array":
            return resolved
        if isinstance(value, dict) and t in ("map", "record", "error"):
            return resolved
    raise ValueError(f"no branch for {value!r}")


def to_json(schema, value, names):
    if isinstance(schema, str) and schema in names:
        schema = names[schema]
    if isinstance(schema, list):
        return to_json(branch_for(value, schema, names), value, names)
    if isinstance(schema, dict):
        kind = schema["type"]
        logical = schema.get("logicalType")
        if isinstance(kind, (dict, list)):
            return to_json(kind, value, names)
    else:
        kind, logical = schema, None
    if logical == "decimal" and type(value).__name__ == "Decimal":
        return format(value, "f")
    if logical == "uuid" and type(value).__name__ == "UUID":
        return str(value)
    if logical == "date" and isinstance(value, datetime.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if logical in ("time-millis", "time-micros") and isinstance(value, datetime.time):
        digits = 3 if logical == "time-millis" else 6
        fraction = value.microsecond // 1000 if digits == 3 else value.microsecond
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{fraction:0{digits}d}"
    if logical in ("timestamp-millis", "timestamp-micros") and isinstance(value, datetime.datetime):
        return stamp(value, 3 if logical.endswith("millis") else 6, True)
    if logical in ("local-timestamp-millis", "local-timestamp-micros") and isinstance(value, datetime.datetime):
        return stamp(value, 3 if logical.endswith("millis") else 6, False)
    if kind in ("null", "boolean", "int", "long", "string", "enum"):
        return value
    if kind in ("float", "double"):
        return number(value, kind == "float")
    if kind in ("bytes", "fixed"):
        return base64.b64encode(value).decode()
    if kind == "array":
        return [to_json(schema["items"], v, names) for v in value]
    if kind == "map":
        return {k: to_json(schema["values"], v, names) for k, v in value.items()}
    if kind in ("record", "error"):
        return {f["name"]: to_json(f["type"], value[f["name"]], names) for f in schema["fields"]}
    raise ValueError(f"unknown schema {schema!r}")
