//! The production store: Amazon S3 through `aws-sdk-s3`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId as _;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ServerSideEncryption};
use base64::Engine as _;

use super::Sse;
use super::{FetchedObject, ListedObject, PayloadStore, StoreError, StoredObject, Written};

/// How the S3 client retries and times out. The defaults keep the worst case of one upload
/// (3 attempts of at most 10 s, with backoff) well inside the function's 60 s timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for one attempt of one request, body included.
    pub attempt_timeout: Duration,
    /// Attempts per request, the first included (the SDK's standard retry strategy).
    pub max_attempts: u32,
    /// Backoff before the first retry (then exponential, with jitter).
    pub initial_backoff: Duration,
}

impl Default for ClientPolicy {
    fn default() -> Self {
        ClientPolicy {
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(10),
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
        }
    }
}

impl ClientPolicy {
    /// Applies this policy to an S3 client configuration.
    pub fn apply(&self, builder: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
        builder
            .timeout_config(
                aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .build(),
            )
            .retry_config(
                aws_sdk_s3::config::retry::RetryConfig::standard()
                    .with_max_attempts(self.max_attempts)
                    .with_initial_backoff(self.initial_backoff),
            )
    }
}

/// Builds an S3 client from the shared AWS configuration (credentials, region,
/// `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`) with the default [`ClientPolicy`]. With a custom
/// endpoint, requests use path-style addressing, which S3-compatible servers need. Build it once,
/// at cold start (`crate::setup` does).
pub fn s3_client(shared: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    let builder = aws_sdk_s3::config::Builder::from(shared).force_path_style(custom_endpoint);
    aws_sdk_s3::Client::from_conf(ClientPolicy::default().apply(builder).build())
}

/// Claim checks in one S3 bucket.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    sse: Sse,
    expected_bucket_owner: Option<String>,
}

impl S3Store {
    /// A store writing to `bucket` with the given encryption and ownership check.
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        sse: Sse,
        expected_bucket_owner: Option<String>,
    ) -> Self {
        S3Store {
            client,
            bucket: bucket.into(),
            sse,
            expected_bucket_owner,
        }
    }

    /// The SDK client, for reads of other buckets.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    fn error<E>(
        &self,
        operation: &'static str,
        bucket: &str,
        key: &str,
        source: SdkError<E, HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let cause = match &source {
            SdkError::ServiceError(service) => {
                let err = service.err();
                let mut cause = format!(
                    "{} (HTTP {})",
                    err.code().unwrap_or("unknown error"),
                    service.raw().status().as_u16()
                );
                if let Some(message) = err.message() {
                    cause.push_str(": ");
                    cause.push_str(message);
                }
                if let Some(id) = err
                    .meta()
                    .extra("aws_request_id")
                    .or(err.meta().request_id())
                {
                    cause.push_str(&format!(" (request id {id})"));
                }
                cause
            }
            other => super::causes(other),
        };
        StoreError::S3 {
            operation,
            bucket: bucket.to_string(),
            key: key.to_string(),
            cause,
            source: Box::new(source),
        }
    }
}

#[async_trait]
impl PayloadStore for S3Store {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    async fn put(&self, object: StoredObject) -> Result<Written, StoreError> {
        let checksum = base64::engine::general_purpose::STANDARD.encode(object.sha256);
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&object.key)
            .content_type(object.content_type)
            .content_length(object.body.len() as i64)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(checksum)
            // The key embeds the content hash: if it exists, it holds these bytes already.
            .if_none_match("*")
            .set_expected_bucket_owner(self.expected_bucket_owner.clone())
            .body(ByteStream::from(object.body.clone()));
        for (name, value) in &object.metadata {
            request = request.metadata(*name, value);
        }
        request = match &self.sse {
            Sse::BucketDefault => request,
            Sse::S3 => request.server_side_encryption(ServerSideEncryption::Aes256),
            Sse::Kms { key_id } => request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .set_ssekms_key_id(key_id.clone())
                .bucket_key_enabled(true),
        };
        match request.send().await {
            Ok(_) => Ok(Written::New),
            Err(err) if err.raw_response().map(|r| r.status().as_u16()) == Some(412) => {
                Ok(Written::Existing)
            }
            Err(err) => Err(self.error("PutObject", &self.bucket, &object.key, err)),
        }
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<FetchedObject, StoreError> {
        let result = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .set_expected_bucket_owner(self.expected_bucket_owner.clone())
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(err)
                if err.as_service_error().is_some_and(|e| e.is_no_such_key())
                    || err.raw_response().map(|r| r.status().as_u16()) == Some(404) =>
            {
                return Err(StoreError::NotFound {
                    location: format!("s3://{bucket}/{key}"),
                });
            }
            Err(err) => return Err(self.error("GetObject", bucket, key, err)),
        };
        let content_type = output.content_type().map(str::to_string);
        let metadata = output
            .metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let body = output
            .body
            .collect()
            .await
            .map_err(|err| StoreError::S3 {
                operation: "GetObject",
                bucket: bucket.to_string(),
                key: key.to_string(),
                cause: super::causes(&err),
                source: Box::new(err),
            })?
            .into_bytes();
        Ok(FetchedObject {
            body,
            content_type,
            metadata,
        })
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ListedObject>, StoreError> {
        let output = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_start_after(start_after.map(str::to_string))
            .max_keys(limit.clamp(1, 1000) as i32)
            .set_expected_bucket_owner(self.expected_bucket_owner.clone())
            .send()
            .await
            .map_err(|err| self.error("ListObjectsV2", &self.bucket, prefix, err))?;
        Ok(output
            .contents()
            .iter()
            .filter_map(|o| {
                Some(ListedObject {
                    key: o.key()?.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    last_modified: o
                        .last_modified()
                        .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
                })
            })
            .collect())
    }
}
