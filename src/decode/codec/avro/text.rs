//! Avro values written as JSON text: floats, dates, times and exact decimals.

use std::fmt::Write as _;

struct Buf<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

pub(super) fn write_date(out: &mut Vec<u8>, date: chrono::NaiveDate) {
    use chrono::Datelike;
    let _ = write!(
        Buf(out),
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month(),
        date.day()
    );
}

/// `HH:MM:SS.fff…` with `digits` fraction digits.
pub(super) fn write_time(out: &mut Vec<u8>, seconds: i64, fraction: i64, digits: usize) {
    let _ = write!(
        Buf(out),
        "{:02}:{:02}:{:02}.{:0digits$}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        fraction
    );
}

/// The exact decimal string of a big-endian two's-complement unscaled value and a scale.
pub(super) fn write_decimal(out: &mut Vec<u8>, bytes: &[u8], scale: usize) {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    if bytes.len() <= 16 {
        // The common case, without allocating: sign-extend into an i128.
        let mut be = [if negative { 0xff } else { 0 }; 16];
        be[16 - bytes.len()..].copy_from_slice(bytes);
        let unscaled = i128::from_be_bytes(be);
        if unscaled < 0 {
            out.push(b'-');
        }
        let mut buffer = itoa::Buffer::new();
        place_point(out, buffer.format(unscaled.unsigned_abs()), scale);
        return;
    }
    // Magnitude as big-endian bytes.
    let mut magnitude: Vec<u8> = bytes.to_vec();
    if negative {
        // Two's complement: invert and add one.
        for b in &mut magnitude {
            *b = !*b;
        }
        for b in magnitude.iter_mut().rev() {
            let (sum, carry) = b.overflowing_add(1);
            *b = sum;
            if !carry {
                break;
            }
        }
    }
    let digits = decimal_digits(&magnitude);
    if negative && digits != "0" {
        out.push(b'-');
    }
    place_point(out, &digits, scale);
}

/// Writes `digits` with a decimal point `scale` digits from the right.
fn place_point(out: &mut Vec<u8>, digits: &str, scale: usize) {
    if scale == 0 {
        out.extend_from_slice(digits.as_bytes());
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int.as_bytes());
        out.push(b'.');
        out.extend_from_slice(frac.as_bytes());
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits.as_bytes());
    }
}

/// The decimal digits of a big-endian unsigned integer (`"0"` for zero).
pub(super) fn decimal_digits(magnitude: &[u8]) -> String {
    // Limbs of base 10^9, most significant first, by repeated multiply-and-add.
    let mut limbs: Vec<u32> = Vec::new();
    for &byte in magnitude {
        let mut carry = u64::from(byte);
        for limb in limbs.iter_mut().rev() {
            let v = u64::from(*limb) * 256 + carry;
            *limb = (v % 1_000_000_000) as u32;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.insert(0, (carry % 1_000_000_000) as u32);
            carry /= 1_000_000_000;
        }
    }
    let mut digits = String::new();
    for (i, limb) in limbs.iter().enumerate() {
        if i == 0 {
            let _ = write!(digits, "{limb}");
        } else {
            let _ = write!(digits, "{limb:09}");
        }
    }
    if digits.is_empty() {
        digits.push('0');
    }
    digits
}
