//! EventBridge's rule matching and input transformer, as the EventBridge User Guide documents them,
//! for the parts the template uses. No AWS tool runs either locally (moto's transformer inserts
//! strings without quotes and leaves placeholders of missing paths in place, unlike the guide's
//! examples), so the tests apply the template's own patterns and transformers with this model.
//!
//! Input transformation ("Amazon EventBridge input transformation", eb-transform-target-input):
//! - `InputPathsMap` names variables by JSON path (dot notation, array indices); `<name>` in
//!   `InputTemplate` is replaced by the value; `<` and `>` cannot be escaped.
//! - A placeholder outside quotes takes the value as JSON (a string with its quotes: "Simple
//!   JSON" example); inside a JSON string a value goes in as its text, and "EventBridge doesn't
//!   escape values extracted by Input Path" there.
//! - "If you specify a variable to match a JSON path that doesn't exist in the event, that variable
//!   isn't created and won't appear in the output": modelled as an error, since the request body
//!   can then not be the JSON the template means.
//!
//! Event patterns ("Creating event patterns", eb-event-patterns): every field of the pattern must
//! match; a list matches when any of its values does; `null` matches a null value (not a missing
//! field); `{"exists": false}` matches a missing field, `{"exists": true}` a present one;
//! `"$or"` matches when any of its patterns does.

use serde_json::{Map, Value};

/// The value at a JSON path such as `$.detail.key` or `$.detail.headers[0]`.
pub fn at_path<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    let mut current = event;
    for step in rest.split('.').skip(1) {
        let (name, indices) = match step.find('[') {
            Some(i) => (&step[..i], &step[i..]),
            None => (step, ""),
        };
        if !name.is_empty() {
            current = current.get(name)?;
        }
        for index in indices.split('[').skip(1) {
            let i: usize = index.strip_suffix(']')?.parse().ok()?;
            current = current.get(i)?;
        }
    }
    Some(current)
}

/// The request body a target receives: `template` with its placeholders filled from `event`.
pub fn transform(
    paths: &Map<String, Value>,
    template: &str,
    event: &Value,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
            && let Some(value) = variable(&rest[1..end], paths, event)?
        {
            match (in_string, value) {
                (true, Value::String(s)) => out.push_str(&s),
                (_, value) => out.push_str(&value.to_string()),
            }
            rest = &rest[end + 1..];
            continue;
        }
        if in_string && escaped {
            escaped = false;
        } else if in_string && c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_string = !in_string;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// The value of `<name>`: `None` when `name` is no variable (the text stays as written).
fn variable(
    name: &str,
    paths: &Map<String, Value>,
    event: &Value,
) -> Result<Option<Value>, String> {
    if name == "aws.events.event.json" {
        return Ok(Some(event.clone()));
    }
    let Some(path) = paths.get(name).and_then(Value::as_str) else {
        return Ok(None);
    };
    match at_path(event, path) {
        Some(value) => Ok(Some(value.clone())),
        None => Err(format!(
            "<{name}>: {path} is not in the event, so EventBridge creates no variable and the \
             request is not the JSON the template means"
        )),
    }
}

/// Whether `event` matches the event pattern `pattern`.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        panic!("a pattern is an object: {pattern}");
    };
    fields.iter().all(|(name, expected)| {
        if name == "$or" {
            return expected
                .as_array()
                .unwrap()
                .iter()
                .any(|p| matches(p, event));
        }
        let actual = event.get(name);
        match expected {
            Value::Array(values) => values.iter().any(|v| leaf_matches(v, actual)),
            Value::Object(_) => matches(expected, actual.unwrap_or(&Value::Object(Map::new()))),
            other => panic!("a pattern's values are lists or objects: {other}"),
        }
    })
}

fn leaf_matches(expected: &Value, actual: Option<&Value>) -> bool {
    if let Some(exists) = expected.get("exists") {
        return exists.as_bool().unwrap() == actual.is_some();
    }
    assert!(
        !expected.is_object(),
        "pattern operator not modelled: {expected}"
    );
    match actual {
        Some(Value::Array(values)) => values.contains(expected),
        Some(value) => value == expected,
        None => false,
    }
}

/// An event as a bus delivers it to a rule's targets, with `detail` as given.
pub fn envelope(source: &str, detail_type: &str, detail: &Value) -> Value {
    serde_json::json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-12-04T12:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    })
}
