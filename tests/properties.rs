//! Property tests: generated batches of valid and broken records, random limits and modes. On every
//! run the pipeline's promises hold: no panic; exactly one event per record, in order; every event
//! and the batch within their limits; every claim check resolves to the original bytes; every
//! broken record is a dead letter holding the raw record exactly as received; every event is one
//! the target accepts (`accept::check_event`).

mod common;

use std::sync::Arc;

use common::{Form, form_of, inline_bytes};
use kafka_claim_check::Enricher;
use kafka_claim_check::Settings;
use kafka_claim_check::consume::{Allowlist, Resolver};
use kafka_claim_check::event::accept::check_event;
use kafka_claim_check::policy::OffloadMode;
use kafka_claim_check::store::MemoryStore;
use proptest::prelude::*;
use serde_json::{Value, json};

/// One way to break a record, and the `error.code` it must produce.
#[derive(Clone, Debug)]
enum Breakage {
    BadBase64Value,
    BadBase64Key,
    MissingOffset,
    NegativeOffset,
    StringOffset,
    MissingTopic,
    IllegalTopic(String),
    PartitionNotANumber,
    HeaderByteOutOfRange,
    HeadersNotAnArray,
    ValueNotAString,
    TimestampNotAnInteger,
}

impl Breakage {
    fn code(&self) -> &'static str {
        match self {
            Breakage::BadBase64Value | Breakage::BadBase64Key => "invalid-base64",
            Breakage::MissingOffset | Breakage::MissingTopic => "missing-field",
            Breakage::IllegalTopic(_) => "invalid-topic",
            Breakage::HeaderByteOutOfRange | Breakage::HeadersNotAnArray => "invalid-header",
            _ => "invalid-field",
        }
    }

    fn apply(&self, record: &mut Value) {
        let fields = record.as_object_mut().unwrap();
        match self {
            Breakage::BadBase64Value => _ = fields.insert("value".into(), json!("not*base64")),
            Breakage::BadBase64Key => _ = fields.insert("key".into(), json!("%%%")),
            Breakage::MissingOffset => _ = fields.remove("offset"),
            Breakage::NegativeOffset => _ = fields.insert("offset".into(), json!(-5)),
            Breakage::StringOffset => _ = fields.insert("offset".into(), json!("12")),
            Breakage::MissingTopic => _ = fields.remove("topic"),
            Breakage::IllegalTopic(t) => _ = fields.insert("topic".into(), json!(t)),
            Breakage::PartitionNotANumber => _ = fields.insert("partition".into(), json!("zero")),
            Breakage::HeaderByteOutOfRange => {
                _ = fields.insert("headers".into(), json!([{"h": [1, 300]}]))
            }
            Breakage::HeadersNotAnArray => _ = fields.insert("headers".into(), json!({"h": [1]})),
            Breakage::ValueNotAString => _ = fields.insert("value".into(), json!({"nested": true})),
            Breakage::TimestampNotAnInteger => {
                _ = fields.insert("timestamp".into(), json!("yesterday"))
            }
        }
    }
}

fn breakage() -> impl Strategy<Value = Breakage> {
    prop_oneof![
        Just(Breakage::BadBase64Value),
        Just(Breakage::BadBase64Key),
        Just(Breakage::MissingOffset),
        Just(Breakage::NegativeOffset),
        Just(Breakage::StringOffset),
        Just(Breakage::MissingTopic),
        prop_oneof![
            Just("a/b".to_string()),
            Just("..".to_string()),
            Just("../../etc/passwd".to_string()),
            Just("t\u{0}x".to_string()),
            Just("caf\u{e9}".to_string()),
            Just("x".repeat(250)),
            Just(String::new()),
        ]
        .prop_map(Breakage::IllegalTopic),
        Just(Breakage::PartitionNotANumber),
        Just(Breakage::HeaderByteOutOfRange),
        Just(Breakage::HeadersNotAnArray),
        Just(Breakage::ValueNotAString),
        Just(Breakage::TimestampNotAnInteger),
    ]
}

/// Payloads of every kind.
fn payload() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Vec::new())),
        3 => "[a-z ]{0,64}".prop_map(|s| Some(s.into_bytes())),
        3 => (0usize..3000, "[a-z]{1,8}").prop_map(|(n, k)| Some(format!("{{\"{k}\":\"{}\",\"n\":{n}}}", "x".repeat(n)).into_bytes())),
        2 => prop::collection::vec(any::<u8>(), 0..2048).prop_map(Some),
        1 => Just(Some(vec![0xff, 0xfe, 0x00, 0x41])),
        1 => (10_000usize..400_000).prop_map(|n| Some(vec![b'z'; n])),
        1 => (1usize..100_000).prop_map(|n| Some(format!("[{}1]", "1,".repeat(n)).into_bytes())),
        2 => json_numbers().prop_map(Some),
        // U+FFFF raw in text, and escaped in JSON whose field a claim check keeps (`/n`).
        1 => (0usize..300_000).prop_map(|n| Some(format!("x\u{FFFF}{}", "y".repeat(n)).into_bytes())),
        1 => (0usize..300_000).prop_map(|n| Some(format!("{{\"n\":\"\\uffff\",\"pad\":\"{}\"}}", "p".repeat(n)).into_bytes())),
        1 => (1usize..300).prop_map(|depth| Some(format!("{}0{}", "[".repeat(depth), "]".repeat(depth)).into_bytes())),
    ]
}

/// JSON documents whose numbers are near and beyond the range PutEvents accepts.
fn json_numbers() -> impl Strategy<Value = Vec<u8>> {
    let number = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i128>().prop_map(|n| n.to_string()),
        (i64::MAX as i128 - 2..=i64::MAX as i128 + 2).prop_map(|n| n.to_string()),
        (i64::MIN as i128 - 2..=i64::MIN as i128 + 2).prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        Just("100000000000000000000000000000000".to_string()),
    ];
    prop::collection::vec(number, 1..4)
        .prop_map(|ns| format!("{{\"id\":{},\"list\":[{}]}}", ns[0], ns.join(",")).into_bytes())
}

/// Keys as Kafka producers write them: ids, JSON scalars, JSON objects, binary.
fn key() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Some),
        "0|[1-9][0-9]{0,24}|0[0-9]{1,5}|-?[0-9]\\.[0-9]|true|null|\"[a-z]{0,6}\""
            .prop_map(|k| Some(k.into_bytes())),
        (any::<u32>(), "[a-z]{1,6}")
            .prop_map(|(n, s)| Some(format!("{{\"id\":{n},\"s\":\"{s}\"}}").into_bytes())),
    ]
}

#[derive(Clone, Debug)]
struct Spec {
    topic: String,
    partition_as_string: bool,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>, bool)>,
    breakage: Option<Breakage>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        "[a-zA-Z0-9._-]{1,40}".prop_filter("not . or ..", |t| t != "." && t != ".."),
        any::<bool>(),
        0i32..1000,
        0i64..=i64::MAX,
        key(),
        payload(),
        prop::collection::vec(
            (
                prop_oneof![
                    Just("a".to_string()),
                    Just("trace".to_string()),
                    "[a-z]{1,5}"
                ],
                prop_oneof![
                    Just(None),
                    prop::collection::vec(any::<u8>(), 0..20).prop_map(Some),
                    "[0-9]{1,22}|\\{\"n\":[0-9]{1,22}\\}".prop_map(|v| Some(v.into_bytes())),
                ],
                any::<bool>(),
            ),
            0..6,
        ),
        prop::option::weighted(0.25, breakage()),
    )
        .prop_map(
            |(topic, partition_as_string, partition, offset, key, value, headers, breakage)| Spec {
                topic,
                partition_as_string,
                partition,
                offset,
                key,
                value,
                headers,
                breakage,
            },
        )
}

fn record_json(spec: &Spec) -> Value {
    let b64 = |b: &Vec<u8>| common::to_b64(b);
    let headers: Vec<Value> = spec
        .headers
        .iter()
        .map(|(name, value, signed)| {
            let bytes = value.as_ref().map(|v| {
                v.iter()
                    .map(|&b| {
                        if *signed && b > 127 {
                            b as i64 - 256
                        } else {
                            b as i64
                        }
                    })
                    .collect::<Vec<_>>()
            });
            json!({ name.clone(): bytes })
        })
        .collect();
    let partition = if spec.partition_as_string {
        json!(spec.partition.to_string())
    } else {
        json!(spec.partition)
    };
    let mut record = common::record(&spec.topic, spec.partition, spec.offset)
        .field("eventSource", json!("aws:kafka"))
        .field("partition", partition)
        .field("timestamp", json!(1_700_000_000_000i64))
        .field("timestampType", json!("CREATE_TIME"))
        .field("key", json!(spec.key.as_ref().map(b64)))
        .field("value", json!(spec.value.as_ref().map(b64)))
        .field("headers", json!(headers))
        .json();
    if let Some(b) = &spec.breakage {
        b.apply(&mut record);
    }
    record
}

fn settings() -> impl Strategy<Value = (Settings, usize)> {
    (
        8_192usize..400_000,
        0usize..2048,
        any::<bool>(),
        prop::option::of(1usize..8),
    )
        .prop_map(|(max_event, reserve, always, concurrency)| {
            let settings = Settings {
                max_event_bytes: max_event,
                envelope_reserve_bytes: reserve.min(max_event / 2),
                offload: if always {
                    OffloadMode::Always
                } else {
                    OffloadMode::Auto
                },
                upload_concurrency: concurrency.unwrap_or(8),
                keep_pointers: vec!["/n".into()],
                ..Settings::default()
            };
            (settings, max_event)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_record_ends_in_exactly_one_form_within_every_limit(
        specs in prop::collection::vec(spec(), 0..16),
        (settings, _) in settings(),
        slack in prop_oneof![0usize..20_000, 0usize..2_000_000],
    ) {
        // A batch limit that every batch can meet (a dead letter is under 3 KB), and often
        // tighter than the events would need inline.
        let mut settings = settings;
        // A target that takes every batch generated here (16 records; an event bus takes 10)
        // and counts a request as the sum of its items, as the checks below do.
        settings.target = kafka_claim_check::policy::Target::Kinesis;
        settings.max_batch_bytes = (specs.len() * (3_072 + settings.envelope_reserve_bytes)).max(8_192) + slack;
        let records: Vec<Value> = specs.iter().map(record_json).collect();
        let body = serde_json::to_vec(&records).unwrap();
        let raw_records: Vec<&serde_json::value::RawValue> = serde_json::from_slice(&body).unwrap();

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let store = Arc::new(MemoryStore::new("prop-bucket"));
        let enricher = Enricher::new(settings.clone(), store.clone());
        let out = runtime.block_on(enricher.enrich(&body, None)).expect("a feasible batch never fails");
        let body = out.body();
        let raw_events: Vec<&serde_json::value::RawValue> = serde_json::from_slice(&body).unwrap();
        prop_assert_eq!(raw_events.len(), records.len());
        prop_assert!(out.body().len() <= kafka_claim_check::policy::MAX_RESPONSE_BYTES);

        let resolver = Resolver::new(store.clone(), Allowlist::new(["prop-bucket"]));
        let mut total = 0;
        for ((spec, raw_record), raw_event) in specs.iter().zip(&raw_records).zip(&raw_events) {
            let size = raw_event.get().len() + settings.envelope_reserve_bytes;
            prop_assert!(size <= settings.max_event_bytes, "event of {} > {}", size, settings.max_event_bytes);
            prop_assert_eq!(check_event(raw_event.get().as_bytes(), settings.event_limits()), Ok(()), "the target accepts {}", raw_event.get());
            total += size;
            let event: Value = serde_json::from_str(raw_event.get()).unwrap();
            let resolved = runtime.block_on(resolver.resolve(raw_event.get())).expect("every event resolves");
            match (&spec.breakage, form_of(&event)) {
                (Some(breakage), form) => {
                    prop_assert_eq!(form, Form::DeadLetter);
                    prop_assert_eq!(event["error"]["code"].as_str(), Some(breakage.code()), "{:?}", breakage);
                    prop_assert_eq!(resolved.bytes.as_deref(), Some(raw_record.get().as_bytes()));
                }
                (None, Form::DeadLetter) => {
                    // Only for size: a record whose key and headers alone overflow the limits.
                    let code = event["error"]["code"].as_str().unwrap();
                    prop_assert!(code == "event-too-large" || code == "batch-too-large", "{}", code);
                    prop_assert_eq!(resolved.bytes.as_deref(), Some(raw_record.get().as_bytes()));
                }
                (None, form) => {
                    prop_assert_eq!(event["topic"].as_str(), Some(spec.topic.as_str()));
                    prop_assert_eq!(event["partition"].as_i64(), Some(spec.partition as i64));
                    prop_assert_eq!(event["offset"].as_i64(), Some(spec.offset));
                    prop_assert_eq!(resolved.bytes.as_deref(), spec.value.as_deref());
                    if form == Form::Inline {
                        if let Some(v) = &spec.value && event["valueEncoding"] != "json" {
                            let shown = inline_bytes(&event["value"], &event["valueEncoding"]);
                            prop_assert_eq!(shown.as_ref(), Some(v));
                        }
                    } else {
                        prop_assert!(spec.value.is_some(), "tombstones are never claim-checked");
                    }
                    if settings.offload == OffloadMode::Always && spec.value.is_some() {
                        prop_assert_eq!(form, Form::ClaimCheck);
                    }
                    let headers = event["headers"].as_array().unwrap();
                    prop_assert_eq!(headers.len(), spec.headers.len(), "headers kept, duplicates and all");
                    // Keys and header values are JSON only as objects or arrays; else their bytes
                    // read back from the text or base64.
                    let shown = std::iter::once((&event["key"], &event["keyEncoding"], spec.key.as_ref()))
                        .chain(headers.iter().zip(event["headerEncodings"].as_array().unwrap()).zip(&spec.headers)
                            .map(|((h, e), (name, v, _))| (&h[name.as_str()], e, v.as_ref())));
                    for (value, encoding, bytes) in shown {
                        if encoding == "json" {
                            prop_assert!(value.is_object() || value.is_array(), "{} shown as JSON", value);
                        } else {
                            let read_back = inline_bytes(value, encoding);
                            prop_assert_eq!(read_back.as_ref(), bytes);
                        }
                    }
                }
            }
        }
        prop_assert!(total <= settings.max_batch_bytes, "batch of {} > {}", total, settings.max_batch_bytes);
        // Nothing is stored but what the events point at.
        let pointed: std::collections::BTreeSet<String> = raw_events
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e.get()).ok()?["claimCheck"]["key"].as_str().map(String::from))
            .collect();
        let stored: std::collections::BTreeSet<String> = store.objects().into_keys().collect();
        prop_assert_eq!(pointed, stored);
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let enricher = Enricher::new(Settings::default(), Arc::new(MemoryStore::new("b")));
        let _ = runtime.block_on(enricher.enrich(&body, None));
    }
}

/// Settings for `target`, read as the function reads them.
fn target_settings(target: &str) -> Settings {
    Settings::from_lookup(|name| (name == "CLAIM_CHECK_TARGET").then(|| target.to_string()))
        .unwrap()
}

/// Values from a few bytes to past every target's per-item limit.
fn target_payload() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        1 => Just(None),
        4 => (0usize..2_000).prop_map(|n| Some(format!("{{\"n\":\"{}\"}}", "x".repeat(n)).into_bytes())),
        2 => (2_000usize..60_000).prop_map(|n| Some(vec![b'y'; n])),
        1 => (200_000usize..1_200_000).prop_map(|n| Some(vec![b'z'; n])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// For every target, generated batches up to the target's maximum: every item and the request
    /// within what the target accepts (checked by `common::targets`, not by the code under test).
    #[test]
    fn every_target_gets_a_response_it_accepts(
        target in prop::sample::select(common::targets::TARGETS.to_vec()),
        payloads in prop::collection::vec(target_payload(), 1..=10),
        extra in 0usize..40,
    ) {
        let settings = target_settings(target);
        let max = common::targets::accepts(target).max_items.unwrap_or(usize::MAX);
        // Up to the target's maximum (10), or more where it takes more.
        let count = (payloads.len() + if max > 10 { extra } else { 0 }).min(max);
        let records: Vec<Value> = (0..count)
            .map(|i| {
                common::record("t", 0, i as i64).value_or_null(payloads[i % payloads.len()].as_ref()).json()
            })
            .collect();
        let body = serde_json::to_vec(&records).unwrap();
        // A 6 MB request is all Pipes sends.
        prop_assume!(body.len() <= 6 * 1_048_576);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let enricher = Enricher::new(settings.clone(), Arc::new(MemoryStore::new("b")));
        let out = runtime.block_on(enricher.enrich(&body, None)).expect("a batch within the target's maximum fits");
        common::targets::assert_accepted(target, &out.body());
        let body = out.body();
        let events: Vec<&serde_json::value::RawValue> = serde_json::from_slice(&body).unwrap();
        prop_assert_eq!(events.len(), count);
        for event in events {
            prop_assert_eq!(check_event(event.get().as_bytes(), settings.event_limits()), Ok(()));
        }
    }
}

/// The Kafka source's largest batch, 10,000 records, in one pass, for the targets that take it.
#[test]
fn ten_thousand_records_fit_a_target_that_takes_them() {
    for (target, value_len) in [
        ("lambda", 300),
        ("cloudwatch-logs", 20),
        ("step-functions", 20),
    ] {
        let records: Vec<Value> = (0..10_000)
            .map(|i| {
                common::record("t", i % 3, i as i64)
                    .value(vec![
                        b'a' + (i % 26) as u8;
                        if i % 10 == 0 {
                            10 * value_len
                        } else {
                            value_len
                        }
                    ])
                    .json()
            })
            .collect();
        let body = serde_json::to_vec(&records).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let enricher = Enricher::new(target_settings(target), Arc::new(MemoryStore::new("b")));
        match runtime.block_on(enricher.enrich(&body, None)) {
            Ok(out) => {
                common::targets::assert_accepted(target, &out.body());
                assert_eq!(out.summary.records, 10_000);
                // Lambda's 6 MB takes these 10,000 records only if the largest are claim-checked.
                if target == "lambda" {
                    assert!(
                        out.summary.offloaded > 0 && out.summary.inline > 0,
                        "{:?}",
                        out.summary.offloaded
                    );
                }
            }
            // 10,000 minimal events are more than 1 MiB of log events or 256 KiB of input:
            // the error says what to change.
            Err(err) => {
                assert_ne!(target, "lambda", "{err}");
                assert_eq!(err.error_type(), "BatchLimitExceeded", "{target}: {err}");
                assert!(err.to_string().contains("BatchSize"), "{err}");
            }
        }
    }
}
