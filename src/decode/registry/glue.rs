//! Schemas from the AWS Glue Schema Registry: `GetSchemaVersion` by `SchemaVersionId`.

use std::sync::Arc;

use super::{FetchError, FetchedSchema, SchemaId, SchemaSource};
use crate::decode::codec;
use async_trait::async_trait;
use aws_sdk_glue::error::ProvideErrorMetadata as _;
use aws_sdk_glue::operation::get_schema_version::GetSchemaVersionError;

/// A Glue Schema Registry client.
#[derive(Clone, Debug)]
pub struct GlueSource {
    client: aws_sdk_glue::Client,
}

impl GlueSource {
    /// A source using `config` (region, credentials, `AWS_ENDPOINT_URL_GLUE`, retries).
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        GlueSource {
            client: aws_sdk_glue::Client::new(config),
        }
    }
}

#[async_trait]
impl SchemaSource for GlueSource {
    async fn fetch(&self, id: SchemaId) -> Result<FetchedSchema, FetchError> {
        let SchemaId::Glue(uuid) = id else {
            return Err(FetchError::NotFound(format!(
                "{id} is not a Glue schema version id"
            )));
        };
        let version_id = crate::decode::hyphenated_uuid(&uuid);
        let output = match self
            .client
            .get_schema_version()
            .schema_version_id(&version_id)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) => {
                if let Some(
                    GetSchemaVersionError::EntityNotFoundException(_)
                    | GetSchemaVersionError::InvalidInputException(_),
                ) = err.as_service_error()
                {
                    return Err(FetchError::NotFound(format!(
                        "{id} is not in the Glue Schema Registry ({})",
                        err.as_service_error()
                            .and_then(|e| e.message())
                            .unwrap_or("not found")
                    )));
                }
                // A schema this function may not read (in another registry than the role's
                // policy names, say): no retry cures it. The service's message names the ARN.
                if let Some(GetSchemaVersionError::AccessDeniedException(denied)) =
                    err.as_service_error()
                {
                    return Err(FetchError::Forbidden(format!(
                        "Glue GetSchemaVersion({version_id}) was denied: {} (grant glue:GetSchemaVersion on the schema's registry and schema; `claim-check reemit` replays the record once it is)",
                        denied.message().unwrap_or("AccessDeniedException")
                    )));
                }
                let message = format!(
                    "Glue GetSchemaVersion({version_id}) failed: {}",
                    err.as_service_error()
                        .and_then(|e| e
                            .code()
                            .map(|c| format!("{c}: {}", e.message().unwrap_or(""))))
                        .unwrap_or_else(|| err.to_string())
                );
                return Err(FetchError::Unavailable {
                    message,
                    source: Some(Arc::new(err)),
                });
            }
        };
        let schema_type = output
            .data_format()
            .map(|f| f.as_str().to_string())
            .unwrap_or_default();
        if codec::for_schema_type(&schema_type).is_none() {
            return Err(FetchError::NotFound(format!(
                "{id} has the data format {schema_type:?}, which this function does not know"
            )));
        }
        let Some(text) = output.schema_definition() else {
            return Err(FetchError::NotFound(format!(
                "{id} has no schema definition"
            )));
        };
        let mut labels = Vec::new();
        // arn:aws:glue:REGION:ACCOUNT:schema/REGISTRY/SCHEMA
        if let Some((registry, schema)) = output
            .schema_arn()
            .and_then(|arn| arn.split_once(":schema/"))
            .and_then(|(_, names)| names.split_once('/'))
        {
            labels.push(("registryName".to_string(), registry.into()));
            labels.push(("schemaName".to_string(), schema.into()));
        }
        if let Some(version) = output.version_number() {
            labels.push(("versionNumber".to_string(), version.into()));
        }
        Ok(FetchedSchema {
            schema_type,
            text: text.to_string(),
            references: Vec::new(),
            labels,
        })
    }
}
