//! The registry decoder end to end: a one-record Pipes batch whose value (and, by the first
//! byte, key and schema-id header) come from the input, decoded with the schemas in
//! `events/schemas` (Confluent ids, a Glue version id, Protobuf imports; either framing), through
//! the whole pipeline with an in-memory store. Checks what the `enrich` target checks: one event,
//! one the target accepts; and that a value either decodes or is a dead letter with a registry
//! code, never a failed invocation (the schemas are all there).
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use kafka_claim_check::decode::Decoder;
use kafka_claim_check::decode::registry::dir::SchemaDir;
use kafka_claim_check::decode::registry::{Fields, RegistrySettings};
use kafka_claim_check::event::accept::check_event;
use kafka_claim_check::store::MemoryStore;
use kafka_claim_check::{Enricher, Settings};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

fn decoder() -> Arc<dyn Decoder> {
    static DECODER: OnceLock<Arc<dyn Decoder>> = OnceLock::new();
    DECODER
        .get_or_init(|| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/schemas");
            let settings = RegistrySettings {
                fields: Fields {
                    key: true,
                    value: true,
                },
                ..RegistrySettings::default()
            };
            Arc::new(SchemaDir::open(&dir).unwrap().decoder(&settings))
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    // Bits 0-1: the value alone, the value after a schema-id header of up to 40 bytes, or
    // key and value halves.
    let (key, header, value) = match knobs & 3 {
        1 if !rest.is_empty() => {
            let n = (rest[0] as usize % 41).min(rest.len() - 1);
            (None, Some(&rest[1..1 + n]), &rest[1 + n..])
        }
        2 => {
            let (k, v) = rest.split_at(rest.len() / 2);
            (Some(k), None, v)
        }
        _ => (None, None, rest),
    };
    let headers = match header {
        Some(h) => format!(
            "[{{\"__value_schema_id\":[{}]}}]",
            h.iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => "[]".into(),
    };
    let body = format!(
        "[{{\"topic\":\"t\",\"partition\":0,\"offset\":1,\"key\":{},\"value\":\"{}\",\"headers\":{headers}}}]",
        key.map(|k| format!("\"{}\"", b64(k)))
            .unwrap_or("null".into()),
        b64(value)
    );
    let settings = Settings {
        max_event_bytes: 8_192 << ((knobs >> 2) & 0x7),
        ..Settings::default()
    };
    let store = Arc::new(MemoryStore::new("fuzz"));
    let enricher = Enricher::with_decoder(settings.clone(), store, decoder());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let out = runtime
        .block_on(enricher.enrich(body.as_bytes(), None))
        .expect("a batch of one well-formed record is never a failed invocation");
    let body = out.body();
    let events: Vec<&RawValue> = serde_json::from_slice(&body).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        check_event(events[0].get().as_bytes(), settings.event_limits()),
        Ok(()),
        "the target rejects {}",
        events[0].get()
    );
});
