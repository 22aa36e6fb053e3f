//! Compiled descriptors: for each message type of a schema, its fields by number with their
//! JSON names pre-escaped, how each is read off the wire, and what it prints by default. Built
//! once per schema; [`super::write`] walks the wire bytes with them.

use std::collections::HashMap;

use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor, Syntax,
    Value,
};

use crate::json::write_json_str;

/// How a field's value is read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    /// An enum: the index of its [`EnumPlan`].
    Enum(usize),
    /// A message: the index of its [`MessagePlan`].
    Message(usize),
}

impl Scalar {
    /// The wire type a single value of this kind is written with.
    pub(super) fn wire_type(self) -> u8 {
        match self {
            Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64 => 1,
            Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32 => 5,
            Scalar::String | Scalar::Bytes | Scalar::Message(_) => 2,
            _ => 0,
        }
    }

    /// Whether a repeated field of this kind may be packed (a length-delimited run of values).
    pub(super) fn packable(self) -> bool {
        !matches!(self, Scalar::String | Scalar::Bytes | Scalar::Message(_))
    }
}

/// The JSON form of the well-known types that have one (Protobuf's JSON mapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wkt {
    Any,
    Timestamp,
    Duration,
    FieldMask,
    Struct,
    Value,
    ListValue,
    /// `DoubleValue`, `Int64Value`, …: the wrapped value itself.
    Wrapper,
}

/// A field of a message.
#[derive(Clone, Debug)]
pub(super) struct FieldPlan {
    pub(super) number: u32,
    /// `"name":`, the `.proto` field name as a JSON key.
    pub(super) key: Box<[u8]>,
    pub(super) kind: Scalar,
    pub(super) repeated: bool,
    /// For a map field: its entry's key and value fields.
    pub(super) map: Option<Box<(FieldPlan, FieldPlan)>>,
    /// Whether the field tells "unset" from its default (message fields, oneof members, proto3
    /// `optional`, proto2 singular fields): such fields print whenever they are on the wire.
    pub(super) presence: bool,
    /// The oneof it belongs to (its index in the message), synthetic ones included.
    pub(super) oneof: Option<usize>,
    /// What `always_print_fields_with_no_presence` prints when the field is not on the wire.
    pub(super) default: Box<[u8]>,
}

/// A message type.
#[derive(Clone, Debug)]
pub(super) struct MessagePlan {
    pub(super) wkt: Option<Wkt>,
    /// Sorted by number.
    pub(super) fields: Vec<FieldPlan>,
}

impl MessagePlan {
    /// The index of the field numbered `number`.
    pub(super) fn field(&self, number: u32) -> Option<usize> {
        self.fields.binary_search_by_key(&number, |f| f.number).ok()
    }
}

/// An enum type.
#[derive(Clone, Debug)]
pub(super) struct EnumPlan {
    /// Each value's name as a JSON string, sorted by number (aliases: the first).
    pub(super) values: Vec<(i32, Box<[u8]>)>,
    /// A proto2 enum: numbers it does not define are not kept (they go to unknown fields).
    pub(super) closed: bool,
    /// `google.protobuf.NullValue`: always `null`.
    pub(super) null_value: bool,
}

impl EnumPlan {
    /// The JSON name of `number`, if the enum defines it.
    pub(super) fn name(&self, number: i32) -> Option<&[u8]> {
        self.values
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|i| &*self.values[i].1)
    }
}

/// Every message and enum of a schema's descriptor pool, compiled.
#[derive(Clone, Debug, Default)]
pub(super) struct Plans {
    pub(super) messages: Vec<MessagePlan>,
    pub(super) enums: Vec<EnumPlan>,
    /// Message index by full name (for `Any`).
    pub(super) by_name: HashMap<String, usize>,
}

impl Plans {
    /// Compiles every message and enum type of `pool`.
    pub(super) fn compile(pool: &DescriptorPool) -> Plans {
        let mut plans = Plans::default();
        let mut enums: HashMap<String, usize> = HashMap::new();
        for (i, message) in pool.all_messages().enumerate() {
            plans.by_name.insert(message.full_name().to_string(), i);
        }
        for e in pool.all_enums() {
            enums.insert(e.full_name().to_string(), plans.enums.len());
            plans.enums.push(enum_plan(&e));
        }
        for message in pool.all_messages() {
            let oneofs: Vec<String> = message
                .oneofs()
                .map(|o| o.full_name().to_string())
                .collect();
            let mut fields: Vec<FieldPlan> = message
                .fields()
                .map(|f| field_plan(&f, &oneofs, &plans.by_name, &enums, &plans.enums))
                .collect();
            fields.sort_by_key(|f| f.number);
            plans.messages.push(MessagePlan {
                wkt: wkt(&message),
                fields,
            });
        }
        plans
    }
}

fn wkt(message: &MessageDescriptor) -> Option<Wkt> {
    Some(match message.full_name() {
        "google.protobuf.Any" => Wkt::Any,
        "google.protobuf.Timestamp" => Wkt::Timestamp,
        "google.protobuf.Duration" => Wkt::Duration,
        "google.protobuf.FieldMask" => Wkt::FieldMask,
        "google.protobuf.Struct" => Wkt::Struct,
        "google.protobuf.Value" => Wkt::Value,
        "google.protobuf.ListValue" => Wkt::ListValue,
        "google.protobuf.DoubleValue"
        | "google.protobuf.FloatValue"
        | "google.protobuf.Int64Value"
        | "google.protobuf.UInt64Value"
        | "google.protobuf.Int32Value"
        | "google.protobuf.UInt32Value"
        | "google.protobuf.BoolValue"
        | "google.protobuf.StringValue"
        | "google.protobuf.BytesValue" => Wkt::Wrapper,
        _ => return None,
    })
}

fn enum_plan(e: &EnumDescriptor) -> EnumPlan {
    let mut values: Vec<(i32, Box<[u8]>)> = Vec::new();
    for v in e.values() {
        if values.iter().any(|(n, _)| *n == v.number()) {
            continue;
        }
        let mut name = Vec::with_capacity(v.name().len() + 2);
        write_json_str(&mut name, v.name());
        values.push((v.number(), name.into_boxed_slice()));
    }
    values.sort_by_key(|(n, _)| *n);
    EnumPlan {
        values,
        closed: e.parent_file().syntax() == Syntax::Proto2,
        null_value: e.full_name() == "google.protobuf.NullValue",
    }
}

fn field_plan(
    f: &FieldDescriptor,
    oneofs: &[String],
    messages: &HashMap<String, usize>,
    enum_index: &HashMap<String, usize>,
    enums: &[EnumPlan],
) -> FieldPlan {
    let kind = scalar(&f.kind(), messages, enum_index);
    let mut key = Vec::with_capacity(f.name().len() + 3);
    write_json_str(&mut key, f.name());
    key.push(b':');
    let map = match f.kind() {
        Kind::Message(entry) if f.is_map() => Some(Box::new((
            field_plan(
                &entry.map_entry_key_field(),
                &[],
                messages,
                enum_index,
                enums,
            ),
            field_plan(
                &entry.map_entry_value_field(),
                &[],
                messages,
                enum_index,
                enums,
            ),
        ))),
        _ => None,
    };
    let repeated = f.cardinality() == Cardinality::Repeated;
    let default = if map.is_some() {
        b"{}".to_vec()
    } else if repeated {
        b"[]".to_vec()
    } else {
        default_json(&f.default_value(), kind, enums)
    };
    FieldPlan {
        number: f.number(),
        key: key.into_boxed_slice(),
        kind,
        repeated: repeated && map.is_none(),
        map,
        presence: f.supports_presence(),
        oneof: f
            .containing_oneof()
            .and_then(|o| oneofs.iter().position(|n| n == o.full_name())),
        default: default.into_boxed_slice(),
    }
}

fn scalar(
    kind: &Kind,
    messages: &HashMap<String, usize>,
    enums: &HashMap<String, usize>,
) -> Scalar {
    match kind {
        Kind::Double => Scalar::Double,
        Kind::Float => Scalar::Float,
        Kind::Int32 => Scalar::Int32,
        Kind::Int64 => Scalar::Int64,
        Kind::Uint32 => Scalar::Uint32,
        Kind::Uint64 => Scalar::Uint64,
        Kind::Sint32 => Scalar::Sint32,
        Kind::Sint64 => Scalar::Sint64,
        Kind::Fixed32 => Scalar::Fixed32,
        Kind::Fixed64 => Scalar::Fixed64,
        Kind::Sfixed32 => Scalar::Sfixed32,
        Kind::Sfixed64 => Scalar::Sfixed64,
        Kind::Bool => Scalar::Bool,
        Kind::String => Scalar::String,
        Kind::Bytes => Scalar::Bytes,
        // The pool holds every type its fields name.
        Kind::Message(m) => Scalar::Message(messages.get(m.full_name()).copied().unwrap_or(0)),
        Kind::Enum(e) => Scalar::Enum(enums.get(e.full_name()).copied().unwrap_or(0)),
    }
}

/// A singular field's default value as `MessageToDict` prints it (`_FieldToJsonObject` of the
/// default): `0`, `"0"` for 64-bit integers, `0.0`, `false`, `""`, an enum's name.
fn default_json(value: &Value, kind: Scalar, enums: &[EnumPlan]) -> Vec<u8> {
    let mut out = Vec::new();
    match (value, kind) {
        (Value::Bool(b), _) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        (Value::I32(n), _) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        (Value::U32(n), _) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        (Value::I64(n), _) => write_json_str(&mut out, itoa::Buffer::new().format(*n)),
        (Value::U64(n), _) => write_json_str(&mut out, itoa::Buffer::new().format(*n)),
        (Value::F32(f), _) => crate::json::write_f32(&mut out, *f),
        (Value::F64(f), _) => crate::json::write_f64(&mut out, *f),
        (Value::String(s), _) => write_json_str(&mut out, s),
        (Value::Bytes(b), _) => crate::json::write_base64_str(&mut out, b),
        (Value::EnumNumber(n), Scalar::Enum(e)) => match enums.get(e) {
            Some(plan) if plan.null_value => out.extend_from_slice(b"null"),
            Some(plan) => match plan.name(*n) {
                Some(name) => out.extend_from_slice(name),
                None => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            },
            None => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        },
        _ => out.extend_from_slice(b"null"),
    }
    out
}
