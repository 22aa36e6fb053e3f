//! Checking what was read against what the event says it is.

use sha2::{Digest, Sha256};

use super::ResolveError;

/// Checks bytes read from `bucket`/`key` against the size (when known) and the lowercase or
/// uppercase hex SHA-256 they should have.
///
/// # Errors
/// [`ResolveError::SizeMismatch`] or [`ResolveError::ChecksumMismatch`].
pub fn verify(
    bucket: &str,
    key: &str,
    body: &[u8],
    size: Option<u64>,
    sha256_hex: &str,
) -> Result<(), ResolveError> {
    let actual_size = body.len() as u64;
    if let Some(expected) = size
        && expected != actual_size
    {
        return Err(ResolveError::SizeMismatch {
            bucket: bucket.to_string(),
            key: key.to_string(),
            expected,
            actual: actual_size,
        });
    }
    let actual = hex::encode(Sha256::digest(body));
    if !actual.eq_ignore_ascii_case(sha256_hex) {
        return Err(ResolveError::ChecksumMismatch {
            bucket: bucket.to_string(),
            key: key.to_string(),
            expected: sha256_hex.to_string(),
            actual,
        });
    }
    Ok(())
}
