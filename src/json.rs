//! JSON text helpers that never reinterpret numbers or reorder keys.

/// Re-indents a valid JSON text with two spaces, keeping every token byte for byte (numbers
/// beyond `f64` and key order survive, unlike a round trip through `serde_json::Value`).
pub fn pretty(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + json.len() / 4);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 2));
    };
    while i < json.len() {
        let b = json[i];
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                let next = json[i + 1..].iter().position(|c| !c.is_ascii_whitespace());
                if let Some(n) = next.filter(|n| json[i + 1 + n] == close) {
                    out.push(b);
                    out.push(close);
                    i += n + 2;
                    continue;
                }
                out.push(b);
                depth += 1;
                newline(&mut out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn pretty_keeps_tokens_and_structure() {
        let text =
            br#"[{"a":123456789012345678901234567890,"b":[],"c":{ },"d":"x,{\"y\":[1]}"},[1,2]]"#;
        let out = String::from_utf8(pretty(text)).unwrap();
        assert!(out.contains("123456789012345678901234567890"));
        assert!(out.contains(r#""d": "x,{\"y\":[1]}""#));
        assert!(out.contains("\"b\": [],"));
        assert!(out.contains("\"c\": {},"));
        let a: serde_json::Value = serde_json::from_slice(text).unwrap();
        let b: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(a, b);
        assert!(out.lines().count() > 5);
    }
}
