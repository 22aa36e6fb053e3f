//! The uploads: every object of a batch written concurrently, within the Lambda deadline.

use std::time::Instant;

use futures::{StreamExt, TryStreamExt};

use super::{EnrichError, Enricher};
use crate::store::{StoredObject, Written};

impl Enricher {
    /// Writes the objects; returns how many were already there.
    pub(super) async fn upload(
        &self,
        objects: Vec<StoredObject>,
        deadline: Option<Instant>,
    ) -> Result<usize, EnrichError> {
        if objects.is_empty() {
            return Ok(0);
        }
        let pending = objects.len();
        let uploads = futures::stream::iter(objects)
            .map(|object| self.store.put(object))
            .buffer_unordered(self.settings.upload_concurrency)
            .try_fold(0, |existing, written| async move {
                Ok(existing + usize::from(written == Written::Existing))
            });
        let Some(deadline) = deadline else {
            return Ok(uploads.await?);
        };
        let give_up = deadline
            .checked_sub(self.settings.deadline_margin)
            .unwrap_or(deadline);
        match tokio::time::timeout_at(give_up.into(), uploads).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(EnrichError::Deadline {
                pending,
                bucket: self.store.bucket().to_string(),
                margin_ms: self.settings.deadline_margin.as_millis(),
            }),
        }
    }
}
