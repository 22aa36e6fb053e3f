//! A local directory store: objects under `DIR/KEY`, for running the pipeline with no AWS
//! account and no server.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{FetchedObject, ListedObject, PayloadStore, StoreError, StoredObject, Written};

/// Bucket name written in claim checks of the local store.
pub const LOCAL_BUCKET: &str = "local";

/// Objects as files under a root directory.
#[derive(Clone, Debug)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store rooted at `root`, created if needed.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the directory cannot be created or resolved.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, StoreError> {
        let root = root.as_ref();
        let io = |source| StoreError::Io {
            action: "create the store directory",
            path: root.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(root).map_err(io)?;
        let root = root.canonicalize().map_err(io)?;
        Ok(DirStore { root })
    }

    /// The root directory (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`, refusing keys that are not plain relative paths. Keys are built from
    /// checked components (see [`crate::keys`]); this is the second line of defence.
    pub fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        let plain = !key.is_empty()
            && !key.starts_with('/')
            && !key.contains(['\\', '\0'])
            && key
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..");
        if plain {
            Ok(self.root.join(key))
        } else {
            Err(StoreError::UnsafeKey {
                key: key.to_string(),
            })
        }
    }
}

#[async_trait]
impl PayloadStore for DirStore {
    fn bucket(&self) -> &str {
        LOCAL_BUCKET
    }

    fn uri(&self, key: &str) -> String {
        format!("file://{}/{key}", self.root.display())
    }

    async fn put(&self, object: StoredObject) -> Result<Written, StoreError> {
        let path = self.path_of(&object.key)?;
        let io = |action, source| StoreError::Io {
            action,
            path: path.clone(),
            source,
        };
        if tokio::fs::try_exists(&path)
            .await
            .map_err(|e| io("check", e))?
        {
            return Ok(Written::Existing);
        }
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io("create the directory of", e))?;
        }
        // Write then rename, so a reader never sees a partial object.
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        tokio::fs::write(&tmp, &object.body)
            .await
            .map_err(|e| io("write", e))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| io("rename into place", e))?;
        Ok(Written::New)
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<FetchedObject, StoreError> {
        let path = self.path_of(key)?;
        if bucket != LOCAL_BUCKET {
            return Err(StoreError::NotFound {
                location: format!(
                    "s3://{bucket}/{key} (the local store holds bucket {LOCAL_BUCKET:?} only)"
                ),
            });
        }
        match tokio::fs::read(&path).await {
            Ok(body) => Ok(FetchedObject {
                content_type: Some(content_type_of(key, &body).to_string()),
                body: body.into(),
                metadata: Default::default(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound {
                location: path.display().to_string(),
            }),
            Err(source) => Err(StoreError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ListedObject>, StoreError> {
        // Walk only the deepest directory the prefix names; filter the rest by key.
        let base = match prefix.rfind('/') {
            Some(i) => self.root.join(&prefix[..i]),
            None => self.root.clone(),
        };
        let mut found = Vec::new();
        let mut stack = vec![base];
        while let Some(dir) = stack.pop() {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(StoreError::Io {
                        action: "list",
                        path: dir,
                        source,
                    });
                }
            };
            while let Some(entry) = entries
                .next_entry()
                .await
                .map_err(|source| StoreError::Io {
                    action: "list",
                    path: dir.clone(),
                    source,
                })?
            {
                let path = entry.path();
                let Ok(meta) = entry.metadata().await else {
                    continue;
                };
                if meta.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Some(key) = path
                    .strip_prefix(&self.root)
                    .ok()
                    .and_then(|p| p.to_str())
                    .map(str::to_string)
                else {
                    continue;
                };
                // Skip files being written (renamed into place when complete).
                if key.contains(".tmp-") {
                    continue;
                }
                if key.starts_with(prefix) && start_after.is_none_or(|s| key.as_str() > s) {
                    found.push(ListedObject {
                        key,
                        size: meta.len(),
                        last_modified: meta.modified().ok(),
                    });
                }
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        found.truncate(limit);
        Ok(found)
    }
}

/// Files keep no content type: dead letters are JSON, payloads are classified again.
fn content_type_of(key: &str, body: &[u8]) -> &'static str {
    if key.ends_with(".json") {
        "application/json"
    } else {
        crate::decode::Encoding::Shown(crate::decode::classify(body)).content_type()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str) -> StoredObject {
        StoredObject {
            key: key.to_string(),
            body: bytes::Bytes::from_static(b"hello"),
            sha256: [0; 32],
            content_type: "text/plain; charset=utf-8",
            metadata: Default::default(),
        }
    }

    #[tokio::test]
    async fn writes_under_the_root_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::open(dir.path()).unwrap();
        store.put(object("a/b/c")).await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("a/b/c")).unwrap(), b"hello");
        let got = store.get(LOCAL_BUCKET, "a/b/c").await.unwrap();
        assert_eq!(&got.body[..], b"hello");
        assert!(store.uri("a/b/c").starts_with("file:///"));
        assert!(matches!(
            store.get(LOCAL_BUCKET, "a/b/none").await,
            Err(StoreError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn keys_that_escape_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::open(dir.path().join("store")).unwrap();
        for key in ["../x", "a/../../x", "/etc/x", "a//b", "a\\b", ""] {
            assert!(
                matches!(
                    store.put(object(key)).await,
                    Err(StoreError::UnsafeKey { .. })
                ),
                "{key:?}"
            );
        }
        assert!(!dir.path().join("x").exists());
    }
}
