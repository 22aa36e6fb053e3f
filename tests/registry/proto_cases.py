"""Generates Protobuf test cases with independent tools: messages of tests/registry/proto/shop.proto
(compiled with grpcio-tools' protoc), filled at random (every scalar type with extremes, nested and
repeated messages, maps, oneofs, enums, well-known types, schema imports two levels deep), serialized
by the Python protobuf package, and the expected JSON from
json_format.MessageToDict(message, preserving_proto_field_name=True), with the one documented
difference applied (`float` fields in their shortest 32-bit form).

Some messages are two serializations concatenated (a parser merges them), so fields arrive out of
order and more than once. `expected_defaults` is MessageToDict with
always_print_fields_with_no_presence=True; both are null where MessageToDict refuses the message.

Usage: python proto_cases.py SEED COUNT
  ->  JSON lines {"message", "path", "glue_index", "bytes", "expected", "expected_defaults"}
"""

import base64
import json
import os
import random
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "proto")


def compiled():
    """Imports the generated modules, generating them first into a temporary directory."""
    from grpc_tools import protoc
    import grpc_tools

    out = tempfile.mkdtemp(prefix="proto-")
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    files = [os.path.join(PROTO, f) for f in ("address.proto", "party.proto", "shop.proto", "glue.proto")]
    status = protoc.main(["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={out}", *files])
    assert status == 0, "protoc failed"
    sys.path.insert(0, out)
    import glue_pb2  # noqa: E402
    import shop_pb2  # noqa: E402
    shop_pb2.glue = glue_pb2
    return shop_pb2


from avro_mapping import f32_shortest  # noqa: E402


def documented(value, key=None):
    """MessageToDict's output with the documented difference: `float` fields (here: f_float) in
    the shortest form that reads back as the same 32-bit float (MessageToDict's ToShortestFloat
    starts at more digits: 1.4013e-45 for 1e-45)."""
    if key == "f_float" and isinstance(value, float):
        value = f32_shortest(value)
    if isinstance(value, list):
        return [documented(v) for v in value]
    if isinstance(value, dict):
        return {k: documented(v, k) for k, v in value.items()}
    return value


TEXTS = ["", "a", "héllo", "quote \" back \\", "tab\tnl\n", "\u0001\u001f", "emoji \U0001F600", "\ufffe\uffff", "日本"]


class Gen:
    def __init__(self, rng, pb):
        self.r = rng
        self.pb = pb

    def text(self):
        return self.r.choice(TEXTS)

    def scalars(self, m):
        r = self.r
        m.f_double = r.choice([0.0, -0.0, 0.1, 1e300, -1e300, 5e-324, float("nan"), float("inf"), 2.0**63, r.uniform(-1e9, 1e9)])
        m.f_float = r.choice([0.0, 0.1, 3.4028234663852886e38, 1.401298464324817e-45, float("-inf"), r.uniform(-1e3, 1e3)])
        m.f_int32 = r.choice([0, -1, 2**31 - 1, -2**31, r.randint(-2**31, 2**31 - 1)])
        m.f_int64 = r.choice([0, -1, 2**63 - 1, -2**63, r.randint(-2**63, 2**63 - 1)])
        m.f_uint32 = r.choice([0, 2**32 - 1, r.randint(0, 2**32 - 1)])
        m.f_uint64 = r.choice([0, 2**64 - 1, r.randint(0, 2**64 - 1)])
        m.f_sint32 = r.choice([-2**31, 2**31 - 1, r.randint(-100, 100)])
        m.f_sint64 = r.choice([-2**63, 2**63 - 1, r.randint(-100, 100)])
        m.f_fixed32 = r.choice([0, 2**32 - 1])
        m.f_fixed64 = r.choice([0, 2**64 - 1, 2**53 + 1])
        m.f_sfixed32 = r.choice([-2**31, 7])
        m.f_sfixed64 = r.choice([-2**63, 2**63 - 1])
        m.f_bool = r.random() < 0.5
        m.f_string = self.text()
        m.f_bytes = bytes(r.getrandbits(8) for _ in range(r.choice([0, 1, 2, 3, 20])))
        if r.random() < 0.5:
            m.f_optional = r.choice([0, 5])

    def line(self, m):
        r = self.r
        m.sku = self.text()
        m.quantity = r.choice([0, 1, 2**32 - 1])
        m.price_micros = r.choice([0, -5, 2**62])
        for _ in range(r.choice([0, 1, 2])):
            d = m.discounts.add()
            d.code = self.text()
            d.percent = r.choice([0.0, 12.5, 100.0])

    def value(self, v, depth=0):
        r = self.r
        kind = r.choice(["null", "number", "string", "bool"] + (["list", "struct"] if depth < 3 else []))
        if kind == "null":
            v.null_value = 0
        elif kind == "number":
            v.number_value = r.choice([0.0, 1.0, -2.5, 1e20, 123456789.125])
        elif kind == "string":
            v.string_value = self.text()
        elif kind == "bool":
            v.bool_value = r.random() < 0.5
        elif kind == "list":
            v.list_value.SetInParent()
            for _ in range(r.choice([0, 2])):
                self.value(v.list_value.values.add(), depth + 1)
        else:
            v.struct_value.SetInParent()
            for i in range(r.choice([0, 2])):
                self.value(v.struct_value.fields[f"k{i}"], depth + 1)

    def order(self, m):
        r, pb = self.r, self.pb
        m.order_id = self.text()
        m.status = r.choice([0, 1, 2, 7])  # 7: not in the enum
        for _ in range(r.choice([0, 1, 3])):
            self.line(m.lines.add())
        for i in range(r.choice([0, 2])):
            m.attributes[f"a{i}"] = self.text()
        for key in r.sample([-(2**63), -1, 0, 5, 2**63 - 1], r.choice([0, 2])):
            self.line(m.lines_by_id[key])
        choice = r.choice(["none", "card", "voucher"])
        if choice == "card":
            m.card_token = self.text()
        elif choice == "voucher":
            m.voucher_id = r.choice([0, 2**63 - 1])
        if r.random() < 0.8:
            m.created_at.seconds = r.choice([-62135596800, 253402300799, 0, r.randint(-62135596800, 253402300799)])
            m.created_at.nanos = r.choice([0, 123000000, 123456000, 123456789, 999999999])
        if r.random() < 0.6:
            sign = r.choice([1, -1])
            m.ttl.seconds = sign * r.choice([0, 1, 315576000000])
            m.ttl.nanos = sign * r.choice([0, 500000000, 1000, 1])
        if r.random() < 0.6:
            m.extra.SetInParent()
            for i in range(r.choice([0, 1, 3])):
                self.value(m.extra.fields[f"f{i}"])
        if r.random() < 0.5:
            m.loyalty_points.value = r.choice([0, -(2**63), 2**63 - 1])
        if r.random() < 0.5:
            m.note.value = self.text()
        if r.random() < 0.4:
            m.mask.paths.extend(r.sample(["order_id", "lines.sku", "created_at"], 2))
        if r.random() < 0.3:
            m.nothing.SetInParent()
        if r.random() < 0.4:
            ack = pb.Ack(order_id=self.text(), ok=r.random() < 0.5)
            m.detail.Pack(ack)
        if r.random() < 0.7:
            m.customer.name = self.text()
            if r.random() < 0.7:
                m.customer.address.city = self.text()
                m.customer.address.zip = r.choice(["", "0150"])
        if r.random() < 0.7:
            self.scalars(m.scalars)
        m.history.extend(r.choice([[], [1, 2], [0, 7]]))
        if r.random() < 0.5:
            self.value(m.any_value)
        m.samples.extend(r.choice([[], [0.5, -0.0, float("inf")], [1e300]]))
        # Wrappers holding what JSON has no number for: MessageToDict writes "NaN", "Infinity".
        if r.random() < 0.5:
            m.ratio.value = r.choice([float("nan"), float("inf"), float("-inf"), 0.0, 1e300, 0.25])
        if r.random() < 0.5:
            m.weight.value = r.choice([float("nan"), float("-inf"), 0.0, 3.4028234663852886e38])
        if r.random() < 0.3:
            m.gift.value = r.random() < 0.5


def path_of(descriptor):
    """Confluent's message index path: positions from the file's top level down."""
    path = []
    while descriptor is not None:
        parent = descriptor.containing_type
        siblings = parent.nested_types if parent is not None else list(descriptor.file.message_types_by_name.values())
        path.insert(0, [s.full_name for s in siblings].index(descriptor.full_name))
        descriptor = parent
    return path


def glue_index_of(descriptor):
    """Glue's message index: position among all the file's messages sorted by full name."""
    names, queue = [], list(descriptor.file.message_types_by_name.values())
    while queue:
        d = queue.pop(0)
        names.append(d.full_name)
        queue.extend(d.nested_types)
    return sorted(names).index(descriptor.full_name)


def main():
    from google.protobuf import json_format

    seed, count = int(sys.argv[1]), int(sys.argv[2])
    pb = compiled()
    rng = random.Random(seed)
    gen = Gen(rng, pb)
    makers = [
        (pb.Order, gen.order), (pb.Order, gen.order), (pb.Order, gen.order),
        (pb.Scalars, gen.scalars), (pb.Order.Line, gen.line), (pb.Ack, lambda m: None),
        (pb.Order.Line.Discount, lambda m: setattr(m, "percent", rng.choice([0.0, 1e300, -1e19]))),
    ]
    for _ in range(count):
        cls, fill = rng.choice(makers)
        message = cls()
        fill(message)
        data = message.SerializeToString()
        if rng.random() < 0.3:
            # Two serializations concatenated, as a parser merges them: singular fields out of
            # order and repeated, repeated fields split, map keys and oneof members overwritten.
            second = cls()
            fill(second)
            data += second.SerializeToString()
        message = cls.FromString(data)
        try:
            expected = documented(json_format.MessageToDict(message, preserving_proto_field_name=True))
            expected_defaults = documented(json_format.MessageToDict(
                message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True))
        except (ValueError, json_format.SerializeToJsonError):
            # What JSON cannot carry (a merged Duration whose seconds and nanos differ in sign,
            # say): the decoder must refuse it too. null stands for "an error".
            expected = expected_defaults = None
        print(json.dumps({
            "message": message.DESCRIPTOR.full_name,
            "path": path_of(message.DESCRIPTOR),
            "glue_index": glue_index_of(message.DESCRIPTOR),
            "bytes": base64.b64encode(data).decode(),
            "expected": expected,
            "expected_defaults": expected_defaults,
        }))


if __name__ == "__main__":
    main()
