//! Registry-framed values end to end against real registry APIs: records serialized by the
//! registries' own serializers (confluent-kafka's Avro and JSON Schema serializers against a
//! Confluent-API server; AWS's Glue serializer against moto in server mode), decoded through the
//! production clients, checked against fastavro's reading of the same datums.

mod common;

use std::sync::Arc;

use common::registry::{ConfluentRegistry, Moto, Produced, assert_decoded, batch, produce};
use kafka_claim_check::consume::{Allowlist, Resolver};
use kafka_claim_check::decode::registry::confluent::ConfluentSource;
use kafka_claim_check::decode::registry::glue::GlueSource;
use kafka_claim_check::decode::registry::{Credentials, Fields};
use kafka_claim_check::decode::registry::{Framing, RegistryDecoder};
use kafka_claim_check::store::MemoryStore;
use kafka_claim_check::{EnrichError, Enricher, Settings};
use serde_json::Value;

fn confluent_decoder(registry: &ConfluentRegistry, fields: Fields) -> Arc<RegistryDecoder> {
    confluent_decoder_with(registry, fields, None)
}

fn confluent_decoder_with(
    registry: &ConfluentRegistry,
    fields: Fields,
    credentials: Option<Credentials>,
) -> Arc<RegistryDecoder> {
    let source = ConfluentSource::new(vec![registry.url.clone()], credentials).unwrap();
    Arc::new(RegistryDecoder::new(
        Arc::new(source),
        Framing::Confluent,
        fields,
    ))
}

async fn glue_decoder(endpoint: &str) -> Arc<RegistryDecoder> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    Arc::new(RegistryDecoder::new(
        Arc::new(GlueSource::new(&config)),
        Framing::Glue,
        Fields::default(),
    ))
}

/// A pipeline for a Lambda target (no count limit, 6 MB), so one batch holds every record.
fn enricher(decoder: Arc<RegistryDecoder>) -> (Enricher, Arc<MemoryStore>) {
    let settings =
        Settings::from_lookup(|name| (name == "CLAIM_CHECK_TARGET").then(|| "lambda".into()))
            .unwrap();
    common::memory_enricher(settings, decoder)
}

fn request(records: &[Produced]) -> Vec<u8> {
    batch(
        records
            .iter()
            .map(|r| (r.topic.as_str(), r.key.as_deref(), r.value.as_slice())),
    )
}

async fn events(enricher: &Enricher, body: &[u8]) -> Vec<Value> {
    let enriched = enricher
        .enrich(body, None)
        .await
        .expect("the batch enriches");
    serde_json::from_slice(&enriched.body).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn confluent_avro_and_json_schema_values_are_decoded_once_per_schema() {
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    let small: Vec<Produced> = produced.iter().filter(|p| !p.large).cloned().collect();
    registry.reset();
    let decoder = confluent_decoder(&registry, Fields::default());
    let (enricher, _) = enricher(decoder.clone());
    let body = request(&small);
    let first = events(&enricher, &body).await;
    assert_decoded(&small, &first, "confluent");
    // An Avro record's name and a JSON Schema's title name the schema.
    assert_eq!(first[0]["valueSchema"]["name"], "com.example.orders.Order");
    let shipments = small.iter().position(|p| p.topic == "shipments").unwrap();
    assert_eq!(first[shipments]["valueSchema"]["name"], "Shipment");
    // Keys were not asked for: shown as plain bytes, whatever their framing.
    assert_eq!(first[0]["keyEncoding"], "base64", "{}", first[0]);
    // A second batch and a third: no more requests, one per schema id in all.
    events(&enricher, &body).await;
    events(&enricher, &body).await;
    let mut ids: Vec<u64> = small.iter().map(|p| p.schema.as_u64().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        5,
        "Order, Shipped, string, Shipment and shop.proto"
    );
    for id in ids {
        let route = format!("GET /schemas/ids/{id}");
        assert_eq!(registry.requests(&route), 1, "id {id}");
    }
    // Shipped refers to Party, which refers to Address: each fetched once, by subject and version.
    let shipped = small.iter().position(|p| p.topic == "shipped").unwrap();
    assert_eq!(
        first[shipped]["valueSchema"]["name"],
        "com.example.orders.Shipped"
    );
    assert_eq!(registry.requests("GET /subjects/party/versions/1"), 1);
    assert_eq!(registry.requests("GET /subjects/address/versions/1"), 1);
    // Each schema compiled once, whatever the number of batches.
    assert_eq!(decoder.schemas_compiled(), 5);
    // shop.proto imports party.proto, which imports address.proto: the same, by file name.
    assert_eq!(registry.requests("GET /subjects/party.proto/versions/1"), 1);
    assert_eq!(
        registry.requests("GET /subjects/address.proto/versions/1"),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_batches_share_one_request_per_schema() {
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    let small: Vec<Produced> = produced.into_iter().filter(|p| !p.large).collect();
    registry.reset();
    registry.delay(0.5);
    let (enricher, _) = enricher(confluent_decoder(&registry, Fields::default()));
    let body = request(&small);
    let runs = futures::future::join_all((0..4).map(|_| events(&enricher, &body))).await;
    for run in &runs {
        assert_decoded(&small, run, "confluent");
    }
    let id = small[0].schema.as_u64().unwrap();
    assert_eq!(registry.requests(&format!("GET /schemas/ids/{id}")), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_decoded_when_asked_for() {
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    let keyed: Vec<Produced> = produced
        .into_iter()
        .filter(|p| p.expected_key.is_some())
        .collect();
    let fields = Fields {
        key: true,
        value: true,
    };
    let (enricher, _) = enricher(confluent_decoder(&registry, fields));
    let events = events(&enricher, &request(&keyed)).await;
    for (p, event) in keyed.iter().zip(&events) {
        assert_eq!(event["keyEncoding"], "avro", "{event}");
        assert_eq!(&event["key"], p.expected_key.as_ref().unwrap());
        assert_eq!(&event["keySchema"]["id"], p.key_schema.as_ref().unwrap());
        assert_eq!(event["valueEncoding"], "avro");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_schemas_and_bad_bytes_are_dead_letters_and_the_batch_goes_on() {
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    let good = &produced[0];
    let unknown = [&[0u8, 0, 0, 0x27, 0x0f][..], &good.value[5..]].concat(); // id 9999
    let truncated = good.value[..good.value.len() - 3].to_vec();
    let short = vec![0u8, 0, 1];
    let body = batch([
        ("orders", None, good.value.as_slice()),
        ("orders", None, unknown.as_slice()),
        ("orders", None, truncated.as_slice()),
        ("orders", None, short.as_slice()),
        ("orders", None, b"{\"plain\":true}".as_slice()),
    ]);
    let (enricher, store) = enricher(confluent_decoder(&registry, Fields::default()));
    let events = events(&enricher, &body).await;
    assert_eq!(events[0]["valueEncoding"], "avro");
    assert_eq!(
        events[1]["error"]["code"], "schema-not-found",
        "{}",
        events[1]
    );
    assert!(
        events[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("9999")
    );
    assert_eq!(
        events[2]["error"]["code"], "deserialization-error",
        "{}",
        events[2]
    );
    assert_eq!(
        events[3]["error"]["code"], "deserialization-error",
        "{}",
        events[3]
    );
    assert_eq!(
        events[4]["valueEncoding"], "json",
        "unframed values as before"
    );
    // Dead letters keep the raw records.
    let dead: Vec<_> = store
        .objects()
        .into_values()
        .filter(|o| o.metadata.get("kind").map(String::as_str) == Some("dead-letter"))
        .collect();
    assert_eq!(dead.len(), 3);
    // A schema not found is asked for again by the next batch (it may be registered since).
    events_ok(&enricher, &body).await;
    assert_eq!(registry.requests("GET /schemas/ids/9999"), 2);
}

async fn events_ok(enricher: &Enricher, body: &[u8]) {
    enricher.enrich(body, None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unavailable_registry_fails_the_invocation_and_a_retry_succeeds() {
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    let good = &produced[0];
    let id = good.schema.as_u64().unwrap();
    let body = batch([("orders", None, good.value.as_slice())]);
    let (enricher, _) = enricher(confluent_decoder(&registry, Fields::default()));
    registry.reset();
    // Every attempt answered 503: the invocation fails (Pipes retries the batch).
    registry.fail(503, 3, "/schemas/ids/");
    let err = enricher.enrich(&body, None).await.unwrap_err();
    assert!(matches!(err, EnrichError::Decode(_)), "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(
        registry.requests(&format!("GET /schemas/ids/{id}")),
        3,
        "bounded retries"
    );
    // One 429, then an answer: retried within the invocation.
    registry.fail(429, 1, "/schemas/ids/");
    let events = events(&enricher, &body).await;
    assert_eq!(events[0]["valueEncoding"], "avro");
    assert_eq!(registry.requests(&format!("GET /schemas/ids/{id}")), 5);
    // A registry that does not answer in time fails the invocation before its deadline.
    let (slow, _) = self::enricher(confluent_decoder(&registry, Fields::default()));
    registry.delay(3.0);
    let started = std::time::Instant::now();
    let deadline = started + std::time::Duration::from_millis(2_500);
    let err = slow.enrich(&body, Some(deadline)).await.unwrap_err();
    assert!(err.to_string().contains("deadline"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_millis(2_500));
    registry.delay(0.0);
    // Nothing reachable at all.
    let closed = ConfluentSource::new(vec!["http://127.0.0.1:9".into()], None).unwrap();
    let unreachable = Enricher::with_decoder(
        Settings::default(),
        Arc::new(MemoryStore::new("claims")),
        Arc::new(RegistryDecoder::new(
            Arc::new(closed),
            Framing::Confluent,
            Fields::default(),
        )),
    );
    let err = unreachable.enrich(&body, None).await.unwrap_err();
    assert!(matches!(err, EnrichError::Decode(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_as_confluent_clients_send_it() {
    let registry = ConfluentRegistry::start(Some("KEY:SECRET"));
    let produced = produce(&["confluent", &registry.url, "KEY:SECRET"]);
    let body = batch([("orders", None, produced[0].value.as_slice())]);
    let (anonymous, _) = enricher(confluent_decoder(&registry, Fields::default()));
    let err = anonymous.enrich(&body, None).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert!(err.to_string().contains("USER_INFO"), "{err}");
    let (authorized, _) = enricher(confluent_decoder_with(
        &registry,
        Fields::default(),
        Credentials::parse("KEY:SECRET"),
    ));
    let events = events(&authorized, &body).await;
    assert_eq!(events[0]["valueEncoding"], "avro");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_avro_value_is_claim_checked_as_the_original_bytes_and_resolves_to_its_json() {
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    let large = produced.iter().find(|p| p.large).unwrap();
    let decoder = confluent_decoder(&registry, Fields::default());
    let store = Arc::new(MemoryStore::new("claims"));
    let settings = Settings {
        keep_pointers: vec!["/orderType".into(), "/customer/id".into()],
        ..Settings::default()
    };
    let enricher = Enricher::with_decoder(settings, store.clone(), decoder.clone());
    let events = events(
        &enricher,
        &batch([("orders", None, large.value.as_slice())]),
    )
    .await;
    let event = &events[0];
    let claim = &event["claimCheck"];
    assert_eq!(claim["valueEncoding"], "avro", "{event}");
    assert_eq!(claim["valueSchema"]["id"], large.schema);
    assert_eq!(claim["contentType"], "application/octet-stream");
    // Routing fields kept from the decoded JSON.
    assert_eq!(
        event["value"]["orderType"],
        large.expected_value["orderType"]
    );
    assert_eq!(
        event["value"]["customer"]["id"],
        large.expected_value["customer"]["id"]
    );
    // The object is the record's bytes, framing included.
    let object = store.objects().into_values().next().unwrap();
    assert_eq!(&object.body[..], &large.value[..]);
    // Resolved, then decoded: the JSON an inline event would carry.
    let resolver = Resolver::new(store.clone(), Allowlist::new(["claims"]));
    let mut resolved = resolver.resolve(&event.to_string()).await.unwrap();
    assert_eq!(resolved.bytes.as_deref(), Some(&large.value[..]));
    resolved.decode_registry_value(&decoder).await.unwrap();
    assert!(resolved.decoded);
    let json: Value = serde_json::from_slice(resolved.bytes.as_deref().unwrap()).unwrap();
    assert!(common::json_equivalent(&json, &large.expected_value));
}

#[tokio::test(flavor = "multi_thread")]
async fn glue_avro_plain_and_zlib_and_json_schema_values_are_decoded() {
    let moto = Moto::start();
    let produced = produce(&["glue", &moto.endpoint]);
    assert!(produced.iter().any(|p| p.value[1] == 5), "zlib records");
    let (enricher, _) = enricher(glue_decoder(&moto.endpoint).await);
    let events = events(&enricher, &request(&produced)).await;
    assert_decoded(&produced, &events, "glue");
    let schema = &events[0]["valueSchema"];
    assert_eq!(schema["registryName"], "claim-check-tests", "{schema}");
    assert_eq!(schema["schemaName"], "orders-value", "{schema}");
    assert_eq!(schema["versionNumber"], 1, "{schema}");
    // An unknown version id is a dead letter; a zip bomb and a corrupt stream too.
    let mut unknown = produced[0].value.clone();
    unknown[2..18].copy_from_slice(&[0x42; 16]);
    let bomb = {
        use std::io::Write as _;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 64 << 20]).unwrap();
        [
            &produced[0].value[..2],
            &produced[0].value[2..18],
            &z.finish().unwrap(),
        ]
        .concat()
    };
    let mut bomb = bomb;
    bomb[1] = 5;
    let mut corrupt = produced[1].value.clone();
    let end = corrupt.len();
    corrupt[end - 6..].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0, 0]);
    let body = batch([
        ("orders", None, unknown.as_slice()),
        ("orders", None, bomb.as_slice()),
        ("orders", None, corrupt.as_slice()),
    ]);
    let events = self::events(&enricher, &body).await;
    assert_eq!(
        events[0]["error"]["code"], "schema-not-found",
        "{}",
        events[0]
    );
    assert_eq!(
        events[1]["error"]["code"], "deserialization-error",
        "{}",
        events[1]
    );
    assert!(
        events[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than")
    );
    assert_eq!(
        events[2]["error"]["code"], "deserialization-error",
        "{}",
        events[2]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_glue_endpoint_fails_the_invocation() {
    let moto = Moto::start();
    let produced = produce(&["glue", &moto.endpoint]);
    let endpoint = moto.endpoint.clone();
    drop(moto);
    let (enricher, _) = enricher(glue_decoder(&endpoint).await);
    let body = batch([("orders", None, produced[0].value.as_slice())]);
    let err = enricher.enrich(&body, None).await.unwrap_err();
    assert!(matches!(err, EnrichError::Decode(_)), "{err}");
    assert!(err.to_string().contains("GetSchemaVersion"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn protobuf_failures_are_dead_letters_by_cause() {
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    let ack = produced
        .iter()
        .find(|p| p.message.as_ref().is_some_and(|m| m == "shop.v1.Ack"))
        .unwrap();
    let id = ack.schema.as_u64().unwrap() as u32;
    // The Ack's message bytes after its indexes (count 1, index 2: 0x02 0x04).
    assert_eq!(&ack.value[5..7], &[0x02, 0x04]);
    let message = &ack.value[7..];
    let framed = |id: u32, indexes: &[u8], bytes: &[u8]| {
        [&[0u8][..], &id.to_be_bytes(), indexes, bytes].concat()
    };
    let out_of_range = framed(id, &[0x02, 0x12], message); // index 9
    let nested_out_of_range = framed(id, &[0x04, 0x02, 0x12], message); // [1, 9]
    let truncated = framed(id, &[0x02, 0x04], &[0x0a, 0x7f, b'o']);
    let wrong_wire_type = framed(id, &[0x02, 0x04], &[0x0f]);
    let missing_reference = registry.register(
        "broken-ref",
        serde_json::json!({
            "schemaType": "PROTOBUF",
            "schema": "syntax = \"proto3\"; import \"gone.proto\"; message A { Gone g = 1; }",
            "references": [{"name": "gone.proto", "subject": "gone.proto", "version": 1}],
        }),
    ) as u32;
    let does_not_compile = registry.register(
        "broken-proto",
        serde_json::json!({"schemaType": "PROTOBUF", "schema": "syntax = \"proto3\"; message A { Missing m = 1; }"}),
    ) as u32;
    let body = batch([
        ("p", None, ack.value.as_slice()),
        ("p", None, out_of_range.as_slice()),
        ("p", None, nested_out_of_range.as_slice()),
        ("p", None, truncated.as_slice()),
        ("p", None, wrong_wire_type.as_slice()),
        ("p", None, &framed(missing_reference, &[0], b"")),
        ("p", None, &framed(does_not_compile, &[0], b"")),
    ]);
    let (enricher, _) = enricher(confluent_decoder(&registry, Fields::default()));
    let events = events(&enricher, &body).await;
    assert_eq!(events[0]["valueEncoding"], "protobuf");
    assert_eq!(events[0]["valueSchema"]["message"], "shop.v1.Ack");
    for (i, code) in [
        (1, "deserialization-error"),
        (2, "deserialization-error"),
        (3, "deserialization-error"),
        (4, "deserialization-error"),
        (5, "schema-not-found"),
        (6, "deserialization-error"),
    ] {
        assert_eq!(events[i]["error"]["code"], code, "{}", events[i]);
    }
    assert!(
        events[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("out of range")
    );
    assert!(
        events[6]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not compile")
    );
}
