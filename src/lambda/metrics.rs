//! CloudWatch metrics in the Embedded Metric Format (EMF): one JSON line per invocation on
//! standard output, which CloudWatch Logs turns into metrics with no API call.
//!
//! Dimensions stay low-cardinality: `FunctionName` always; `FunctionName` + `Topic` only when
//! `CLAIM_CHECK_METRICS_TOPIC_DIMENSION` is on (then one extra line per topic in the batch, so the
//! function-level totals are never counted twice).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::enrich::{Summary, TopicCounts};

/// Default CloudWatch namespace of the metrics.
pub const DEFAULT_NAMESPACE: &str = "KafkaClaimCheck";

/// Whether and how metrics are written ([`crate::config`] reads them from the environment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsSettings {
    /// `CLAIM_CHECK_METRICS` (`on`/`off`).
    pub enabled: bool,
    /// `CLAIM_CHECK_METRICS_NAMESPACE`.
    pub namespace: String,
    /// `CLAIM_CHECK_METRICS_TOPIC_DIMENSION` (`on`/`off`).
    pub topic_dimension: bool,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            enabled: true,
            namespace: DEFAULT_NAMESPACE.to_string(),
            topic_dimension: false,
        }
    }
}

/// Metric names and units, as published.
pub const METRICS: [(&str, &str); 12] = [
    ("Records", "Count"),
    ("Inline", "Count"),
    ("Offloaded", "Count"),
    ("DeadLettered", "Count"),
    ("BytesStored", "Bytes"),
    ("LargestRecordBytes", "Bytes"),
    ("RequestBytes", "Bytes"),
    ("ResponseBytes", "Bytes"),
    ("BatchEntryBytes", "Bytes"),
    ("StoreLatency", "Milliseconds"),
    ("FailedBatches", "Count"),
    ("UnfittableBatches", "Count"),
];

/// Metric names published per topic.
const TOPIC_METRICS: [(&str, &str); 5] = [
    ("Records", "Count"),
    ("Inline", "Count"),
    ("Offloaded", "Count"),
    ("DeadLettered", "Count"),
    ("BytesStored", "Bytes"),
];

/// The EMF lines for one invocation. `summary` is `None` for a failed invocation, which still
/// counts its records (when known) and one failed batch; `unfittable` says it failed because the
/// batch cannot fit its target at any size (`UnfittableBatches`: change the pipe's BatchSize).
pub fn emf_lines(
    settings: &MetricsSettings,
    function_name: &str,
    timestamp_ms: u64,
    summary: Option<&Summary>,
    request_records: Option<usize>,
    unfittable: bool,
) -> Vec<String> {
    if !settings.enabled {
        return Vec::new();
    }
    let mut values: Vec<(&str, u64)> = Vec::new();
    match summary {
        Some(s) => {
            values.extend([
                ("Records", s.records as u64),
                ("Inline", s.inline as u64),
                ("Offloaded", s.offloaded as u64),
                ("DeadLettered", s.dead_lettered as u64),
                ("BytesStored", s.bytes_stored),
                ("LargestRecordBytes", s.largest_value_bytes as u64),
                ("RequestBytes", s.request_bytes as u64),
                ("ResponseBytes", s.response_bytes as u64),
                ("BatchEntryBytes", s.batch_bytes as u64),
                ("StoreLatency", s.store_millis),
                ("FailedBatches", 0),
                ("UnfittableBatches", 0),
            ]);
        }
        None => {
            if let Some(records) = request_records {
                values.push(("Records", records as u64));
            }
            values.push(("FailedBatches", 1));
            values.push(("UnfittableBatches", u64::from(unfittable)));
        }
    }
    let mut lines = vec![document(
        &settings.namespace,
        &[("FunctionName", function_name)],
        timestamp_ms,
        &values,
        &METRICS,
    )];
    if settings.topic_dimension
        && let Some(s) = summary
    {
        for (topic, counts) in &s.topics {
            lines.push(document(
                &settings.namespace,
                &[("FunctionName", function_name), ("Topic", topic)],
                timestamp_ms,
                &topic_values(counts),
                &TOPIC_METRICS,
            ));
        }
    }
    lines
}

fn topic_values(c: &TopicCounts) -> Vec<(&'static str, u64)> {
    vec![
        ("Records", c.records as u64),
        ("Inline", c.inline as u64),
        ("Offloaded", c.offloaded as u64),
        ("DeadLettered", c.dead_lettered as u64),
        ("BytesStored", c.bytes_stored),
    ]
}

fn document(
    namespace: &str,
    dimensions: &[(&str, &str)],
    timestamp_ms: u64,
    values: &[(&str, u64)],
    units: &[(&str, &str)],
) -> String {
    let units: BTreeMap<&str, &str> = units.iter().copied().collect();
    let mut root = Map::new();
    let metrics: Vec<Value> = values
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": units.get(name).copied().unwrap_or("None")}))
        .collect();
    let dimension_set: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimension_set],
                "Metrics": metrics,
            }],
        }),
    );
    for (key, value) in dimensions {
        root.insert((*key).into(), json!(value));
    }
    for (name, value) in values {
        root.insert((*name).into(), json!(value));
    }
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::Summary;

    const UNITS: [&str; 27] = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];

    /// Checks one line against the Embedded Metric Format specification; returns the metric
    /// names with their values and the dimension sets.
    fn check_emf(line: &str) -> (BTreeMap<String, f64>, Vec<Vec<String>>) {
        let root: Value = serde_json::from_str(line).expect("one JSON object per line");
        assert!(!line.contains('\n'));
        let aws = root["_aws"].as_object().expect("an _aws object");
        assert!(
            aws["Timestamp"]
                .as_u64()
                .is_some_and(|t| t > 1_600_000_000_000),
            "Timestamp in epoch ms"
        );
        let directives = aws["CloudWatchMetrics"]
            .as_array()
            .expect("CloudWatchMetrics array");
        assert!(!directives.is_empty());
        let mut metrics = BTreeMap::new();
        let mut dimension_sets = Vec::new();
        for directive in directives {
            let namespace = directive["Namespace"].as_str().expect("Namespace");
            assert!((1..=255).contains(&namespace.len()) && !namespace.starts_with("AWS/"));
            for set in directive["Dimensions"].as_array().expect("Dimensions") {
                let set: Vec<String> = set
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_str().unwrap().to_string())
                    .collect();
                assert!(set.len() <= 30);
                for d in &set {
                    let value = root[d]
                        .as_str()
                        .unwrap_or_else(|| panic!("dimension {d} is a string member"));
                    assert!((1..=1024).contains(&value.len()));
                }
                dimension_sets.push(set);
            }
            let definitions = directive["Metrics"].as_array().expect("Metrics");
            assert!(definitions.len() <= 100);
            for def in definitions {
                let name = def["Name"].as_str().expect("Name");
                assert!((1..=255).contains(&name.len()));
                if let Some(unit) = def.get("Unit") {
                    assert!(UNITS.contains(&unit.as_str().unwrap()), "unit {unit}");
                }
                let value = root[name]
                    .as_f64()
                    .unwrap_or_else(|| panic!("metric {name} has a number"));
                metrics.insert(name.to_string(), value);
            }
        }
        (metrics, dimension_sets)
    }

    fn summary() -> Summary {
        let mut s = Summary {
            records: 10,
            inline: 7,
            offloaded: 2,
            dead_lettered: 1,
            bytes_stored: 600_000,
            largest_value_bytes: 420_000,
            request_bytes: 1_000_000,
            response_bytes: 12_000,
            batch_bytes: 22_000,
            store_millis: 41,
            ..Summary::default()
        };
        s.topics.insert(
            "orders".into(),
            TopicCounts {
                records: 6,
                inline: 4,
                offloaded: 2,
                dead_lettered: 0,
                bytes_stored: 599_000,
            },
        );
        s.topics.insert(
            "payments".into(),
            TopicCounts {
                records: 3,
                inline: 3,
                ..TopicCounts::default()
            },
        );
        s
    }

    #[test]
    fn one_emf_line_per_invocation_with_every_metric() {
        let lines = emf_lines(
            &MetricsSettings::default(),
            "fn-1",
            1_764_115_200_000,
            Some(&summary()),
            None,
            false,
        );
        assert_eq!(lines.len(), 1);
        let (metrics, dimensions) = check_emf(&lines[0]);
        assert_eq!(dimensions, vec![vec!["FunctionName".to_string()]]);
        assert_eq!(metrics.len(), METRICS.len());
        assert_eq!(metrics["Records"], 10.0);
        assert_eq!(metrics["DeadLettered"], 1.0);
        assert_eq!(metrics["BytesStored"], 600_000.0);
        assert_eq!(metrics["LargestRecordBytes"], 420_000.0);
        assert_eq!(metrics["StoreLatency"], 41.0);
        assert_eq!(metrics["FailedBatches"], 0.0);
        let root: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            root["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            DEFAULT_NAMESPACE
        );
    }

    #[test]
    fn topic_dimension_adds_one_line_per_topic_without_double_counting() {
        let settings = MetricsSettings {
            topic_dimension: true,
            namespace: "Team/Claims".into(),
            ..MetricsSettings::default()
        };
        let lines = emf_lines(
            &settings,
            "fn-1",
            1_764_115_200_000,
            Some(&summary()),
            None,
            false,
        );
        assert_eq!(lines.len(), 3);
        let (_, first) = check_emf(&lines[0]);
        assert_eq!(first, vec![vec!["FunctionName".to_string()]]);
        for line in &lines[1..] {
            let (metrics, dims) = check_emf(line);
            assert_eq!(
                dims,
                vec![vec!["FunctionName".to_string(), "Topic".to_string()]]
            );
            assert!(metrics.contains_key("Records") && !metrics.contains_key("RequestBytes"));
        }
        let orders: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(
            (orders["Topic"].as_str(), orders["Offloaded"].as_u64()),
            (Some("orders"), Some(2))
        );
    }

    #[test]
    fn a_failed_batch_counts_one_failure() {
        let lines = emf_lines(
            &MetricsSettings::default(),
            "fn-1",
            1_764_115_200_000,
            None,
            Some(10),
            false,
        );
        let (metrics, _) = check_emf(&lines[0]);
        assert_eq!(metrics["FailedBatches"], 1.0);
        assert_eq!(metrics["Records"], 10.0);
        assert!(!metrics.contains_key("Offloaded"));
    }

    #[test]
    fn metrics_can_be_switched_off() {
        let settings = MetricsSettings {
            enabled: false,
            ..MetricsSettings::default()
        };
        assert!(emf_lines(&settings, "f", 1, Some(&summary()), None, false).is_empty());
    }
}
