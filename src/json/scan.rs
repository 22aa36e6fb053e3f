//! The plain part of a JSON string: how many bytes come before the first quote, backslash or
//! control character. Most of a large JSON document is string content, so this scan is what the
//! validator and the string writer spend their time on.
//!
//! Sixteen bytes at a time with the vector instructions every CPU the function ships for has:
//! SSE2 on x86-64 and NEON on arm64 (both part of the architecture's baseline, so no runtime
//! detection is needed), then eight bytes at a time in a `u64` and one at a time for the last few.
//! The tests compare every path with the byte-at-a-time definition.

/// How many leading bytes of `bytes` are neither a quote, a backslash nor a control character
/// (`bytes.len()` when none is).
#[inline]
pub(crate) fn plain_len(bytes: &[u8]) -> usize {
    let mut i = match blocks(bytes) {
        Ok(stop) => return stop,
        Err(scanned) => scanned,
    };
    while let Some(word) = bytes.get(i..i + 8) {
        let stops = string_stops(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && !STRING_STOP[bytes[i] as usize] {
        i += 1;
    }
    i
}

/// Scans whole 16-byte blocks: `Ok(index)` of the first stop byte, or `Err(scanned)` when the
/// blocks hold none and fewer than 16 bytes remain after `scanned`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn blocks(bytes: &[u8]) -> Result<usize, usize> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut i = 0;
    // SAFETY: SSE2 is part of x86-64, so its intrinsics are always available; every load reads
    // 16 bytes at `i` with `i + 16 <= bytes.len()`, inside `bytes` (`_mm_loadu_si128` has no
    // alignment requirement).
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let last_control = _mm_set1_epi8(0x1f);
        while i + 16 <= bytes.len() {
            let block = _mm_loadu_si128(bytes.as_ptr().add(i).cast::<__m128i>());
            // A byte is a control character when min(byte, 0x1f) == byte (unsigned).
            let control = _mm_cmpeq_epi8(_mm_min_epu8(block, last_control), block);
            let stops = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(block, quote),
                    _mm_cmpeq_epi8(block, backslash),
                ),
                control,
            );
            let mask = _mm_movemask_epi8(stops) as u32;
            if mask != 0 {
                return Ok(i + mask.trailing_zeros() as usize);
            }
            i += 16;
        }
    }
    Err(i)
}

/// See the x86-64 version.
#[cfg(target_arch = "aarch64")]
#[inline]
fn blocks(bytes: &[u8]) -> Result<usize, usize> {
    use std::arch::aarch64::{
        vceqq_u8, vcltq_u8, vdupq_n_u8, vget_lane_u64, vld1q_u8, vorrq_u8, vreinterpret_u64_u8,
        vreinterpretq_u16_u8, vshrn_n_u16,
    };
    let mut i = 0;
    while i + 16 <= bytes.len() {
        // SAFETY: `i + 16 <= bytes.len()`, so the 16 bytes read are inside `bytes`; `vld1q_u8`
        // has no alignment requirement. NEON is part of the arm64 baseline.
        let nibbles = unsafe {
            let block = vld1q_u8(bytes.as_ptr().add(i));
            let stops = vorrq_u8(
                vorrq_u8(
                    vceqq_u8(block, vdupq_n_u8(b'"')),
                    vceqq_u8(block, vdupq_n_u8(b'\\')),
                ),
                vcltq_u8(block, vdupq_n_u8(0x20)),
            );
            // Four bits per byte: shift each 16-bit lane right by 4 and narrow to 8 bits.
            vget_lane_u64::<0>(vreinterpret_u64_u8(vshrn_n_u16::<4>(vreinterpretq_u16_u8(
                stops,
            ))))
        };
        if nibbles != 0 {
            return Ok(i + (nibbles.trailing_zeros() / 4) as usize);
        }
        i += 16;
    }
    Err(i)
}

/// Elsewhere: no blocks, the `u64` path does it all.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline]
fn blocks(_: &[u8]) -> Result<usize, usize> {
    Err(0)
}

/// Bytes that end the fast part of a string: a quote, a backslash, or a control character.
pub(crate) static STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Flags, in bit 7 of each byte, the bytes of `word` (little-endian) that end the fast part of a
/// string: a quote, a backslash or a control character. Bytes above the first flagged one may be
/// flagged wrongly (borrows propagate upwards), but the lowest flag is always exact, and no such
/// byte is ever missed.
pub(crate) fn string_stops(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero_byte(word ^ (ONES * b'"' as u64));
    let backslash = zero_byte(word ^ (ONES * b'\\' as u64));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

#[cfg(test)]
mod word_tests {
    use super::{STRING_STOP, string_stops};
    use proptest::prelude::*;

    /// Where the word scan says the fast part ends: the first flagged byte, or 8.
    fn first_flagged(word: [u8; 8]) -> usize {
        (string_stops(u64::from_le_bytes(word)).trailing_zeros() / 8) as usize
    }

    fn first_stop(word: [u8; 8]) -> usize {
        word.iter()
            .position(|&b| STRING_STOP[b as usize])
            .unwrap_or(8)
    }

    #[test]
    fn every_byte_value_is_found_at_every_position() {
        for byte in 0..=255u8 {
            for position in 0..8 {
                let mut word = [b'a'; 8];
                word[position] = byte;
                assert_eq!(
                    first_flagged(word),
                    first_stop(word),
                    "byte {byte:#x} at {position}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn the_first_flagged_byte_is_the_first_stop_byte(
            word in prop::array::uniform8(prop::sample::select(vec![0u8, 0x1f, 0x20, b'"', b'#', b'[', b'\\', b']', b'a', 0x7f, 0x80, 0xa2, 0xdc, 0xff]))
        ) {
            prop_assert_eq!(first_flagged(word), first_stop(word));
        }

        #[test]
        fn any_word(word in any::<[u8; 8]>()) {
            prop_assert_eq!(first_flagged(word), first_stop(word));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn byte_at_a_time(bytes: &[u8]) -> usize {
        bytes
            .iter()
            .position(|b| STRING_STOP[*b as usize])
            .unwrap_or(bytes.len())
    }

    #[test]
    fn every_stop_byte_at_every_position_of_every_length() {
        let stops: Vec<u8> = (0..=255u8).filter(|b| STRING_STOP[*b as usize]).collect();
        assert_eq!(stops.len(), 34);
        for len in 0..70 {
            // Plain bytes of every kind around the stop: ASCII, UTF-8 continuation and lead
            // bytes, DEL, the bytes just above the control range.
            let plain: Vec<u8> = (0..len)
                .map(|i| [b'a', 0x80, 0xff, 0x7f, 0x20, 0xc3][i % 6])
                .collect();
            assert_eq!(plain_len(&plain), len);
            for at in 0..len {
                for &stop in &stops {
                    let mut bytes = plain.clone();
                    bytes[at] = stop;
                    assert_eq!(plain_len(&bytes), at, "stop {stop:#04x} at {at} of {len}");
                    // A second stop further on changes nothing.
                    if at + 1 < len {
                        bytes[len - 1] = b'"';
                        assert_eq!(plain_len(&bytes), at);
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn agrees_with_the_byte_at_a_time_definition(
            bytes in prop::collection::vec(
                prop_oneof![
                    8 => 0x20u8..=0xff,
                    1 => Just(b'"'),
                    1 => Just(b'\\'),
                    1 => 0u8..0x20,
                ],
                0..200,
            ),
            offset in 0usize..16,
        ) {
            // Every alignment of the same bytes.
            let start = offset.min(bytes.len());
            prop_assert_eq!(plain_len(&bytes[start..]), byte_at_a_time(&bytes[start..]));
        }
    }
}
