//! The strict-JSON validator against its `serde_json` reference: the same verdict on edge cases
//! and on generated, mutated documents.

#[path = "common/strict_reference.rs"]
mod reference;

use kafka_claim_check::json::is_strict_json;
use proptest::prelude::*;
fn agree(bytes: &[u8]) {
    assert_eq!(
        is_strict_json(bytes),
        reference::is_strict_json(bytes),
        "disagree on {:?}",
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn agrees_with_serde_json_on_edge_cases() {
    let long_int = "9".repeat(400);
    let cases: Vec<&[u8]> = vec![
        b"0",
        b"-0",
        b"01",
        b"-",
        b"1.",
        b".5",
        b"1e",
        b"1e+",
        b"1E-2",
        b"-1.5e10",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b"123456789012345678901234567890",
        b"999999999999999999",
        b"9223372036854775807",
        b"9223372036854775808",
        b"-9223372036854775808",
        b"-9223372036854775809",
        b"18446744073709551615",
        b"18446744073709551616",
        b"[1,-18446744073709551616]",
        b"9223372036854775807.0",
        b"9223372036854775806.5",
        b"1e18",
        b"1e19",
        b"-9.2e18",
        b"9.3E+18",
        long_int.as_bytes(),
        b"1.7976931348623157e308",
        b"1.7976931348623159e308",
        b"\"\\ud800\"",
        b"\"\\ud800\\udc00\"",
        b"\"\\udc00\"",
        b"\"\\ud800\\u0041\"",
        b"\"\\u00e9\"",
        b"\"\\x\"",
        b"\"a\tb\"",
        b"\"\\/\"",
        b"[1,]",
        b"[,1]",
        b"{\"a\":1,}",
        b"{\"a\" :1 , \"b\": [ ] }",
        b"{\"a\":1,\"\\u0061\":2}",
        b"{\"\\u0061\":1,\"a\":2}",
        b"{\"a\":1,\"b\":2,\"\\u0062\":3}",
        b"{\"\\u0061\":1,\"b\":2}",
        b"{\"\\x\":1}",
        b"{\"\\u0061\":{\"a\":1,\"a\":2}}",
        b"{\"\\u0061\":{\"b\":1},\"b\":2,\"c\":{\"b\":3}}",
        b"{\"a\":{\"\\u0062\":1,\"b\":2},\"c\":3}",
        b"{\"a\":{\"\\u0062\":1,\"c\":2},\"a\":3}",
        b"{\"sku\":1,\"qty\":2,\"sky\":3,\"qty\":4}",
        b"{\"a\":{\"a\":1},\"b\":{\"a\":2}}",
        b"{\"a\":1}{}",
        b"[] ",
        b"nul",
        b"truee",
        b"\"unterminated",
        b"{\"a\"}",
        b"{1:2}",
        b"[\"\xc3\xa9\"]",
        b"[\"\xff\"]",
    ];
    for case in cases {
        agree(case);
    }
    for depth in [99, 100, 101, 126, 127, 128, 129] {
        agree(format!("{}{}", "[".repeat(depth), "]".repeat(depth)).as_bytes());
        agree(format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).as_bytes());
    }
    let many: String = (0..100).map(|i| format!("\"k{i}\":{i},")).collect();
    agree(format!("{{{many}\"k99\":0}}").as_bytes());
    agree(format!("{{{many}\"z\":0}}").as_bytes());
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "[a-c\\\\\"\\u{e9}\\u{1F600}\\n]{0,6}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-c]{0,2}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_serde_json_on_mutated_documents(
        value in json_value(),
        pretty in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![
            &b"{"[..], b"}", b"[", b"]", b"\"", b",", b":", b"\\", b" ", b"0", b"-", b"e", b"1e999", b"9223372036854775808", b"99999999999999999999",
            b"\\u", b"\\ud800", b"\"a\":1", b"null", b"\x01", b"\xc3", b"",
        ]), any::<bool>()), 0..3),
    ) {
        let mut bytes = if pretty { serde_json::to_vec_pretty(&value).unwrap() } else { serde_json::to_vec(&value).unwrap() };
        for (at, text, replace) in edits {
            let i = at.index(bytes.len() + 1);
            if replace && i < bytes.len() {
                bytes.remove(i);
            }
            let i = i.min(bytes.len());
            bytes.splice(i..i, text.iter().copied());
        }
        prop_assert_eq!(is_strict_json(&bytes), reference::is_strict_json(&bytes), "{:?}", String::from_utf8_lossy(&bytes));
    }
}
