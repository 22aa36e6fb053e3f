//! The bytes schema-registry serializers put before a payload.
//!
//! - Confluent ("Wire format", Confluent Schema Registry documentation): byte 0 is the magic byte
//!   `0x00`, bytes 1–4 the schema id (big-endian), then the payload.
//! - AWS Glue (`awslabs/aws-glue-schema-registry`, `AWSSchemaRegistryConstants`): byte 0 is the
//!   header version `0x03`, byte 1 the compression (`0x00` none, `0x05` zlib), bytes 2–17 the
//!   schema version UUID, then the payload, zlib-compressed when byte 1 says so.

use std::borrow::Cow;
use std::io::Read as _;

use super::SchemaId;

/// Confluent's magic byte.
pub const CONFLUENT_MAGIC: u8 = 0x00;
/// Glue's header version byte.
pub const GLUE_HEADER_VERSION: u8 = 0x03;
/// Glue's compression byte for an uncompressed payload.
pub const GLUE_UNCOMPRESSED: u8 = 0x00;
/// Glue's compression byte for a zlib payload.
pub const GLUE_ZLIB: u8 = 0x05;
/// A Glue payload may decompress to at most this many bytes: more is a dead letter, so that a
/// small record cannot exhaust the function's memory.
pub const MAX_DECOMPRESSED: usize = 32 << 20;

/// The record header Confluent's newer serializers put a value's schema id in
/// (`SchemaId.VALUE_SCHEMA_ID_HEADER`).
pub const VALUE_SCHEMA_ID_HEADER: &str = "__value_schema_id";
/// The record header for a key's schema id (`SchemaId.KEY_SCHEMA_ID_HEADER`).
pub const KEY_SCHEMA_ID_HEADER: &str = "__key_schema_id";
/// A schema-id header's first byte for a 4-byte schema id (`SchemaId.MAGIC_BYTE_V0`).
pub const HEADER_ID: u8 = 0x00;
/// A schema-id header's first byte for a 16-byte schema GUID (`SchemaId.MAGIC_BYTE_V1`).
pub const HEADER_GUID: u8 = 0x01;

/// Reads a Confluent schema-id header's value (`SchemaId.fromBytes` in Confluent's
/// `schema-serializer`): `0x01` and a 16-byte GUID, or `0x00` and a 4-byte id; what follows (a
/// Protobuf value's message indexes) is returned as the rest.
///
/// # Errors
/// [`BadFraming`] for another first byte, or a value cut short.
pub fn header_schema_id(value: &[u8]) -> Result<(SchemaId, &[u8]), BadFraming> {
    match value {
        [HEADER_GUID, rest @ ..] if rest.len() >= 16 => {
            let mut guid = [0; 16];
            guid.copy_from_slice(&rest[..16]);
            Ok((SchemaId::ConfluentGuid(guid), &rest[16..]))
        }
        [HEADER_ID, a, b, c, d, rest @ ..] => Ok((
            SchemaId::Confluent(u32::from_be_bytes([*a, *b, *c, *d])),
            rest,
        )),
        [HEADER_GUID | HEADER_ID, ..] => Err(BadFraming(format!(
            "the schema-id header is cut short ({} byte(s))",
            value.len()
        ))),
        [other, ..] => Err(BadFraming(format!(
            "the schema-id header starts with {other:#04x}, not 0x00 (an id) or 0x01 (a GUID)"
        ))),
        [] => Err(BadFraming("the schema-id header is empty".into())),
    }
}

/// Which registry's framing to look for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `0x00`, schema id, payload.
    Confluent,
    /// `0x03`, compression, schema version UUID, payload.
    Glue,
    /// Either, as the first byte says: for an offline schema directory that holds both kinds
    /// ([`super::dir::SchemaDir`]). A deployed function reads one registry.
    Any,
}

/// Bytes that start like the registry's framing but are not valid framing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadFraming(pub String);

/// A framed payload.
#[derive(Debug, PartialEq, Eq)]
pub struct Framed<'a> {
    /// The schema the payload was written with.
    pub schema: SchemaId,
    /// The payload, decompressed.
    pub payload: Cow<'a, [u8]>,
}

impl Framing {
    /// The schema a framed value refers to, without decompressing it; `None` when the bytes do
    /// not start with the framing's first byte (or are too short to hold its header).
    pub fn schema_id(self, bytes: &[u8]) -> Option<SchemaId> {
        match (self.of(bytes), bytes) {
            (Framing::Confluent, [CONFLUENT_MAGIC, a, b, c, d, ..]) => {
                Some(SchemaId::Confluent(u32::from_be_bytes([*a, *b, *c, *d])))
            }
            (Framing::Glue, [GLUE_HEADER_VERSION, _, rest @ ..]) if rest.len() >= 16 => {
                let mut uuid = [0; 16];
                uuid.copy_from_slice(&rest[..16]);
                Some(SchemaId::Glue(uuid))
            }
            _ => None,
        }
    }

    /// True when `bytes` start with the framing's first byte: they are meant to be framed, and
    /// are a dead letter if the rest is not valid.
    pub fn claims(self, bytes: &[u8]) -> bool {
        match self {
            Framing::Confluent => bytes.first() == Some(&CONFLUENT_MAGIC),
            Framing::Glue => bytes.first() == Some(&GLUE_HEADER_VERSION),
            Framing::Any => Framing::Confluent.claims(bytes) || Framing::Glue.claims(bytes),
        }
    }

    /// The one framing `bytes` are in: `self`, or for [`Framing::Any`] the one their first byte
    /// names (Confluent when none does).
    pub fn of(self, bytes: &[u8]) -> Framing {
        match self {
            Framing::Any if Framing::Glue.claims(bytes) => Framing::Glue,
            Framing::Any => Framing::Confluent,
            one => one,
        }
    }

    /// Splits framed bytes into their schema and payload; `Ok(None)` when the bytes do not start
    /// with the framing's first byte.
    ///
    /// # Errors
    /// [`BadFraming`] when they do but the header is cut short, names an unknown compression, or
    /// the compressed payload is corrupt or decompresses past [`MAX_DECOMPRESSED`].
    pub fn split(self, bytes: &[u8]) -> Result<Option<Framed<'_>>, BadFraming> {
        if !self.claims(bytes) {
            return Ok(None);
        }
        let framing = self.of(bytes);
        let Some(schema) = framing.schema_id(bytes) else {
            return Err(BadFraming(format!(
                "{} byte(s) cannot hold the {} header",
                bytes.len(),
                framing.name()
            )));
        };
        let payload = match schema {
            SchemaId::Confluent(_) | SchemaId::ConfluentGuid(_) => Cow::Borrowed(&bytes[5..]),
            SchemaId::Glue(_) => match bytes[1] {
                GLUE_UNCOMPRESSED => Cow::Borrowed(&bytes[18..]),
                GLUE_ZLIB => Cow::Owned(inflate(&bytes[18..])?),
                other => {
                    return Err(BadFraming(format!(
                        "unknown Glue compression byte {other:#04x} (0x00 none, 0x05 zlib)"
                    )));
                }
            },
        };
        Ok(Some(Framed { schema, payload }))
    }

    /// The registry's name in messages: `confluent`, `glue`.
    pub fn registry(self) -> &'static str {
        match self {
            Framing::Confluent => "confluent",
            Framing::Glue => "glue",
            Framing::Any => "confluent or glue",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Framing::Confluent => "Confluent",
            Framing::Glue => "Glue",
            Framing::Any => "Confluent or Glue",
        }
    }
}

/// Inflates a zlib stream, refusing one that decompresses past [`MAX_DECOMPRESSED`].
fn inflate(compressed: &[u8]) -> Result<Vec<u8>, BadFraming> {
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(MAX_DECOMPRESSED));
    let mut decoder = flate2::read::ZlibDecoder::new(compressed).take(MAX_DECOMPRESSED as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| BadFraming(format!("the zlib payload is corrupt: {e}")))?;
    if out.len() > MAX_DECOMPRESSED {
        return Err(BadFraming(format!(
            "the zlib payload decompresses to more than {MAX_DECOMPRESSED} bytes"
        )));
    }
    let decoder = decoder.into_inner();
    if decoder.total_in() != compressed.len() as u64 {
        return Err(BadFraming(format!(
            "{} byte(s) follow the zlib stream",
            compressed.len() as u64 - decoder.total_in()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn any_framing_follows_the_first_byte() {
        let confluent = Framing::Any.split(&[0, 0, 0, 1, 2, b'x']).unwrap().unwrap();
        assert_eq!(confluent.schema, SchemaId::Confluent(258));
        assert_eq!(&*confluent.payload, b"x");
        let mut glue = vec![3, 0];
        glue.extend_from_slice(&[7; 16]);
        glue.push(b'y');
        let framed = Framing::Any.split(&glue).unwrap().unwrap();
        assert_eq!(framed.schema, SchemaId::Glue([7; 16]));
        assert_eq!(&*framed.payload, b"y");
        assert_eq!(Framing::Any.split(b"{}").unwrap(), None);
        assert!(Framing::Any.split(&[3, 0, 1]).is_err());
        assert!(!Framing::Confluent.claims(&glue) && !Framing::Glue.claims(&[0]));
    }

    #[test]
    fn confluent_framing() {
        let framed = Framing::Confluent
            .split(&[0, 0, 0, 1, 2, b'x'])
            .unwrap()
            .unwrap();
        assert_eq!(framed.schema, SchemaId::Confluent(258));
        assert_eq!(&*framed.payload, b"x");
        assert_eq!(Framing::Confluent.split(b"{\"a\":1}").unwrap(), None);
        assert!(Framing::Confluent.split(&[0, 0, 1]).is_err());
    }

    #[test]
    fn schema_id_headers_as_confluent_writes_them() {
        let guid = [9u8; 16];
        let header = [&[1u8][..], &guid, &[2, 2]].concat();
        assert_eq!(
            header_schema_id(&header).unwrap(),
            (SchemaId::ConfluentGuid(guid), &[2u8, 2][..])
        );
        assert_eq!(
            header_schema_id(&[0, 0, 0, 1, 2]).unwrap(),
            (SchemaId::Confluent(258), &[][..])
        );
        for bad in [&[][..], &[1, 2, 3], &[0, 1], &[7, 0, 0, 0, 1]] {
            assert!(header_schema_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn glue_framing_plain_and_zlib() {
        let uuid = [7u8; 16];
        let plain = [&[3, 0][..], &uuid, b"payload"].concat();
        let framed = Framing::Glue.split(&plain).unwrap().unwrap();
        assert_eq!(framed.schema, SchemaId::Glue(uuid));
        assert_eq!(&*framed.payload, b"payload");
        let compressed = [&[3, 5][..], &uuid, &zlib(b"payload")].concat();
        assert_eq!(
            &*Framing::Glue.split(&compressed).unwrap().unwrap().payload,
            b"payload"
        );
        assert!(Framing::Glue.split(&[&[3, 9][..], &uuid].concat()).is_err());
        assert!(Framing::Glue.split(&[3, 0, 1]).is_err());
    }

    #[test]
    fn corrupt_and_bomb_zlib_payloads_are_refused() {
        let uuid = [1u8; 16];
        let corrupt = [&[3, 5][..], &uuid, b"not zlib at all"].concat();
        assert!(
            Framing::Glue
                .split(&corrupt)
                .unwrap_err()
                .0
                .contains("corrupt")
        );
        let bomb = zlib(&vec![0; MAX_DECOMPRESSED + 1]);
        assert!(bomb.len() < 64 * 1024, "a small record");
        let framed = [&[3, 5][..], &uuid, &bomb].concat();
        assert!(
            Framing::Glue
                .split(&framed)
                .unwrap_err()
                .0
                .contains("more than")
        );
        let mut truncated = [&[3, 5][..], &uuid, &zlib(b"payload")].concat();
        truncated.truncate(truncated.len() - 3);
        assert!(Framing::Glue.split(&truncated).is_err());
    }
}
