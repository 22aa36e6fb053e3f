//! Finding stored objects: claim checks and dead letters by kind, topic, partition, offset range
//! and age, page by page, in key order.
//!
//! Keys sort by offset within a partition ([`crate::store::keys`]), so a query for one partition starts
//! right at its first offset and stops after its last one instead of reading the whole folder.

use std::time::SystemTime;

use crate::store::keys::{self, Kind, ParsedKey};
use crate::store::{ListedObject, PayloadStore, StoreError};

/// Objects listed per request.
const PAGE: usize = 1_000;

/// Which objects to find.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Payloads, dead letters, or both (in this order).
    pub kinds: Vec<Kind>,
    /// Only this topic.
    pub topic: Option<String>,
    /// Only this partition (with `topic`).
    pub partition: Option<i32>,
    /// Only offsets from this one on.
    pub from_offset: Option<i64>,
    /// Only offsets up to this one.
    pub to_offset: Option<i64>,
    /// Only objects written since then.
    pub since: Option<SystemTime>,
    /// At most this many objects.
    pub limit: usize,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            kinds: vec![Kind::Payload, Kind::DeadLetter],
            topic: None,
            partition: None,
            from_offset: None,
            to_offset: None,
            since: None,
            limit: usize::MAX,
        }
    }
}

/// What [`list`] reports as it goes.
#[derive(Debug)]
pub enum Listed<'a> {
    /// An object that matches the query, with what its key says.
    Match(&'a ParsedKey, &'a ListedObject),
    /// How many objects have been read so far (every 5,000).
    Progress(usize),
}

/// Finds the objects under `key_prefix` that match `query`, calling `each` on every match (and
/// on progress); returns how many matched.
///
/// # Errors
/// A [`StoreError`] from the listing, or the first error `each` returns.
pub async fn list<E: From<StoreError>>(
    store: &dyn PayloadStore,
    key_prefix: &str,
    query: &Query,
    mut each: impl FnMut(Listed<'_>) -> Result<(), E>,
) -> Result<usize, E> {
    let mut shown = 0usize;
    let mut seen = 0usize;
    for kind in &query.kinds {
        let prefix =
            keys::listing_prefix(key_prefix, *kind, query.topic.as_deref(), query.partition);
        // Within one partition, keys sort by offset: start right at `from_offset`.
        let mut start_after = match (query.partition, query.from_offset) {
            (Some(_), Some(from)) if from > 0 => Some(format!("{prefix}{:020}", from - 1)),
            _ => None,
        };
        'pages: loop {
            let page = store.list(&prefix, start_after.as_deref(), PAGE).await?;
            let Some(last) = page.last() else { break };
            start_after = Some(last.key.clone());
            seen += page.len();
            if seen >= 5_000 && seen % 5_000 < page.len() {
                each(Listed::Progress(seen))?;
            }
            for object in &page {
                let Some(parsed) = keys::parse_key(key_prefix, &object.key) else {
                    continue;
                };
                // Within one partition, offsets only grow from here.
                if let (Some(_), Some(to), Some(offset)) =
                    (query.partition, query.to_offset, parsed.offset)
                    && offset > to
                {
                    break 'pages;
                }
                if !matches(query, &parsed, object) {
                    continue;
                }
                each(Listed::Match(&parsed, object))?;
                shown += 1;
                if shown >= query.limit {
                    return Ok(shown);
                }
            }
            if page.len() < PAGE {
                break;
            }
        }
    }
    Ok(shown)
}

fn matches(query: &Query, parsed: &ParsedKey, object: &ListedObject) -> bool {
    let in_range = parsed.offset.is_none_or(|o| {
        query.from_offset.is_none_or(|f| o >= f) && query.to_offset.is_none_or(|t| o <= t)
    });
    let recent = query
        .since
        .is_none_or(|s| object.last_modified.is_none_or(|m| m >= s));
    in_range && recent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Coordinates;
    use crate::store::{MemoryStore, StoredObject};

    async fn store_with(offsets: &[(i32, i64)]) -> MemoryStore {
        let store = MemoryStore::new("b");
        for &(partition, offset) in offsets {
            let coordinates = Coordinates {
                topic: Some("orders".into()),
                partition: Some(partition),
                offset: Some(offset),
                ..Coordinates::default()
            };
            let sha = format!("{:064x}", offset);
            let key = keys::payload_key("p/", &coordinates, &sha);
            store
                .put(StoredObject {
                    key,
                    body: bytes::Bytes::from_static(b"x"),
                    sha256: [0; 32],
                    content_type: "text/plain",
                    metadata: Default::default(),
                })
                .await
                .unwrap();
        }
        store
    }

    async fn offsets(store: &MemoryStore, query: &Query) -> Vec<(i32, i64)> {
        let mut found = Vec::new();
        list::<StoreError>(store, "p/", query, |l| {
            if let Listed::Match(parsed, _) = l {
                found.push((parsed.partition.unwrap(), parsed.offset.unwrap()));
            }
            Ok(())
        })
        .await
        .unwrap();
        found
    }

    #[tokio::test]
    async fn offset_ranges_within_a_partition_in_offset_order() {
        let store = store_with(&[(0, 5), (0, 100), (0, 7), (1, 6), (0, 99)]).await;
        let query = Query {
            topic: Some("orders".into()),
            partition: Some(0),
            from_offset: Some(7),
            to_offset: Some(99),
            ..Query::default()
        };
        assert_eq!(offsets(&store, &query).await, vec![(0, 7), (0, 99)]);
        let all = Query {
            topic: Some("orders".into()),
            ..Query::default()
        };
        assert_eq!(
            offsets(&store, &all).await,
            vec![(0, 5), (0, 7), (0, 99), (0, 100), (1, 6)]
        );
        let two = Query {
            limit: 2,
            ..Query::default()
        };
        assert_eq!(offsets(&store, &two).await.len(), 2);
    }
}
