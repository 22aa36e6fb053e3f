//! Registry framing: Confluent's prefix and schema-id headers, Glue's header, compression byte
//! and zlib stream. Checks, besides "no panic": `split` agrees with `claims` and `schema_id`; a
//! Confluent payload is the bytes after the 5-byte prefix; a Glue payload is the bytes after the
//! 18-byte header or their inflation, never past the decompression bound (run with
//! `-rss_limit_mb` and `-malloc_limit_mb`: a zip bomb must be refused, not inflated).
#![no_main]

use kafka_claim_check::decode::registry::framing::{MAX_DECOMPRESSED, header_schema_id};
use kafka_claim_check::decode::registry::{Framing, SchemaId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((id, indexes)) = header_schema_id(data) {
        assert!(matches!(
            id,
            SchemaId::Confluent(_) | SchemaId::ConfluentGuid(_)
        ));
        assert!(indexes.len() < data.len());
    }
    for framing in [Framing::Confluent, Framing::Glue, Framing::Any] {
        let split = framing.split(data);
        if !framing.claims(data) {
            assert!(matches!(split, Ok(None)));
            continue;
        }
        match split {
            Ok(None) => panic!("claimed bytes were not split"),
            Ok(Some(framed)) => {
                assert_eq!(Some(framed.schema), framing.schema_id(data));
                assert!(framed.payload.len() <= MAX_DECOMPRESSED);
                match framed.schema {
                    SchemaId::Confluent(_) => assert_eq!(&*framed.payload, &data[5..]),
                    SchemaId::Glue(_) if data[1] == 0 => assert_eq!(&*framed.payload, &data[18..]),
                    SchemaId::Glue(_) => assert_eq!(data[1], 5, "only zlib inflates"),
                    SchemaId::ConfluentGuid(_) => panic!("a GUID comes from a header only"),
                }
            }
            Err(_) => {}
        }
    }
});
