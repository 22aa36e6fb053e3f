//! Fuzzes the request decoder and the whole pipeline with an in-memory store. The first byte
//! picks the limits and mode, the rest is the request body. Checks, besides "no panic", the
//! invariants that hold for every accepted request: one event per record, each one the target
//! accepts (`accept::check_event`: size, UTF-8, integer range, nesting, unique keys), the response
//! under 6 MB, and nothing stored but what the events point at.
#![no_main]

use std::sync::Arc;

use kafka_claim_check::Enricher;
use kafka_claim_check::Settings;
use kafka_claim_check::event::accept::check_event;
use kafka_claim_check::policy::{MAX_RESPONSE_BYTES, OffloadMode};
use kafka_claim_check::store::MemoryStore;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, body)) = data.split_first() else {
        return;
    };
    let settings = Settings {
        max_event_bytes: 8_192 << (knobs & 0x7),
        max_batch_bytes: usize::MAX / 4,
        envelope_reserve_bytes: if knobs & 0x8 != 0 { 0 } else { 1_024 },
        offload: if knobs & 0x10 != 0 {
            OffloadMode::Always
        } else {
            OffloadMode::Auto
        },
        keep_pointers: vec!["/a".into(), "/b/c".into()],
        ..Settings::default()
    };
    let store = Arc::new(MemoryStore::new("fuzz"));
    let enricher = Enricher::new(settings.clone(), store.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let Ok(out) = runtime.block_on(enricher.enrich(body, None)) else {
        return;
    };
    let records: Vec<&RawValue> =
        serde_json::from_slice(body).expect("accepted requests are arrays");
    let body = out.body();
    let events: Vec<&RawValue> = serde_json::from_slice(&body).expect("the response is JSON");
    assert_eq!(records.len(), events.len());
    assert!(out.body().len() <= MAX_RESPONSE_BYTES);
    for event in &events {
        assert_eq!(
            check_event(event.get().as_bytes(), settings.event_limits()),
            Ok(()),
            "the target rejects {}",
            event.get()
        );
    }
    for key in store.objects().keys() {
        assert!(
            key.starts_with("claim-check/payloads/")
                || key.starts_with("claim-check/dead-letters/")
        );
        assert!(
            !key.split('/')
                .any(|s| s.is_empty() || s == "." || s == ".."),
            "{key}"
        );
    }
});
