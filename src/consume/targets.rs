//! Events as each pipe target delivers them to a consumer Lambda function, in the
//! `aws_lambda_events` types.

use super::{ResolveError, Resolved, Resolver};

/// Events as each pipe target delivers them to a consumer, in the `aws_lambda_events` types a
/// Rust Lambda function receives: an EventBridge event (a rule on the bus), an SQS event (a queue
/// target, or a queue subscribed to a topic target), an SNS event (a topic target). A Lambda or
/// Step Functions target receives the JSON array itself: [`Resolver::resolve_all`].
impl Resolver {
    /// Resolves the `detail` of an EventBridge event. With `EventBridgeEvent<Box<RawValue>>` an
    /// inline JSON value comes back byte for byte; with the default `Value` detail, as equal JSON.
    ///
    /// # Errors
    /// A [`ResolveError`], as for [`Resolver::resolve`].
    pub async fn resolve_eventbridge<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        event: &aws_lambda_events::event::eventbridge::EventBridgeEvent<T>,
    ) -> Result<Resolved, ResolveError> {
        let detail = serde_json::to_string(&event.detail)
            .map_err(|_| ResolveError::NotAClaimCheck("`detail` cannot be serialized".into()))?;
        self.resolve(&detail).await
    }

    /// Resolves each message of an SQS event, in order: its body is an event, or an SNS
    /// notification holding one.
    pub async fn resolve_sqs(
        &self,
        event: &aws_lambda_events::event::sqs::SqsEvent,
    ) -> Vec<Result<Resolved, ResolveError>> {
        let mut resolved = Vec::with_capacity(event.records.len());
        for message in &event.records {
            resolved.push(match &message.body {
                Some(body) => self.resolve(body).await,
                None => Err(ResolveError::NotAClaimCheck(
                    "the SQS message has no body".into(),
                )),
            });
        }
        resolved
    }

    /// Resolves each record of an SNS event, in order: its message is an event.
    pub async fn resolve_sns(
        &self,
        event: &aws_lambda_events::event::sns::SnsEvent,
    ) -> Vec<Result<Resolved, ResolveError>> {
        let mut resolved = Vec::with_capacity(event.records.len());
        for record in &event.records {
            resolved.push(self.resolve(&record.sns.message).await);
        }
        resolved
    }
}
