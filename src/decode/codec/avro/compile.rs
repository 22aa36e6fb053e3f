//! An Avro schema compiled into a flat table of nodes: named types resolved to indexes, record
//! field names and enum symbols pre-escaped.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{InnerDecimalSchema, UuidSchema};

use super::{AvroError, Node, Unit, fail};
use crate::json::write_json_str;

/// The full name of a named top-level schema.
pub(super) fn named(schema: &Schema) -> Option<String> {
    match schema {
        Schema::Record(r) => Some(r.name.fullname(None)),
        Schema::Enum(e) => Some(e.name.fullname(None)),
        Schema::Fixed(f) | Schema::Duration(f) => Some(f.name.fullname(None)),
        Schema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Fixed(f) => Some(f.name.fullname(None)),
            InnerDecimalSchema::Bytes => None,
        },
        Schema::Uuid(UuidSchema::Fixed(f)) => Some(f.name.fullname(None)),
        _ => None,
    }
}

#[derive(Default)]
pub(super) struct Compiler {
    pub(super) nodes: Vec<Node>,
    names: HashMap<String, usize>,
}

impl Compiler {
    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Reserves a node for a named type, so that types inside it may refer to it.
    fn define(&mut self, name: &apache_avro::schema::Name) -> usize {
        let index = self.push(Node::Pending);
        self.names.insert(name.fullname(None), index);
        index
    }

    pub(super) fn node(&mut self, schema: &Schema) -> Result<usize, AvroError> {
        let node = match schema {
            Schema::Null => Node::Null,
            Schema::Boolean => Node::Boolean,
            Schema::Int => Node::Int,
            Schema::Long => Node::Long,
            Schema::Float => Node::Float,
            Schema::Double => Node::Double,
            Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => Node::Bytes,
            Schema::String => Node::String,
            Schema::Array(a) => Node::Array(self.node(&a.items)?),
            Schema::Map(m) => Node::Map(self.node(&m.types)?),
            Schema::Union(u) => Node::Union(
                u.variants()
                    .iter()
                    .map(|v| self.node(v))
                    .collect::<Result<_, _>>()?,
            ),
            Schema::Record(record) => {
                let index = self.define(&record.name);
                let mut fields = Vec::with_capacity(record.fields.len());
                for field in &record.fields {
                    let mut name = Vec::with_capacity(field.name.len() + 3);
                    write_json_str(&mut name, &field.name);
                    name.push(b':');
                    fields.push((name.into_boxed_slice(), self.node(&field.schema)?));
                }
                self.nodes[index] = Node::Record(fields.into_boxed_slice());
                return Ok(index);
            }
            Schema::Enum(e) => {
                let index = self.define(&e.name);
                let symbols = e
                    .symbols
                    .iter()
                    .map(|s| {
                        let mut json = Vec::with_capacity(s.len() + 2);
                        write_json_str(&mut json, s);
                        json.into_boxed_slice()
                    })
                    .collect();
                self.nodes[index] = Node::Enum(symbols);
                return Ok(index);
            }
            Schema::Fixed(f) | Schema::Duration(f) => {
                let index = self.define(&f.name);
                self.nodes[index] = Node::Fixed(f.size);
                return Ok(index);
            }
            Schema::Decimal(d) => {
                let fixed = match &d.inner {
                    InnerDecimalSchema::Fixed(f) => {
                        let index = self.define(&f.name);
                        self.nodes[index] = Node::Fixed(f.size);
                        Some(f.size)
                    }
                    InnerDecimalSchema::Bytes => None,
                };
                Node::Decimal {
                    scale: d.scale,
                    fixed,
                }
            }
            Schema::Uuid(UuidSchema::String) => Node::UuidString,
            Schema::Uuid(UuidSchema::Fixed(f)) => {
                let index = self.define(&f.name);
                self.nodes[index] = Node::Fixed(f.size);
                Node::UuidFixed
            }
            Schema::Date => Node::Date,
            Schema::TimeMillis => Node::TimeMillis,
            Schema::TimeMicros => Node::TimeMicros,
            Schema::TimestampMillis => timestamp(Unit::Millis, true),
            Schema::TimestampMicros => timestamp(Unit::Micros, true),
            Schema::TimestampNanos => timestamp(Unit::Nanos, true),
            Schema::LocalTimestampMillis => timestamp(Unit::Millis, false),
            Schema::LocalTimestampMicros => timestamp(Unit::Micros, false),
            Schema::LocalTimestampNanos => timestamp(Unit::Nanos, false),
            Schema::Ref { name } => {
                let full = name.fullname(None);
                return match self.names.get(&full) {
                    Some(index) => Ok(*index),
                    None => fail(format!(
                        "the schema refers to {full}, which it does not define"
                    )),
                };
            }
        };
        Ok(self.push(node))
    }
}

fn timestamp(unit: Unit, utc: bool) -> Node {
    Node::Timestamp { unit, utc }
}
