//! Base64 as Pipes sends it (keys and values of records) and as events show bytes.

use base64::Engine as _;

/// Encodes bytes as standard padded base64, the form events use.
pub fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Appends `bytes` to `out` as a JSON string holding their standard padded base64, encoded in
/// place (no intermediate `String`).
pub fn write_base64_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let len = bytes.len().div_ceil(3) * 4;
    out.resize(start + len, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

/// Text that is not base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not valid base64")]
pub struct InvalidBase64;

/// Decodes standard base64 as Pipes sends it: padding optional, non-zero trailing bits accepted
/// (the AWS documentation's own MSK sample has them), ASCII white space ignored. Uses the
/// SIMD decoder of `base64-simd` (the WHATWG "forgiving-base64" rules).
///
/// # Errors
/// [`InvalidBase64`] when `text` is not base64.
pub fn from_base64(text: &str) -> Result<Vec<u8>, InvalidBase64> {
    base64_simd::forgiving_decode_to_vec(text.as_bytes()).map_err(|_| InvalidBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_base64_accepts_the_aws_msk_sample_key() {
        // The key of the MSK sample record in the EventBridge Pipes documentation.
        assert!(
            base64::engine::general_purpose::STANDARD
                .decode("abcDEFghiJKLmnoPQRstuVWXyz1234==")
                .is_err()
        );
        assert!(from_base64("abcDEFghiJKLmnoPQRstuVWXyz1234==").is_ok());
        assert_eq!(from_base64("aGk").unwrap(), b"hi");
        assert!(from_base64("not base64!").is_err());
    }

    #[test]
    fn base64_strings_are_written_in_place() {
        for len in 0..10 {
            let bytes: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(97)).collect();
            let mut out = b"x".to_vec();
            write_base64_str(&mut out, &bytes);
            assert_eq!(out, format!("x\"{}\"", to_base64(&bytes)).into_bytes());
        }
    }
}
