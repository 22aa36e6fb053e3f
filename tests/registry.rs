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
    common::registry::produced_batch(records)
}

async fn events(enricher: &Enricher, body: &[u8]) -> Vec<Value> {
    let enriched = enricher
        .enrich(body, None)
        .await
        .expect("the batch enriches");
    serde_json::from_slice(&enriched.body()).unwrap()
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
    let mut ids: Vec<u64> = small.iter().filter_map(|p| p.schema.as_u64()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        6,
        "Order, Shipped, string, bytes, Shipment and shop.proto"
    );
    for id in ids {
        let route = format!("GET /schemas/ids/{id}");
        assert_eq!(registry.requests(&route), 1, "id {id}");
    }
    // Schemas named by GUID in a header (Order, shop.proto): fetched by GUID, once each.
    let mut guids: Vec<&str> = small.iter().filter_map(|p| p.schema.as_str()).collect();
    guids.sort_unstable();
    guids.dedup();
    assert_eq!(guids.len(), 2, "Order and shop.proto, by GUID");
    for guid in guids {
        assert_eq!(registry.requests(&format!("GET /schemas/guids/{guid}")), 1);
    }
    // Shipped refers to Party, which refers to Address: each fetched once, by subject and version.
    let shipped = small.iter().position(|p| p.topic == "shipped").unwrap();
    assert_eq!(
        first[shipped]["valueSchema"]["name"],
        "com.example.orders.Shipped"
    );
    assert_eq!(registry.requests("GET /subjects/party/versions/1"), 1);
    assert_eq!(registry.requests("GET /subjects/address/versions/1"), 1);
    // Each schema compiled once per id it is named by, whatever the number of batches.
    assert_eq!(decoder.schemas_compiled(), 8);
    // shop.proto imports party.proto, which imports address.proto: the same, by file name,
    // once for each name shop.proto goes by here (its id, and its GUID in a header).
    assert_eq!(registry.requests("GET /subjects/party.proto/versions/1"), 2);
    assert_eq!(
        registry.requests("GET /subjects/address.proto/versions/1"),
        2
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

/// Confluent's header-carried schema ids: a header that is no id is a dead letter of its own
/// code, and a record with a header naming a GUID the registry does not have is `schema-not-found`.
#[tokio::test(flavor = "multi_thread")]
async fn schema_id_headers_that_are_not_ids_are_dead_letters_of_their_own() {
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    let by_header = produced
        .iter()
        .find(|p| p.schema.is_string() && p.value_encoding == "avro")
        .unwrap()
        .clone();
    let mut bad_magic = by_header.clone();
    bad_magic.headers = vec![("__value_schema_id".into(), vec![7; 17])];
    let mut cut = by_header.clone();
    cut.headers = vec![("__value_schema_id".into(), vec![1, 2, 3])];
    let mut unknown = by_header.clone();
    unknown.headers = vec![(
        "__value_schema_id".into(),
        [&[1u8][..], &[0xab; 16]].concat(),
    )];
    // Java's DualSchemaIdDeserializer reads the last header of the name.
    let mut last_wins = by_header.clone();
    last_wins
        .headers
        .insert(0, ("__value_schema_id".into(), vec![7; 17]));
    let (enricher, store) = enricher(confluent_decoder(&registry, Fields::default()));
    let events = events(
        &enricher,
        &request(&[by_header, bad_magic, cut, unknown, last_wins]),
    )
    .await;
    assert_eq!(events[0]["valueEncoding"], "avro", "{}", events[0]);
    for event in &events[1..3] {
        assert_eq!(event["error"]["code"], "invalid-schema-id", "{event}");
    }
    assert_eq!(
        events[3]["error"]["code"], "schema-not-found",
        "{}",
        events[3]
    );
    assert!(
        events[3]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("abababab-abab-abab-abab-abababababab")
    );
    assert_eq!(events[4]["valueEncoding"], "avro", "{}", events[4]);
    assert_eq!(
        store.objects().len(),
        3,
        "the three dead letters' raw records"
    );
}

/// A schema the registry refuses to these credentials, while it serves them others, is a dead
/// letter (`schema-access-denied`): retrying cannot grant a permission. Credentials refused for
/// everything still fail the invocation, naming what to check.
#[tokio::test(flavor = "multi_thread")]
async fn a_schema_the_registry_refuses_is_a_dead_letter_credentials_refused_everywhere_fail() {
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    let order = produced[0].clone();
    let denied_id = order.schema.as_u64().unwrap();
    let shipment = produced
        .iter()
        .find(|p| p.topic == "shipments")
        .unwrap()
        .clone();
    registry.reset();
    registry.deny(&[denied_id], false);
    let (pipeline, store) = enricher(confluent_decoder(&registry, Fields::default()));
    let first = events(&pipeline, &request(&[order.clone(), shipment.clone()])).await;
    assert_eq!(
        first[0]["error"]["code"], "schema-access-denied",
        "{}",
        first[0]
    );
    assert!(
        first[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("403")
    );
    assert_eq!(first[1]["valueEncoding"], "jsonschema");
    let dead = store.objects().into_values().next().unwrap();
    assert_eq!(dead.metadata["error-code"], "schema-access-denied");
    // Once granted, the same record decodes (the refusal is not remembered).
    registry.deny(&[], false);
    let again = events(&pipeline, &request(std::slice::from_ref(&order))).await;
    assert_eq!(again[0]["valueEncoding"], "avro", "{}", again[0]);
    // Refused everything: not a dead letter, a failed invocation that Pipes retries.
    registry.deny(&[], true);
    let (enricher, _) = enricher(confluent_decoder(&registry, Fields::default()));
    let err = enricher.enrich(&request(&[order]), None).await.unwrap_err();
    assert!(matches!(err, EnrichError::Decode(_)), "{err}");
    assert!(err.to_string().contains("credentials"), "{err}");
}

/// Glue answers AccessDeniedException for a schema in a registry the function's role may not
/// read: a dead letter naming the ARN the service named. The answer comes from a stand-in for
/// the Glue endpoint (moto does not enforce IAM) in the service's wire form (awsJson1.1).
#[tokio::test(flavor = "multi_thread")]
async fn a_glue_schema_the_role_may_not_read_is_a_dead_letter() {
    let arn = "arn:aws:glue:us-east-1:123456789012:schema/default-registry/orders";
    let body = format!(
        r#"{{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::123456789012:assumed-role/fn/claim-check is not authorized to perform: glue:GetSchemaVersion on resource: {arn} because no identity-based policy allows the glue:GetSchemaVersion action"}}"#
    );
    let endpoint = common::answer_every_request(
        400,
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-ErrorType", "AccessDeniedException"),
        ],
        body.as_bytes(),
    );
    let value = [&[3u8, 0][..], &[0x5a; 16], b"\x02a"].concat();
    let (enricher, store) = enricher(glue_decoder(&endpoint).await);
    let events = events(&enricher, &batch([("orders", None, value.as_slice())])).await;
    assert_eq!(
        events[0]["error"]["code"], "schema-access-denied",
        "{}",
        events[0]
    );
    assert!(
        events[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains(arn),
        "{}",
        events[0]
    );
    assert_eq!(store.objects().len(), 1, "the raw record, for reemit");
}

/// `CLAIM_CHECK_OFFLOAD_DECODED=json`: a claim-checked Avro value is stored as the JSON it
/// decodes to, the claim check says so, and resolve gives that JSON without a registry.
#[tokio::test(flavor = "multi_thread")]
async fn offloaded_decoded_values_store_their_json() {
    use kafka_claim_check::store::object::StoredForm;
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    let large = produced.iter().find(|p| p.large).unwrap().clone();
    let settings = Settings {
        offload_decoded: StoredForm::Json,
        ..Settings::default()
    };
    let (enricher, store) =
        common::memory_enricher(settings, confluent_decoder(&registry, Fields::default()));
    let events = events(&enricher, &request(std::slice::from_ref(&large))).await;
    let claim = &events[0]["claimCheck"];
    assert_eq!(claim["storedAs"], "json", "{}", events[0]);
    assert_eq!(claim["valueEncoding"], "avro");
    assert_eq!(claim["contentType"], "application/json");
    let object = store.objects().into_values().next().unwrap();
    let stored: Value = serde_json::from_slice(&object.body).unwrap();
    assert!(common::json_equivalent(&stored, &large.expected_value));
    assert_eq!(claim["size"], object.body.len());
    assert_eq!(claim["sha256"], common::sha256_hex(&object.body));
    let resolver = Resolver::new(store.clone(), Allowlist::new(["claims"]));
    let resolved = resolver.resolve(&events[0].to_string()).await.unwrap();
    assert!(resolved.decoded, "the stored bytes are the decoded JSON");
    assert_eq!(resolved.bytes.as_deref(), Some(&object.body[..]));
}

/// A registry behind a private CA that requires a client certificate (mutual TLS): with the CA
/// and the client certificate (its PKCS#8 key encrypted, as the secret holds it) values decode;
/// without the CA, or without the certificate, the invocation fails (Pipes retries) and says so.
/// The PKI is made for the test by `make_certs.py`, the server is Python's `ssl`.
#[tokio::test(flavor = "multi_thread")]
async fn a_registry_behind_a_private_ca_with_mutual_tls() {
    use common::registry::Pki;
    use kafka_claim_check::decode::registry::{ClientCertificate, RootCertificate, Tls};
    let pki = Pki::make();
    let registry = ConfluentRegistry::start_tls(&pki);
    let produced = produce_over_tls(&registry, &pki);
    let order = produced[0].clone();
    let tls = Tls {
        root_ca: Some(RootCertificate {
            certificate: pki.read("ca.pem"),
        }),
        client: Some(ClientCertificate {
            certificate: pki.read("client.pem"),
            private_key: pki.read("client-key.pem"),
            private_key_password: Some(Pki::PASSWORD.into()),
        }),
    };
    assert!(
        tls.client
            .as_ref()
            .unwrap()
            .private_key
            .contains("ENCRYPTED PRIVATE KEY")
    );
    let decoder = |tls: &Tls| {
        let source = ConfluentSource::with_tls(vec![registry.url.clone()], None, tls).unwrap();
        Arc::new(RegistryDecoder::new(
            Arc::new(source),
            Framing::Confluent,
            Fields::default(),
        ))
    };
    let (pipeline, _) = enricher(decoder(&tls));
    let decoded = events(&pipeline, &request(std::slice::from_ref(&order))).await;
    assert_decoded(std::slice::from_ref(&order), &decoded, "confluent");
    // The system roots alone do not know the private CA.
    let no_ca = Tls {
        root_ca: None,
        ..tls.clone()
    };
    let err = enricher(decoder(&no_ca))
        .0
        .enrich(&request(std::slice::from_ref(&order)), None)
        .await
        .unwrap_err();
    assert!(matches!(err, EnrichError::Decode(_)), "{err}");
    // The server requires a client certificate.
    let no_client = Tls {
        client: None,
        ..tls.clone()
    };
    let err = enricher(decoder(&no_client))
        .0
        .enrich(&request(&[order]), None)
        .await
        .unwrap_err();
    assert!(matches!(err, EnrichError::Decode(_)), "{err}");
    // A wrong password is refused when the client is built, naming the secret's field.
    let wrong = Tls {
        client: Some(ClientCertificate {
            private_key_password: Some("wrong".into()),
            ..tls.client.clone().unwrap()
        }),
        ..tls
    };
    let err = ConfluentSource::with_tls(vec![registry.url.clone()], None, &wrong).unwrap_err();
    assert!(err.to_string().contains("privateKeyPassword"), "{err}");
}

/// Records produced by the Confluent serializers against a registry on HTTPS with mutual TLS.
fn produce_over_tls(registry: &ConfluentRegistry, pki: &common::registry::Pki) -> Vec<Produced> {
    common::registry::produce_with(
        &["confluent", &registry.url],
        &[
            ("REGISTRY_CA", pki.path("ca.pem").display().to_string()),
            (
                "REGISTRY_CLIENT_CERT",
                pki.path("client.pem").display().to_string(),
            ),
            (
                "REGISTRY_CLIENT_KEY",
                pki.path("client-key.pem").display().to_string(),
            ),
            (
                "REGISTRY_CLIENT_KEY_PASSWORD",
                common::registry::Pki::PASSWORD.into(),
            ),
        ],
    )
}

/// `CLAIM_CHECK_PROTOBUF_DEFAULTS=include`: Protobuf fields without presence at their default value
/// are printed, so that a rule can match `0` or `false`.
#[tokio::test(flavor = "multi_thread")]
async fn protobuf_defaults_are_printed_when_asked_for() {
    use kafka_claim_check::decode::codec::CodecOptions;
    let registry = ConfluentRegistry::start(None);
    let produced = produce(&["confluent", &registry.url]);
    // The nested Order.Line: sku and quantity set, price_micros 0, no discounts.
    let line = produced
        .iter()
        .find(|p| {
            p.message.as_ref().and_then(Value::as_str) == Some("shop.v1.Order.Line")
                && p.schema.is_u64()
        })
        .unwrap()
        .clone();
    let plain = enricher(confluent_decoder(&registry, Fields::default())).0;
    let value = &events(&plain, &request(std::slice::from_ref(&line))).await[0]["value"];
    assert!(value.get("price_micros").is_none(), "{value}");
    let source = ConfluentSource::new(vec![registry.url.clone()], None).unwrap();
    let decoder = RegistryDecoder::new(Arc::new(source), Framing::Confluent, Fields::default())
        .with_options(CodecOptions {
            protobuf_defaults: true,
        });
    let with_defaults = enricher(Arc::new(decoder)).0;
    let value = &events(&with_defaults, &request(&[line])).await[0]["value"];
    assert_eq!(value["price_micros"], "0", "{value}");
    assert_eq!(value["discounts"], serde_json::json!([]), "{value}");
    assert_eq!(value["sku"], "SKU-2");
}
