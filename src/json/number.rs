//! Floating-point numbers as events write them: finite ones as JSON numbers in their shortest
//! form at their own precision (which always has a fraction or an exponent, `1.0`, `1e300`, so no
//! parser takes one for an integer), NaN and the infinities as the strings `"NaN"`, `"Infinity"`
//! and `"-Infinity"` (what Protobuf's JSON mapping writes, and the Avro mapping follows).

/// Appends a `double`.
pub fn write_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(non_finite(value));
    }
}

/// Appends a `float`: the shortest form that reads back as the same 32-bit float.
pub fn write_f32(out: &mut Vec<u8>, value: f32) {
    if value.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(non_finite(f64::from(value)));
    }
}

fn non_finite(value: f64) -> &'static [u8] {
    if value.is_nan() {
        b"\"NaN\""
    } else if value > 0.0 {
        b"\"Infinity\""
    } else {
        b"\"-Infinity\""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_numbers_no_parser_reads_as_integers() {
        let written = |f: f64| {
            let mut out = Vec::new();
            write_f64(&mut out, f);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(written(1.0), "1.0");
        assert_eq!(written(1e300), "1e300");
        assert_eq!(written(-3.5e19), "-3.5e19");
        assert_eq!(written(f64::NAN), "\"NaN\"");
        assert_eq!(written(f64::NEG_INFINITY), "\"-Infinity\"");
        let mut out = Vec::new();
        write_f32(&mut out, f32::MAX);
        assert_eq!(out, b"3.4028235e38");
    }
}
