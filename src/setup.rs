//! Building the parts once, at cold start: the AWS SDK configuration is loaded at most once, and
//! only when a part needs it (a local store and no registry load nothing), and the stores, the
//! schema-registry decoder and the resolver's store are built from it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::OnceCell;

use crate::consume::Allowlist;
use crate::decode::registry::confluent::ConfluentSource;
use crate::decode::registry::glue::GlueSource;
use crate::decode::registry::{
    ClientCertificate, Credentials, FetchError, Framing, RegistryDecoder, RegistryKind,
    RegistrySettings, RootCertificate, SchemaSource, Tls,
};
use crate::decode::{Classifier, Decoder};
use crate::enrich::Settings;
use crate::store::{DirStore, LOCAL_BUCKET, PayloadStore, S3Store, StoreError, s3_client};

/// A part could not be set up: the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The registry credentials' secret could not be read.
    #[error("could not read the schema registry secret {arn}: {cause}")]
    SecretUnreadable {
        /// The secret.
        arn: String,
        /// The cause on one line.
        cause: String,
        /// The SDK's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The secret does not hold what it should.
    #[error("the secret {arn} does not hold {expected}")]
    SecretFormat {
        /// The secret.
        arn: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// The registry client could not be built.
    #[error("could not set up the schema registry client: {0}")]
    Registry(#[source] FetchError),
    /// The local store could not be opened.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The AWS SDK configuration (credentials, region, endpoints), loaded on first use and shared by
/// every client built from it. Make one per process.
#[derive(Debug, Default)]
pub struct Aws {
    config: OnceCell<aws_config::SdkConfig>,
    loads: AtomicUsize,
}

impl Aws {
    /// Nothing is loaded until a part needs it.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared configuration, loaded from the environment the first time.
    pub async fn config(&self) -> &aws_config::SdkConfig {
        self.config
            .get_or_init(|| async {
                self.loads.fetch_add(1, Ordering::Relaxed);
                aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
            })
            .await
    }

    /// How many times the configuration was loaded: 0 or 1.
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::Relaxed)
    }

    /// The S3 store of `bucket`, with the settings' encryption and expected owner.
    pub async fn s3_store(&self, settings: &Settings, bucket: &str) -> S3Store {
        S3Store::new(
            s3_client(self.config().await),
            bucket,
            settings.sse.clone(),
            settings.expected_bucket_owner.clone(),
        )
    }

    /// The store the settings name: the S3 bucket (or one on the S3-compatible server named by
    /// `AWS_ENDPOINT_URL_S3`) when they name one, else the local directory `local_dir`.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the local directory cannot be created.
    pub async fn store(
        &self,
        settings: &Settings,
        local_dir: &Path,
    ) -> Result<Arc<dyn PayloadStore>, StoreError> {
        Ok(match &settings.bucket {
            Some(bucket) => Arc::new(self.s3_store(settings, bucket).await),
            None => Arc::new(DirStore::open(local_dir)?),
        })
    }

    /// The decoder the registry settings ask for: [`Classifier`] when no registry is set, else a
    /// [`RegistryDecoder`] with its client built.
    ///
    /// # Errors
    /// [`SetupError`] naming what could not be set up (the secret unreadable, say).
    pub async fn decoder(
        &self,
        settings: &RegistrySettings,
    ) -> Result<Arc<dyn Decoder>, SetupError> {
        Ok(match self.registry_decoder(settings).await? {
            Some(decoder) => Arc::new(decoder),
            None => Arc::new(Classifier),
        })
    }

    /// The [`RegistryDecoder`] the settings ask for, `None` when they name no registry. A
    /// Confluent registry's credentials are read from Secrets Manager when a secret is named.
    ///
    /// # Errors
    /// As [`Aws::decoder`].
    pub async fn registry_decoder(
        &self,
        settings: &RegistrySettings,
    ) -> Result<Option<RegistryDecoder>, SetupError> {
        let (source, framing): (Arc<dyn SchemaSource>, Framing) = match settings.kind {
            RegistryKind::None => return Ok(None),
            RegistryKind::Glue => (
                Arc::new(GlueSource::new(self.config().await)),
                Framing::Glue,
            ),
            RegistryKind::Confluent => {
                let credentials = match &settings.secret_arn {
                    None => settings.credentials.clone(),
                    Some(arn) => {
                        let secret = self.read_secret(arn).await?;
                        Some(Credentials::from_secret(&secret).ok_or_else(|| {
                            SetupError::SecretFormat {
                                arn: arn.clone(),
                                expected: "KEY:SECRET or a JSON object with username and password",
                            }
                        })?)
                    }
                };
                let tls = Tls {
                    root_ca: match &settings.root_ca_secret_arn {
                        Some(arn) => Some(
                            self.read_json_secret::<RootCertificate>(
                                arn,
                                "a JSON object with certificate (X.509 PEM), as Lambda's SERVER_ROOT_CA_CERTIFICATE secret",
                            )
                            .await?,
                        ),
                        None => None,
                    },
                    client: match &settings.client_cert_secret_arn {
                        Some(arn) => Some(
                            self.read_json_secret::<ClientCertificate>(
                                arn,
                                "a JSON object with certificate (X.509 chain PEM), privateKey (PKCS#8 PEM) and an optional privateKeyPassword, as Lambda's CLIENT_CERTIFICATE_TLS_AUTH secret",
                            )
                            .await?,
                        ),
                        None => None,
                    },
                };
                if (tls.root_ca.is_some() || tls.client.is_some())
                    && settings.urls.iter().any(|u| u.starts_with("http://"))
                {
                    tracing::warn!(
                        "CLAIM_CHECK_SCHEMA_REGISTRY_URL has http:// URLs: the root CA and client certificate apply to https:// ones only"
                    );
                }
                let source = ConfluentSource::with_tls(settings.urls.clone(), credentials, &tls)
                    .map_err(SetupError::Registry)?;
                (Arc::new(source), Framing::Confluent)
            }
        };
        Ok(Some(
            RegistryDecoder::new(source, framing, settings.fields)
                .with_options(settings.codec_options),
        ))
    }

    /// A Secrets Manager secret's string.
    async fn read_secret(&self, arn: &str) -> Result<String, SetupError> {
        let client = aws_sdk_secretsmanager::Client::new(self.config().await);
        let secret = client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| SetupError::SecretUnreadable {
                arn: arn.to_string(),
                cause: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
                source: Box::new(e),
            })?;
        secret
            .secret_string()
            .map(str::to_string)
            .ok_or_else(|| SetupError::SecretFormat {
                arn: arn.to_string(),
                expected: "a secret string",
            })
    }

    /// A Secrets Manager secret holding a JSON object.
    async fn read_json_secret<T: serde::de::DeserializeOwned>(
        &self,
        arn: &str,
        expected: &'static str,
    ) -> Result<T, SetupError> {
        let text = self.read_secret(arn).await?;
        serde_json::from_str(&text).map_err(|_| SetupError::SecretFormat {
            arn: arn.to_string(),
            expected,
        })
    }

    /// The store and allowlist for `allowed` entries (`BUCKET[/PREFIX]`, as
    /// [`crate::consume::ResolverSettings`] holds them): S3, with the first entry's bucket as
    /// the store's own, or, with no entry, the local directory store at `local_dir`.
    ///
    /// # Errors
    /// [`StoreError`] when the local directory cannot be opened.
    pub async fn resolver_store(
        &self,
        settings: &Settings,
        allowed: &[String],
        local_dir: &Path,
    ) -> Result<(Arc<dyn PayloadStore>, Allowlist), StoreError> {
        Ok(match allowed.first() {
            None => (
                Arc::new(DirStore::open(local_dir)?),
                Allowlist::new([LOCAL_BUCKET]),
            ),
            Some(first) => {
                let bucket = first
                    .trim_start_matches("s3://")
                    .split('/')
                    .next()
                    .unwrap_or_default();
                (
                    Arc::new(self.s3_store(settings, bucket).await),
                    Allowlist::new(allowed),
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::registry::Fields;

    #[tokio::test]
    async fn the_sdk_configuration_is_loaded_once_and_only_when_needed() {
        let aws = Aws::new();
        let dir = tempfile::tempdir().unwrap();
        // A local store and no registry: nothing to load.
        aws.store(&Settings::default(), dir.path()).await.unwrap();
        aws.decoder(&RegistrySettings::default()).await.unwrap();
        assert_eq!(aws.loads(), 0);
        // S3, Glue and the resolver's S3 store share one load.
        let settings = Settings {
            bucket: Some("claims".into()),
            ..Settings::default()
        };
        aws.store(&settings, dir.path()).await.unwrap();
        let glue = RegistrySettings {
            kind: RegistryKind::Glue,
            fields: Fields::default(),
            ..RegistrySettings::default()
        };
        assert!(aws.registry_decoder(&glue).await.unwrap().is_some());
        aws.resolver_store(&settings, &["claims".into()], dir.path())
            .await
            .unwrap();
        assert_eq!(aws.loads(), 1);
    }
}
