//! An in-memory store for unit tests and benchmarks (never used by the Lambda function).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{FetchedObject, ListedObject, PayloadStore, StoreError, StoredObject, Written};

/// Objects kept in a map, keyed by object key.
#[derive(Debug, Default)]
pub struct MemoryStore {
    bucket: String,
    objects: Mutex<BTreeMap<String, StoredObject>>,
}

impl MemoryStore {
    /// An empty store whose claim checks name `bucket`.
    pub fn new(bucket: impl Into<String>) -> Self {
        MemoryStore {
            bucket: bucket.into(),
            objects: Mutex::default(),
        }
    }

    /// A copy of every object, by key.
    pub fn objects(&self) -> BTreeMap<String, StoredObject> {
        self.lock().clone()
    }

    /// Replaces an object's bytes, as someone tampering with the bucket would.
    pub fn overwrite(&self, key: &str, body: impl Into<bytes::Bytes>) {
        if let Some(object) = self.lock().get_mut(key) {
            object.body = body.into();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StoredObject>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl PayloadStore for MemoryStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    fn uri(&self, key: &str) -> String {
        format!("memory://{}/{key}", self.bucket)
    }

    async fn put(&self, object: StoredObject) -> Result<Written, StoreError> {
        Ok(match self.lock().entry(object.key.clone()) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(object);
                Written::New
            }
            std::collections::btree_map::Entry::Occupied(_) => Written::Existing,
        })
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<FetchedObject, StoreError> {
        let found = (bucket == self.bucket)
            .then(|| self.lock().get(key).cloned())
            .flatten();
        match found {
            Some(object) => Ok(FetchedObject {
                body: object.body,
                content_type: Some(object.content_type.to_string()),
                metadata: object
                    .metadata
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            }),
            None => Err(StoreError::NotFound {
                location: self.uri(key),
            }),
        }
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ListedObject>, StoreError> {
        Ok(self
            .lock()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix) && start_after.is_none_or(|s| k.as_str() > s))
            .take(limit)
            .map(|(k, o)| ListedObject {
                key: k.clone(),
                size: o.body.len() as u64,
                last_modified: None,
            })
            .collect())
    }
}
