//! The production store: Amazon S3 through `aws-sdk-s3`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ServerSideEncryption};
use base64::Engine as _;

use super::{FetchedObject, PayloadStore, StoreError, StoredObject};
use crate::config::Sse;

/// Builds an S3 client from the standard AWS environment (credentials, region,
/// `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`). With a custom endpoint, requests use path-style
/// addressing, which S3-compatible servers need. Build it once, at cold start.
pub async fn s3_client_from_env() -> aws_sdk_s3::Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .read_timeout(Duration::from_secs(20))
        .operation_attempt_timeout(Duration::from_secs(30))
        .build();
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await;
    let custom_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    let config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(custom_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(config)
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

    fn error(
        &self,
        operation: &'static str,
        bucket: &str,
        key: &str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::S3 {
            operation,
            bucket: bucket.to_string(),
            key: key.to_string(),
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

    async fn put(&self, object: StoredObject) -> Result<(), StoreError> {
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
            Ok(_) => Ok(()),
            Err(err) if err.raw_response().map(|r| r.status().as_u16()) == Some(412) => Ok(()),
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
            .map_err(|err| self.error("GetObject", bucket, key, err))?
            .into_bytes();
        Ok(FetchedObject {
            body,
            content_type,
            metadata,
        })
    }
}
