//! Settings, read from the environment once at cold start and validated there.
//!
//! An invalid value stops the function at init with a message naming the variable and what it
//! accepts, rather than failing every invocation later (which, for a Kafka source, would stall
//! the partition). Empty values count as unset, so a CloudFormation parameter left blank takes
//! the default.
//!
//! This module only parses: each part owns its settings type ([`Settings`] the pipeline's,
//! [`RegistrySettings`] the schema registry's, [`MetricsSettings`] the handler's,
//! [`ResolverSettings`] the consumer side's).

use std::time::Duration;

use crate::consume::ResolverSettings;
use crate::decode::codec::CodecOptions;
use crate::decode::registry::{Credentials, Fields, RegistryKind, RegistrySettings};
use crate::enrich::{InvalidRecordPolicy, Settings};
use crate::lambda::metrics::{DEFAULT_NAMESPACE, MetricsSettings};
use crate::policy::{MAX_RESPONSE_BYTES, MIN_MAX_EVENT_BYTES, OffloadMode, Target};
use crate::store::Sse;
use crate::store::keys::normalize_prefix;
use crate::store::object::StoredForm;

const KIND: &str = "CLAIM_CHECK_SCHEMA_REGISTRY";
const URL: &str = "CLAIM_CHECK_SCHEMA_REGISTRY_URL";
const USER_INFO: &str = "CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO";
const SECRET: &str = "CLAIM_CHECK_SCHEMA_REGISTRY_SECRET_ARN";
const CLIENT_CERT: &str = "CLAIM_CHECK_SCHEMA_REGISTRY_CLIENT_CERT_SECRET_ARN";
const ROOT_CA: &str = "CLAIM_CHECK_SCHEMA_REGISTRY_ROOT_CA_SECRET_ARN";
const FIELDS: &str = "CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS";
const PROTOBUF_DEFAULTS: &str = "CLAIM_CHECK_PROTOBUF_DEFAULTS";

fn registry_kind(value: Option<String>) -> Result<RegistryKind, ConfigError> {
    Ok(match value.as_deref() {
        None | Some("none") => RegistryKind::None,
        Some("confluent") => RegistryKind::Confluent,
        Some("glue") => RegistryKind::Glue,
        Some(other) => return Err(ConfigError::new(KIND, other, "none, confluent or glue")),
    })
}

impl RegistrySettings {
    /// The settings that apply to schemas read from a directory (`--schemas DIR`): the framing
    /// `CLAIM_CHECK_SCHEMA_REGISTRY` names (when set), the fields and the codec options. The
    /// registry's URL and credentials are not read.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable with an unacceptable value.
    pub fn for_schema_dir(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut settings = Self::from_lookup(|name| match name {
            KIND | URL | USER_INFO | SECRET | CLIENT_CERT | ROOT_CA => None,
            _ => lookup(name),
        })?;
        settings.kind = registry_kind(trimmed(&lookup, KIND))?;
        Ok(settings)
    }

    /// Reads the settings from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable with an unacceptable value.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which maps a variable name to its value.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable with an unacceptable value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| trimmed(&lookup, name);
        let fail = ConfigError::new;
        let kind = registry_kind(get(KIND))?;
        let url = get(URL);
        let user_info = get(USER_INFO);
        let secret_arn = get(SECRET);
        let client_cert = get(CLIENT_CERT);
        let root_ca = get(ROOT_CA);
        let codec_options = CodecOptions {
            protobuf_defaults: match get(PROTOBUF_DEFAULTS).as_deref() {
                None | Some("omit") => false,
                Some("include") => true,
                Some(other) => {
                    return Err(fail(
                        PROTOBUF_DEFAULTS,
                        other,
                        "omit (MessageToDict's default) or include (fields without presence at their default value too)",
                    ));
                }
            },
        };
        let fields = match get(FIELDS) {
            None => Fields::default(),
            Some(list) => {
                let mut fields = Fields {
                    key: false,
                    value: false,
                };
                for name in list.split(',').map(str::trim) {
                    match name {
                        "key" => fields.key = true,
                        "value" => fields.value = true,
                        _ => return Err(fail(FIELDS, &list, "value, key or key,value")),
                    }
                }
                fields
            }
        };
        // A registry setting without a registry is a mistake worth stopping for.
        let needs = |variable: &'static str, value: &Option<String>, what: &str| match value {
            Some(v) => Err(fail(variable, v, what)),
            None => Ok(()),
        };
        let mut settings = RegistrySettings {
            kind,
            fields,
            codec_options,
            ..RegistrySettings::default()
        };
        let is_secret_arn = |arn: &str| arn.starts_with("arn:") && arn.contains(":secretsmanager:");
        match kind {
            RegistryKind::None => {
                let unset = "unset while CLAIM_CHECK_SCHEMA_REGISTRY is none";
                needs(URL, &url, unset)?;
                needs(USER_INFO, &user_info.as_ref().map(|_| "***".into()), unset)?;
                needs(SECRET, &secret_arn, unset)?;
                needs(CLIENT_CERT, &client_cert, unset)?;
                needs(ROOT_CA, &root_ca, unset)?;
            }
            RegistryKind::Glue => {
                let unset = "unset for the Glue registry (the AWS SDK finds Glue; AWS_ENDPOINT_URL_GLUE points it elsewhere)";
                needs(URL, &url, unset)?;
                needs(USER_INFO, &user_info.as_ref().map(|_| "***".into()), unset)?;
                needs(SECRET, &secret_arn, unset)?;
                needs(CLIENT_CERT, &client_cert, unset)?;
                needs(ROOT_CA, &root_ca, unset)?;
            }
            RegistryKind::Confluent => {
                let Some(url) = url else {
                    return Err(fail(
                        URL,
                        "",
                        "the Confluent registry's URL (http:// or https://) when CLAIM_CHECK_SCHEMA_REGISTRY is confluent",
                    ));
                };
                for u in url.split(',').map(str::trim) {
                    let rest = u
                        .strip_prefix("https://")
                        .or_else(|| u.strip_prefix("http://"));
                    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                        return Err(fail(URL, &url, "http:// or https:// URLs, comma-separated"));
                    }
                    settings.urls.push(u.to_string());
                }
                if user_info.is_some() && secret_arn.is_some() {
                    return Err(fail(
                        SECRET,
                        secret_arn.as_deref().unwrap_or_default(),
                        "unset when CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO is set (one source of credentials)",
                    ));
                }
                if let Some(info) = &user_info {
                    settings.credentials = Some(
                        Credentials::parse(info)
                            .ok_or_else(|| fail(USER_INFO, "***", "KEY:SECRET"))?,
                    );
                }
                if let Some(arn) = &secret_arn {
                    if !is_secret_arn(arn) {
                        return Err(fail(SECRET, arn, "a Secrets Manager secret ARN"));
                    }
                    settings.secret_arn = Some(arn.clone());
                }
                for (variable, arn, slot) in [
                    (
                        CLIENT_CERT,
                        &client_cert,
                        &mut settings.client_cert_secret_arn,
                    ),
                    (ROOT_CA, &root_ca, &mut settings.root_ca_secret_arn),
                ] {
                    if let Some(arn) = arn {
                        if !is_secret_arn(arn) {
                            return Err(fail(variable, arn, "a Secrets Manager secret ARN"));
                        }
                        *slot = Some(arn.clone());
                    }
                }
            }
        }
        Ok(settings)
    }
}

impl ResolverSettings {
    /// Reads the settings through `lookup`, which maps a variable name to its value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let allowed = match get("CLAIM_CHECK_ALLOWED_BUCKETS") {
            Some(list) => list
                .split(',')
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect(),
            None => get("CLAIM_CHECK_BUCKET")
                .map(|b| vec![b.trim().to_string()])
                .unwrap_or_default(),
        };
        ResolverSettings { allowed }
    }
}

/// A setting with a value it does not accept.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {variable}={value:?}: expected {expected}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// The value found.
    pub value: String,
    /// What the variable accepts.
    pub expected: String,
}

/// A variable's value, trimmed; `None` when unset or empty (empty counts as unset).
fn trimmed(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl ConfigError {
    fn new(variable: &'static str, value: &str, expected: &str) -> Self {
        ConfigError {
            variable,
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }
}

impl Settings {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable with an unacceptable value.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which maps a variable name to its value.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable with an unacceptable value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| trimmed(&lookup, name);
        let defaults = Settings::default();
        let fail = ConfigError::new;

        let bucket = match get("CLAIM_CHECK_BUCKET") {
            Some(b) if is_bucket_name(&b) => Some(b),
            Some(b) => {
                return Err(fail(
                    "CLAIM_CHECK_BUCKET",
                    &b,
                    "an S3 bucket name (3 to 63 characters of a-z, 0-9, '.', '-')",
                ));
            }
            None => None,
        };

        let key_prefix = match get("CLAIM_CHECK_KEY_PREFIX") {
            Some(p) => normalize_prefix(&p).map_err(|e| fail("CLAIM_CHECK_KEY_PREFIX", &p, &e))?,
            None => defaults.key_prefix,
        };

        let target = match get("CLAIM_CHECK_TARGET") {
            None => Target::default(),
            Some(name) => Target::parse(&name).ok_or_else(|| {
                let names: Vec<&str> = Target::ALL.iter().map(|t| t.as_str()).collect();
                fail("CLAIM_CHECK_TARGET", &name, &names.join(", "))
            })?,
        };
        let limits = target.limits();
        let max_event_bytes = number(
            &get,
            "CLAIM_CHECK_MAX_EVENT_BYTES",
            MIN_MAX_EVENT_BYTES,
            MAX_RESPONSE_BYTES,
        )?
        .unwrap_or(limits.max_item_bytes);
        let max_batch_bytes = number(
            &get,
            "CLAIM_CHECK_MAX_BATCH_BYTES",
            MIN_MAX_EVENT_BYTES,
            usize::MAX / 2,
        )?
        .unwrap_or(if limits.request_follows_item {
            max_event_bytes
        } else {
            limits.max_request_bytes
        });
        let envelope_reserve_bytes = number(
            &get,
            "CLAIM_CHECK_ENVELOPE_RESERVE_BYTES",
            0,
            max_event_bytes / 2,
        )?
        .unwrap_or(limits.item_overhead.min(max_event_bytes / 2));

        let offload = match get("CLAIM_CHECK_OFFLOAD").as_deref() {
            None | Some("auto") => OffloadMode::Auto,
            Some("always") => OffloadMode::Always,
            Some(other) => return Err(fail("CLAIM_CHECK_OFFLOAD", other, "auto or always")),
        };

        let offload_decoded = match get("CLAIM_CHECK_OFFLOAD_DECODED").as_deref() {
            None | Some("framed") => StoredForm::Framed,
            Some("json") => StoredForm::Json,
            Some(other) => {
                return Err(fail(
                    "CLAIM_CHECK_OFFLOAD_DECODED",
                    other,
                    "framed (the record's bytes) or json (the JSON a schema decodes them to)",
                ));
            }
        };

        let keep_pointers = match get("CLAIM_CHECK_KEEP_POINTERS") {
            None => Vec::new(),
            Some(list) => {
                let pointers: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect();
                if pointers
                    .iter()
                    .any(|p| !p.starts_with('/') || p.len() > 256)
                {
                    return Err(fail(
                        "CLAIM_CHECK_KEEP_POINTERS",
                        &list,
                        "comma-separated JSON pointers into the payload, each starting with '/' (e.g. /type,/order/id)",
                    ));
                }
                pointers
            }
        };

        let sse = match (
            get("CLAIM_CHECK_SSE").as_deref(),
            get("CLAIM_CHECK_KMS_KEY_ID"),
        ) {
            (None | Some("aws:kms" | "kms"), Some(key_id)) => Sse::Kms {
                key_id: Some(key_id),
            },
            (Some("aws:kms" | "kms"), None) => Sse::Kms { key_id: None },
            (None | Some("bucket-default"), None) => Sse::BucketDefault,
            (Some("AES256" | "s3"), None) => Sse::S3,
            (Some(value @ ("bucket-default" | "AES256" | "s3")), Some(_)) => {
                return Err(fail(
                    "CLAIM_CHECK_SSE",
                    value,
                    "aws:kms (or unset) when CLAIM_CHECK_KMS_KEY_ID is set",
                ));
            }
            (Some(other), _) => {
                return Err(fail(
                    "CLAIM_CHECK_SSE",
                    other,
                    "bucket-default, AES256 (SSE-S3) or aws:kms (SSE-KMS, with CLAIM_CHECK_KMS_KEY_ID or the AWS managed key)",
                ));
            }
        };

        let expected_bucket_owner = match get("CLAIM_CHECK_EXPECTED_BUCKET_OWNER") {
            Some(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => Some(id),
            Some(id) => {
                return Err(fail(
                    "CLAIM_CHECK_EXPECTED_BUCKET_OWNER",
                    &id,
                    "a 12-digit AWS account id",
                ));
            }
            None => None,
        };

        let upload_concurrency = number(&get, "CLAIM_CHECK_UPLOAD_CONCURRENCY", 1, 64)?
            .unwrap_or(defaults.upload_concurrency);

        let on_invalid_record = match get("CLAIM_CHECK_ON_INVALID_RECORD").as_deref() {
            None | Some("dead-letter") => InvalidRecordPolicy::DeadLetter,
            Some("fail") => InvalidRecordPolicy::Fail,
            Some(other) => {
                return Err(fail(
                    "CLAIM_CHECK_ON_INVALID_RECORD",
                    other,
                    "dead-letter or fail",
                ));
            }
        };

        let deadline_margin = number(&get, "CLAIM_CHECK_DEADLINE_MARGIN_MS", 0, 60_000)?
            .map(|ms| Duration::from_millis(ms as u64))
            .unwrap_or(defaults.deadline_margin);

        Ok(Settings {
            bucket,
            key_prefix,
            target,
            max_event_bytes,
            max_batch_bytes,
            envelope_reserve_bytes,
            offload,
            keep_pointers,
            offload_decoded,
            sse,
            expected_bucket_owner,
            upload_concurrency,
            on_invalid_record,
            deadline_margin,
        })
    }
}

impl MetricsSettings {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable with an unacceptable value.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which maps a variable name to its value.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable with an unacceptable value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| trimmed(&lookup, name);
        let fail = ConfigError::new;
        let switch = |variable: &'static str, default: bool| match get(variable).as_deref() {
            None => Ok(default),
            Some("on" | "true" | "1") => Ok(true),
            Some("off" | "false" | "0") => Ok(false),
            Some(other) => Err(fail(variable, other, "on or off")),
        };
        let namespace = match get("CLAIM_CHECK_METRICS_NAMESPACE") {
            None => DEFAULT_NAMESPACE.to_string(),
            Some(ns)
                if ns.len() <= 255
                    && !ns.starts_with("AWS/")
                    && ns
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "./-_#:".contains(c)) =>
            {
                ns
            }
            Some(ns) => {
                return Err(fail(
                    "CLAIM_CHECK_METRICS_NAMESPACE",
                    &ns,
                    "a CloudWatch namespace: up to 255 of a-z A-Z 0-9 . - _ / # :, not starting with AWS/",
                ));
            }
        };
        Ok(MetricsSettings {
            enabled: switch("CLAIM_CHECK_METRICS", true)?,
            namespace,
            topic_dimension: switch("CLAIM_CHECK_METRICS_TOPIC_DIMENSION", false)?,
        })
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    min: usize,
    max: usize,
) -> Result<Option<usize>, ConfigError> {
    let Some(value) = get(variable) else {
        return Ok(None);
    };
    match value.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(ConfigError {
            variable,
            value,
            expected: format!("a whole number from {min} to {max}"),
        }),
    }
}

/// S3's rules for general purpose bucket names (the common subset).
pub fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pipeline's settings, once the handler's metrics settings have been checked too (the
    /// function reads both at cold start).
    fn from(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        MetricsSettings::from_lookup(|name| map.get(name).cloned())?;
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    fn registry(pairs: &[(&str, &str)]) -> Result<RegistrySettings, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RegistrySettings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn a_schema_directory_reads_the_framing_fields_and_options_but_no_url() {
        let env: std::collections::HashMap<&str, &str> = [
            ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_URL", "not a url"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS", "key"),
            ("CLAIM_CHECK_PROTOBUF_DEFAULTS", "include"),
        ]
        .into();
        let settings =
            RegistrySettings::for_schema_dir(|n| env.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(settings.kind, RegistryKind::Confluent);
        assert!(settings.urls.is_empty());
        assert!(settings.fields.key && !settings.fields.value);
        assert!(settings.codec_options.protobuf_defaults);
        let none = RegistrySettings::for_schema_dir(|_| None).unwrap();
        assert_eq!(none.kind, RegistryKind::None);
        let bad = RegistrySettings::for_schema_dir(|n| {
            (n == "CLAIM_CHECK_SCHEMA_REGISTRY").then(|| "karapace".to_string())
        });
        assert_eq!(bad.unwrap_err().variable, "CLAIM_CHECK_SCHEMA_REGISTRY");
    }

    #[test]
    fn credentials_as_confluent_clients_write_them() {
        let c = Credentials::parse("KEY:SE:CRET").unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("KEY", "SE:CRET"));
        assert!(Credentials::parse("no-colon").is_none());
        assert!(Credentials::parse(":secret").is_none());
        let c = Credentials::from_secret(r#"{"username":"u","password":"p"}"#).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("u", "p"));
        assert_eq!(Credentials::from_secret("k:s\n").unwrap().user, "k");
        assert!(
            !format!("{c:?}").contains('p'),
            "the password is never printed"
        );
    }

    #[test]
    fn registry_settings_are_validated_like_the_others() {
        assert_eq!(registry(&[]).unwrap(), RegistrySettings::default());
        let ok = registry(&[
            ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent"),
            (
                "CLAIM_CHECK_SCHEMA_REGISTRY_URL",
                "https://a.example, http://b:8081/",
            ),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO", "KEY:SECRET"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS", "key,value"),
        ])
        .unwrap();
        assert_eq!(ok.urls, ["https://a.example", "http://b:8081/"]);
        assert_eq!(ok.credentials.unwrap().user, "KEY");
        assert!(ok.fields.key && ok.fields.value);
        let refused = |pairs: &[(&str, &str)], variable: &str| {
            let err = registry(pairs).unwrap_err();
            assert_eq!(err.variable, variable, "{pairs:?}");
            assert!(!err.to_string().contains("SECRET\""), "{err}");
        };
        refused(
            &[("CLAIM_CHECK_SCHEMA_REGISTRY", "karapace")],
            "CLAIM_CHECK_SCHEMA_REGISTRY",
        );
        refused(
            &[("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent")],
            "CLAIM_CHECK_SCHEMA_REGISTRY_URL",
        );
        let confluent = ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent");
        refused(
            &[
                confluent,
                ("CLAIM_CHECK_SCHEMA_REGISTRY_URL", "registry:8081"),
            ],
            "CLAIM_CHECK_SCHEMA_REGISTRY_URL",
        );
        let url = ("CLAIM_CHECK_SCHEMA_REGISTRY_URL", "http://localhost:8081");
        refused(
            &[
                confluent,
                url,
                ("CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO", "NOCOLON"),
            ],
            "CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO",
        );
        refused(
            &[
                confluent,
                url,
                ("CLAIM_CHECK_SCHEMA_REGISTRY_SECRET_ARN", "my-secret"),
            ],
            "CLAIM_CHECK_SCHEMA_REGISTRY_SECRET_ARN",
        );
        refused(
            &[
                confluent,
                url,
                ("CLAIM_CHECK_SCHEMA_REGISTRY_USER_INFO", "K:SECRET"),
                (
                    "CLAIM_CHECK_SCHEMA_REGISTRY_SECRET_ARN",
                    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:r",
                ),
            ],
            "CLAIM_CHECK_SCHEMA_REGISTRY_SECRET_ARN",
        );
        refused(
            &[("CLAIM_CHECK_SCHEMA_REGISTRY", "glue"), url],
            "CLAIM_CHECK_SCHEMA_REGISTRY_URL",
        );
        refused(&[url], "CLAIM_CHECK_SCHEMA_REGISTRY_URL");
        refused(
            &[("CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS", "headers")],
            "CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS",
        );
        let glue = registry(&[
            ("CLAIM_CHECK_SCHEMA_REGISTRY", "glue"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_FIELDS", "key"),
        ])
        .unwrap();
        assert_eq!(glue.kind, RegistryKind::Glue);
        assert!(glue.fields.key && !glue.fields.value);
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        assert_eq!(from(&[]).unwrap(), Settings::default());
        assert_eq!(
            from(&[("CLAIM_CHECK_MAX_EVENT_BYTES", " ")]).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn the_target_sets_the_size_defaults_and_explicit_settings_override_them() {
        let s = from(&[("CLAIM_CHECK_TARGET", "kinesis")]).unwrap();
        assert_eq!(s.target, Target::Kinesis);
        assert_eq!(
            (
                s.max_event_bytes,
                s.max_batch_bytes,
                s.envelope_reserve_bytes
            ),
            (1_048_576, 5_242_880, 256)
        );
        let s = from(&[
            ("CLAIM_CHECK_TARGET", "sqs"),
            ("CLAIM_CHECK_MAX_EVENT_BYTES", "1048576"),
        ])
        .unwrap();
        assert_eq!(
            (
                s.max_event_bytes,
                s.max_batch_bytes,
                s.envelope_reserve_bytes
            ),
            (1_048_576, 1_048_576, 0)
        );
        let s = from(&[
            ("CLAIM_CHECK_TARGET", "step-functions"),
            ("CLAIM_CHECK_MAX_BATCH_BYTES", "100000"),
        ])
        .unwrap();
        assert_eq!(s.max_batch_bytes, 100_000);
        assert_eq!(from(&[]).unwrap().target, Target::EventBus);
        let err = from(&[("CLAIM_CHECK_TARGET", "bus")]).unwrap_err();
        assert_eq!(err.variable, "CLAIM_CHECK_TARGET");
        assert!(
            err.expected.contains("event-bus") && err.expected.contains("cloudwatch-logs"),
            "{err}"
        );
    }

    #[test]
    fn batch_limit_defaults_to_the_event_limit() {
        let s = from(&[("CLAIM_CHECK_MAX_EVENT_BYTES", "1048576")]).unwrap();
        assert_eq!(s.max_batch_bytes, 1_048_576);
    }

    #[test]
    fn bad_values_name_the_variable_and_what_it_accepts() {
        for (var, value) in [
            ("CLAIM_CHECK_MAX_EVENT_BYTES", "lots"),
            ("CLAIM_CHECK_MAX_EVENT_BYTES", "100"),
            ("CLAIM_CHECK_OFFLOAD", "sometimes"),
            ("CLAIM_CHECK_BUCKET", "Not_A_Bucket"),
            ("CLAIM_CHECK_KEY_PREFIX", "../up"),
            ("CLAIM_CHECK_KEEP_POINTERS", "type"),
            ("CLAIM_CHECK_SSE", "rot13"),
            ("CLAIM_CHECK_EXPECTED_BUCKET_OWNER", "12"),
            ("CLAIM_CHECK_UPLOAD_CONCURRENCY", "0"),
            ("CLAIM_CHECK_ON_INVALID_RECORD", "ignore"),
            ("CLAIM_CHECK_METRICS", "maybe"),
            ("CLAIM_CHECK_METRICS_NAMESPACE", "AWS/Lambda"),
            ("CLAIM_CHECK_METRICS_TOPIC_DIMENSION", "yes please"),
        ] {
            let err = from(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var);
            let message = err.to_string();
            assert!(
                message.contains(var) && message.contains("expected"),
                "{message}"
            );
        }
    }

    #[test]
    fn kms_key_implies_sse_kms() {
        let s = from(&[("CLAIM_CHECK_KMS_KEY_ID", "alias/claims")]).unwrap();
        assert_eq!(
            s.sse,
            Sse::Kms {
                key_id: Some("alias/claims".into())
            }
        );
        assert!(
            from(&[
                ("CLAIM_CHECK_SSE", "AES256"),
                ("CLAIM_CHECK_KMS_KEY_ID", "k")
            ])
            .is_err()
        );
    }

    #[test]
    fn keep_pointers_are_split_and_trimmed() {
        let s = from(&[("CLAIM_CHECK_KEEP_POINTERS", "/type, /order/id,")]).unwrap();
        assert_eq!(s.keep_pointers, ["/type", "/order/id"]);
    }

    #[test]
    fn codec_and_tls_settings_are_read_and_checked() {
        let secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ca-AbCdEf";
        let confluent = [
            ("CLAIM_CHECK_SCHEMA_REGISTRY", "confluent"),
            (
                "CLAIM_CHECK_SCHEMA_REGISTRY_URL",
                "https://registry.internal",
            ),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = confluent.to_vec();
            pairs.extend_from_slice(extra);
            registry(&pairs)
        };
        let ok = with(&[
            ("CLAIM_CHECK_SCHEMA_REGISTRY_ROOT_CA_SECRET_ARN", secret),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_CLIENT_CERT_SECRET_ARN", secret),
            ("CLAIM_CHECK_PROTOBUF_DEFAULTS", "include"),
        ])
        .unwrap();
        assert_eq!(ok.root_ca_secret_arn.as_deref(), Some(secret));
        assert_eq!(ok.client_cert_secret_arn.as_deref(), Some(secret));
        assert!(ok.codec_options.protobuf_defaults);
        assert!(!with(&[]).unwrap().codec_options.protobuf_defaults);
        for (variable, value) in [
            ("CLAIM_CHECK_SCHEMA_REGISTRY_ROOT_CA_SECRET_ARN", "ca.pem"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_CLIENT_CERT_SECRET_ARN", "cert"),
            ("CLAIM_CHECK_PROTOBUF_DEFAULTS", "yes"),
        ] {
            assert_eq!(with(&[(variable, value)]).unwrap_err().variable, variable);
        }
        // A TLS secret without a Confluent registry is a mistake worth stopping for.
        let err = registry(&[
            ("CLAIM_CHECK_SCHEMA_REGISTRY", "glue"),
            ("CLAIM_CHECK_SCHEMA_REGISTRY_ROOT_CA_SECRET_ARN", secret),
        ])
        .unwrap_err();
        assert_eq!(
            err.variable,
            "CLAIM_CHECK_SCHEMA_REGISTRY_ROOT_CA_SECRET_ARN"
        );
        assert_eq!(
            from(&[("CLAIM_CHECK_OFFLOAD_DECODED", "json")])
                .unwrap()
                .offload_decoded,
            StoredForm::Json
        );
        assert_eq!(
            from(&[("CLAIM_CHECK_OFFLOAD_DECODED", "decoded")])
                .unwrap_err()
                .variable,
            "CLAIM_CHECK_OFFLOAD_DECODED"
        );
    }
}
