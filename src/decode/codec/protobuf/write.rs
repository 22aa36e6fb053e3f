//! Protobuf wire bytes written straight as JSON, by the compiled [`Plans`]: no message tree, no
//! allocation per field. The mapping is Python's `json_format.MessageToDict(message,
//! preserving_proto_field_name=True)` (optionally with `always_print_fields_with_no_presence`),
//! read in `google/protobuf/json_format.py`:
//!
//! - fields in field-number order, `.proto` names; a field without presence at its default value
//!   is left out (unless defaults are asked for), one with presence is printed when set;
//! - 64-bit integers as strings, 32-bit ones as numbers, `float`/`double` as numbers (`"NaN"`,
//!   `"Infinity"`, `"-Infinity"` as strings), bytes as base64, enums by name (an open enum's
//!   unknown number as the number; a closed enum's unknown number is not kept, as the parser
//!   keeps it among unknown fields);
//! - maps as objects (`"true"`/`"false"` and decimal keys), the last entry for a key winning;
//! - the well-known types in their JSON forms: `Timestamp`, `Duration`, `FieldMask`, `Struct`,
//!   `Value`, `ListValue`, the wrappers, `Any` (`"@type"` first);
//! - as a parser does: the last value of a singular field wins, a singular message field's
//!   occurrences merge, the last member set of a oneof wins, packed and unpacked repeated
//!   values both read, unknown fields skipped.
//!
//! Fields nearly always arrive in number order, each once: they are written as they come. When
//! they do not, the message is written again from its fields sorted.

use super::plan::{EnumPlan, FieldPlan, MessagePlan, Plans, Scalar, Wkt};
use crate::json::{EMBED_MAX_DEPTH, write_base64_str, write_f32, write_f64, write_json_str};

/// Why bytes did not decode.
pub(super) type Error = String;

fn fail<T>(message: impl Into<String>) -> Result<T, Error> {
    Err(message.into())
}

/// A field's value as read off the wire.
#[derive(Clone, Copy, Debug)]
enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
    /// A group, skipped whole: no field this function decodes may be one.
    Group,
}

impl Raw<'_> {
    fn wire_type(self) -> u8 {
        match self {
            Raw::Varint(_) => 0,
            Raw::Fixed64(_) => 1,
            Raw::Len(_) => 2,
            Raw::Group => 3,
            Raw::Fixed32(_) => 5,
        }
    }
}

/// Reads fields off the wire.
struct Fields<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Fields { bytes, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.bytes.get(self.pos) else {
                return fail("a varint is cut short");
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        fail("a varint is longer than 10 bytes")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.bytes.len() - self.pos < n {
            return fail(format!(
                "{n} byte(s) needed, {} left",
                self.bytes.len() - self.pos
            ));
        }
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    /// The next field: its number and value (a group skipped whole).
    fn next(&mut self) -> Result<Option<(u32, Raw<'a>)>, Error> {
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let number = tag >> 3;
        if number == 0 || number > 536_870_911 {
            return fail(format!("field number {number} is out of range"));
        }
        let number = number as u32;
        let raw = match tag & 7 {
            0 => Raw::Varint(self.varint()?),
            1 => Raw::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().unwrap_or_default(),
            )),
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len).map_err(|_| "a length is too large")?;
                Raw::Len(self.take(len)?)
            }
            5 => Raw::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().unwrap_or_default(),
            )),
            3 => {
                self.skip_group(number)?;
                Raw::Group
            }
            wire => return fail(format!("wire type {wire} of field {number} is not valid")),
        };
        Ok(Some((number, raw)))
    }

    /// Skips a group's fields up to its end tag.
    fn skip_group(&mut self, number: u32) -> Result<(), Error> {
        let mut depth = 1usize;
        while depth > 0 {
            if self.pos >= self.bytes.len() {
                return fail("a group is not closed");
            }
            let tag = self.varint()?;
            match tag & 7 {
                0 => {
                    self.varint()?;
                }
                1 => {
                    self.take(8)?;
                }
                2 => {
                    let len =
                        usize::try_from(self.varint()?).map_err(|_| "a length is too large")?;
                    self.take(len)?;
                }
                5 => {
                    self.take(4)?;
                }
                3 => {
                    depth += 1;
                    if depth > EMBED_MAX_DEPTH {
                        return fail("groups nest too deep");
                    }
                }
                4 => {
                    depth -= 1;
                    if depth == 0 && (tag >> 3) as u32 != number {
                        return fail("a group ends with another group's number");
                    }
                }
                wire => return fail(format!("wire type {wire} is not valid")),
            }
        }
        Ok(())
    }
}

/// One field occurrence, for the sorted path.
#[derive(Clone, Copy)]
struct Occurrence<'a> {
    field: usize,
    raw: Raw<'a>,
}

/// A repeated or map field being written.
struct Open {
    field: usize,
    /// Where its key began, to take it back if nothing is kept.
    began: usize,
    /// Whether it was the message's first field.
    was_first: bool,
}

/// Map entries collected until the field ends: the key as JSON, and the value.
type Entries<'a> = Vec<(Vec<u8>, Option<Raw<'a>>)>;

/// Writes JSON for wire bytes with the compiled plans.
pub(super) struct Writer<'p, 'o> {
    plans: &'p Plans,
    out: &'o mut Vec<u8>,
    /// `always_print_fields_with_no_presence`.
    defaults: bool,
    /// The output may not grow past this.
    limit: usize,
}

/// What a scalar value came to.
enum Shown {
    Written,
    /// A closed enum's unknown number: not kept.
    Dropped,
}

/// Refuses a container at `level` (1 for the outermost) deeper than an event carries.
fn enter(level: usize) -> Result<(), Error> {
    if level > EMBED_MAX_DEPTH {
        return fail(format!(
            "the message nests deeper than {EMBED_MAX_DEPTH} levels, more than an event can carry"
        ));
    }
    Ok(())
}

impl<'p, 'o> Writer<'p, 'o> {
    pub(super) fn new(
        plans: &'p Plans,
        out: &'o mut Vec<u8>,
        defaults: bool,
        limit: usize,
    ) -> Self {
        Writer {
            plans,
            out,
            defaults,
            limit,
        }
    }

    fn check_limit(&self) -> Result<(), Error> {
        if self.out.len() > self.limit {
            return fail(format!(
                "the message decodes to more than {} bytes of JSON",
                self.limit
            ));
        }
        Ok(())
    }

    /// A message of type `m`, inside `depth` containers.
    pub(super) fn message(&mut self, m: usize, bytes: &[u8], depth: usize) -> Result<(), Error> {
        let plans = self.plans;
        let plan = &plans.messages[m];
        match plan.wkt {
            None => {
                enter(depth + 1)?;
                self.out.push(b'{');
                self.fields(plan, bytes, depth + 1, true)?;
                self.out.push(b'}');
            }
            Some(Wkt::Wrapper) => {
                let field = plan
                    .fields
                    .first()
                    .ok_or("a wrapper without a value field")?;
                let shown = match last_of(bytes, field)? {
                    Some(raw) => self.scalar(field, raw, depth)?,
                    None => Shown::Dropped,
                };
                if let Shown::Dropped = shown {
                    self.out.extend_from_slice(&field.default);
                }
            }
            Some(Wkt::Timestamp) => self.timestamp(bytes)?,
            Some(Wkt::Duration) => self.duration(bytes)?,
            Some(Wkt::FieldMask) => self.field_mask(plan, bytes)?,
            Some(Wkt::Struct) => self.struct_(plan, bytes, depth)?,
            Some(Wkt::Value) => self.value(plan, bytes, depth)?,
            Some(Wkt::ListValue) => self.list_value(plan, bytes, depth)?,
            Some(Wkt::Any) => self.any(plan, bytes, depth)?,
        }
        self.check_limit()
    }

    /// The fields of a regular message whose object is the `depth`th container, after `{`
    /// (and after `"@type"` in an `Any`: then `first` is false).
    fn fields(
        &mut self,
        plan: &MessagePlan,
        bytes: &[u8],
        depth: usize,
        first: bool,
    ) -> Result<(), Error> {
        let start = self.out.len();
        if self.fields_in_order(plan, bytes, depth, first)? {
            return Ok(());
        }
        self.out.truncate(start);
        self.fields_sorted(plan, bytes, depth, first)
    }

    /// Writes the fields as they come; `Ok(false)` as soon as they do not come in number order
    /// each once (a repeated field's values together), leaving a partial output to discard.
    fn fields_in_order(
        &mut self,
        plan: &MessagePlan,
        bytes: &[u8],
        depth: usize,
        mut first: bool,
    ) -> Result<bool, Error> {
        let mut wire = Fields::new(bytes);
        // The next field of the plan not yet written or defaulted.
        let mut next_field = 0usize;
        let mut open: Option<Open> = None;
        let mut entries: Entries<'_> = Vec::new();
        let mut oneofs_seen: u64 = 0;
        while let Some((number, raw)) = wire.next()? {
            let Some(index) = plan.field(number) else {
                continue;
            };
            let field = &plan.fields[index];
            if let Some(o) = &open {
                if o.field == index {
                    self.element(field, raw, depth, &mut entries)?;
                    continue;
                }
                self.close(plan, &mut open, &mut entries, depth, &mut first)?;
            }
            if index < next_field {
                return Ok(false);
            }
            if let Some(oneof) = field.oneof {
                let bit = 1u64 << (oneof % 64);
                if oneofs_seen & bit != 0 {
                    return Ok(false);
                }
                oneofs_seen |= bit;
            }
            self.defaults_before(plan, next_field, index, &mut first);
            next_field = index + 1;
            if field.repeated || field.map.is_some() {
                open = Some(self.open(field, index, depth, &mut first)?);
                self.element(field, raw, depth, &mut entries)?;
                continue;
            }
            self.singular(field, raw, depth, &mut first)?;
        }
        self.close(plan, &mut open, &mut entries, depth, &mut first)?;
        self.defaults_before(plan, next_field, plan.fields.len(), &mut first);
        Ok(true)
    }

    /// Writes the fields in number order after collecting them: the last value of a singular
    /// field, merged occurrences of a singular message field, the last member of a oneof.
    fn fields_sorted(
        &mut self,
        plan: &MessagePlan,
        bytes: &[u8],
        depth: usize,
        mut first: bool,
    ) -> Result<(), Error> {
        let mut occurrences: Vec<Occurrence<'_>> = Vec::new();
        let mut wire = Fields::new(bytes);
        while let Some((number, raw)) = wire.next()? {
            if let Some(field) = plan.field(number) {
                occurrences.push(Occurrence { field, raw });
            }
        }
        // The last member set of each oneof wins; setting another member clears it, so only
        // the winner's occurrences after the last other member's count (they merge, for a
        // message).
        let mut winners: Vec<(usize, usize, usize)> = Vec::new(); // (oneof, field, from)
        for (position, o) in occurrences.iter().enumerate() {
            if let Some(oneof) = plan.fields[o.field].oneof {
                match winners.iter_mut().find(|(k, ..)| *k == oneof) {
                    Some(entry) if entry.1 == o.field => {}
                    Some(entry) => *entry = (oneof, o.field, position),
                    None => winners.push((oneof, o.field, position)),
                }
            }
        }
        let mut position = 0;
        occurrences.retain(|o| {
            let at = position;
            position += 1;
            match plan.fields[o.field].oneof {
                Some(oneof) => winners
                    .iter()
                    .any(|&(k, f, from)| k == oneof && f == o.field && at >= from),
                None => true,
            }
        });
        // Stable: a field's occurrences keep their wire order.
        occurrences.sort_by_key(|o| o.field);
        let mut next_field = 0;
        let mut i = 0;
        while i < occurrences.len() {
            let index = occurrences[i].field;
            let count = occurrences[i..]
                .iter()
                .take_while(|o| o.field == index)
                .count();
            let group = &occurrences[i..i + count];
            i += count;
            let field = &plan.fields[index];
            self.defaults_before(plan, next_field, index, &mut first);
            next_field = index + 1;
            if field.repeated || field.map.is_some() {
                let mut open = Some(self.open(field, index, depth, &mut first)?);
                let mut entries = Vec::new();
                for o in group {
                    self.element(field, o.raw, depth, &mut entries)?;
                }
                self.close(plan, &mut open, &mut entries, depth, &mut first)?;
                continue;
            }
            if let (Scalar::Message(m), true) = (field.kind, group.len() > 1) {
                // Occurrences of a singular message field merge: parse their concatenation.
                let mut merged = Vec::new();
                for o in group {
                    match o.raw {
                        Raw::Len(b) => merged.extend_from_slice(b),
                        other => return wrong_wire_type(field, other),
                    }
                }
                self.key(field, &mut first);
                self.message(m, &merged, depth)?;
                continue;
            }
            self.singular(field, group[group.len() - 1].raw, depth, &mut first)?;
        }
        self.defaults_before(plan, next_field, plan.fields.len(), &mut first);
        Ok(())
    }

    /// A singular field: printed unless at its default without presence (or a closed enum's
    /// unknown number).
    fn singular(
        &mut self,
        field: &FieldPlan,
        raw: Raw<'_>,
        depth: usize,
        first: &mut bool,
    ) -> Result<(), Error> {
        if !field.presence
            && raw.wire_type() == field.kind.wire_type()
            && is_default(field.kind, raw)
        {
            if self.defaults {
                self.key(field, first);
                self.out.extend_from_slice(&field.default);
            }
            return Ok(());
        }
        let before = self.out.len();
        let was_first = *first;
        self.key(field, first);
        if let Shown::Dropped = self.scalar(field, raw, depth)? {
            self.out.truncate(before);
            *first = was_first;
        }
        Ok(())
    }

    /// With defaults asked for: the fields without presence in `from..to` (not on the wire) at
    /// their default.
    fn defaults_before(&mut self, plan: &MessagePlan, from: usize, to: usize, first: &mut bool) {
        if !self.defaults {
            return;
        }
        for field in &plan.fields[from..to] {
            if !field.presence {
                self.key(field, first);
                self.out.extend_from_slice(&field.default);
            }
        }
    }

    /// `,"name":` (no comma for the first field).
    fn key(&mut self, field: &FieldPlan, first: &mut bool) {
        if !*first {
            self.out.push(b',');
        }
        *first = false;
        self.out.extend_from_slice(&field.key);
    }

    /// Starts a repeated field's array or a map field's object.
    fn open(
        &mut self,
        field: &FieldPlan,
        index: usize,
        depth: usize,
        first: &mut bool,
    ) -> Result<Open, Error> {
        enter(depth + 1)?;
        let open = Open {
            field: index,
            began: self.out.len(),
            was_first: *first,
        };
        self.key(field, first);
        self.out.push(if field.map.is_some() { b'{' } else { b'[' });
        Ok(open)
    }

    /// One occurrence of a repeated or map field: values (a packed run of them, or one), or a
    /// map entry (collected: the last entry for a key wins).
    fn element<'a>(
        &mut self,
        field: &FieldPlan,
        raw: Raw<'a>,
        depth: usize,
        entries: &mut Entries<'a>,
    ) -> Result<(), Error> {
        if let Some(entry) = &field.map {
            let Raw::Len(bytes) = raw else {
                return wrong_wire_type(field, raw);
            };
            let (key_field, value_field) = (&entry.0, &entry.1);
            let (mut key, mut value) = (None, None);
            let mut wire = Fields::new(bytes);
            while let Some((number, raw)) = wire.next()? {
                match number {
                    1 => key = Some(raw),
                    2 => value = Some(raw),
                    _ => {}
                }
            }
            let mut key_json = Vec::new();
            map_key(&mut key_json, key_field, key)?;
            if let Some(raw) = value
                && raw.wire_type() != value_field.kind.wire_type()
            {
                return wrong_wire_type(value_field, raw);
            }
            // A closed enum's unknown number: the parser keeps the whole entry among unknown
            // fields.
            if let (Scalar::Enum(e), Some(Raw::Varint(n))) = (value_field.kind, value) {
                let plan = &self.plans.enums[e];
                if plan.closed && plan.name(n as i32).is_none() {
                    return Ok(());
                }
            }
            match entries.iter_mut().find(|(k, _)| *k == key_json) {
                Some(existing) => existing.1 = value,
                None => entries.push((key_json, value)),
            }
            return Ok(());
        }
        match raw {
            Raw::Len(run) if field.kind.packable() => {
                let mut wire = Fields::new(run);
                while wire.pos < run.len() {
                    let value = match field.kind.wire_type() {
                        0 => Raw::Varint(wire.varint()?),
                        1 => Raw::Fixed64(u64::from_le_bytes(
                            wire.take(8)?.try_into().unwrap_or_default(),
                        )),
                        _ => Raw::Fixed32(u32::from_le_bytes(
                            wire.take(4)?.try_into().unwrap_or_default(),
                        )),
                    };
                    self.array_value(field, value, depth)?;
                }
                Ok(())
            }
            raw => self.array_value(field, raw, depth),
        }
    }

    /// An array element, inside an array that is the `depth + 1`th container.
    fn array_value(&mut self, field: &FieldPlan, raw: Raw<'_>, depth: usize) -> Result<(), Error> {
        let before = self.out.len();
        if !matches!(self.out.last(), Some(b'[')) {
            self.out.push(b',');
        }
        if let Shown::Dropped = self.scalar(field, raw, depth + 1)? {
            self.out.truncate(before);
        }
        self.check_limit()
    }

    /// `"key":value` for each map entry, comma-separated, inside a map that is the `depth + 1`th
    /// container; `false` when there were none.
    fn map_entries(
        &mut self,
        value_field: &FieldPlan,
        entries: &mut Entries<'_>,
        depth: usize,
    ) -> Result<bool, Error> {
        let any = !entries.is_empty();
        for (i, (key, value)) in entries.drain(..).enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(&key);
            self.out.push(b':');
            match (value, value_field.kind) {
                (Some(raw), _) => {
                    self.scalar(value_field, raw, depth + 1)?;
                }
                // A missing message value is an empty message; a missing scalar, the default.
                (None, Scalar::Message(m)) => self.message(m, &[], depth + 1)?,
                (None, _) => self.out.extend_from_slice(&value_field.default),
            }
            self.check_limit()?;
        }
        Ok(any)
    }

    /// Ends the open repeated or map field. An array or map left empty (every value a closed
    /// enum's unknown number) is not printed, as the parser keeps none, unless defaults are.
    fn close(
        &mut self,
        plan: &MessagePlan,
        open: &mut Option<Open>,
        entries: &mut Entries<'_>,
        depth: usize,
        first: &mut bool,
    ) -> Result<(), Error> {
        let Some(o) = open.take() else {
            return Ok(());
        };
        let field = &plan.fields[o.field];
        let (kept, end) = match &field.map {
            Some(entry) => (self.map_entries(&entry.1, entries, depth)?, b'}'),
            None => (!matches!(self.out.last(), Some(b'[')), b']'),
        };
        if kept || self.defaults {
            self.out.push(end);
        } else {
            self.out.truncate(o.began);
            *first = o.was_first;
        }
        Ok(())
    }

    /// One value of `field`'s kind, inside `depth` containers.
    fn scalar(&mut self, field: &FieldPlan, raw: Raw<'_>, depth: usize) -> Result<Shown, Error> {
        if raw.wire_type() != field.kind.wire_type() {
            return wrong_wire_type(field, raw);
        }
        let out = &mut *self.out;
        match (field.kind, raw) {
            (Scalar::Double, Raw::Fixed64(bits)) => write_f64(out, f64::from_bits(bits)),
            (Scalar::Float, Raw::Fixed32(bits)) => write_f32(out, f32::from_bits(bits)),
            (Scalar::Int32, Raw::Varint(v)) => number(out, v as i32),
            (Scalar::Uint32, Raw::Varint(v)) => number(out, v as u32),
            (Scalar::Sint32, Raw::Varint(v)) => number(out, zigzag32(v as u32)),
            (Scalar::Int64, Raw::Varint(v)) => quoted(out, v as i64),
            (Scalar::Uint64, Raw::Varint(v)) => quoted(out, v),
            (Scalar::Sint64, Raw::Varint(v)) => quoted(out, zigzag64(v)),
            (Scalar::Fixed32, Raw::Fixed32(v)) => number(out, v),
            (Scalar::Sfixed32, Raw::Fixed32(v)) => number(out, v as i32),
            (Scalar::Fixed64, Raw::Fixed64(v)) => quoted(out, v),
            (Scalar::Sfixed64, Raw::Fixed64(v)) => quoted(out, v as i64),
            (Scalar::Bool, Raw::Varint(v)) => {
                out.extend_from_slice(if v != 0 { b"true" } else { b"false" })
            }
            (Scalar::String, Raw::Len(bytes)) => match std::str::from_utf8(bytes) {
                Ok(text) => write_json_str(out, text),
                Err(_) => {
                    return fail(format!(
                        "field {} holds a string that is not valid UTF-8",
                        field.number
                    ));
                }
            },
            (Scalar::Bytes, Raw::Len(bytes)) => write_base64_str(out, bytes),
            (Scalar::Enum(e), Raw::Varint(v)) => {
                if !write_enum(out, &self.plans.enums[e], v as i32) {
                    return Ok(Shown::Dropped);
                }
            }
            (Scalar::Message(m), Raw::Len(bytes)) => self.message(m, bytes, depth)?,
            (_, raw) => return wrong_wire_type(field, raw),
        }
        Ok(Shown::Written)
    }

    /// `Timestamp`: RFC 3339 in UTC with 0, 3, 6 or 9 fraction digits, years 1 to 9999.
    fn timestamp(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let (seconds, nanos) = seconds_and_nanos(bytes)?;
        if !(-62_135_596_800..=253_402_300_799).contains(&seconds) {
            return fail(format!(
                "Timestamp seconds {seconds} are outside years 1 to 9999"
            ));
        }
        if !(0..=999_999_999).contains(&nanos) {
            return fail(format!(
                "Timestamp nanos {nanos} are outside 0 to 999999999"
            ));
        }
        let Some(time) = chrono::DateTime::from_timestamp(seconds, 0) else {
            return fail("Timestamp out of range");
        };
        use chrono::{Datelike, Timelike};
        let naive = time.naive_utc();
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}Z",
            naive.year(),
            naive.month(),
            naive.day(),
            naive.hour(),
            naive.minute(),
            naive.second(),
            fraction(nanos as u32)
        );
        write_json_str(self.out, &text);
        Ok(())
    }

    /// `Duration`: seconds with 0, 3, 6 or 9 fraction digits and an `s`.
    fn duration(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let (seconds, nanos) = seconds_and_nanos(bytes)?;
        if !(-315_576_000_000..=315_576_000_000).contains(&seconds)
            || !(-999_999_999..=999_999_999).contains(&nanos)
            || (seconds < 0 && nanos > 0)
            || (seconds > 0 && nanos < 0)
        {
            return fail(format!("Duration {seconds}s {nanos}ns is not valid"));
        }
        let negative = seconds < 0 || nanos < 0;
        let text = format!(
            "{}{}{}s",
            if negative { "-" } else { "" },
            seconds.unsigned_abs(),
            fraction(nanos.unsigned_abs())
        );
        write_json_str(self.out, &text);
        Ok(())
    }

    /// `FieldMask`: its paths in lowerCamelCase, comma-separated.
    fn field_mask(&mut self, plan: &MessagePlan, bytes: &[u8]) -> Result<(), Error> {
        let mut text = String::new();
        let mut wire = Fields::new(bytes);
        let known = plan.field(1).is_some();
        while let Some((number, raw)) = wire.next()? {
            if !known || number != 1 {
                continue;
            }
            let Raw::Len(path) = raw else {
                return fail("a FieldMask path is not a string");
            };
            let path =
                std::str::from_utf8(path).map_err(|_| "a FieldMask path is not valid UTF-8")?;
            if !text.is_empty() {
                text.push(',');
            }
            camel_case(&mut text, path)?;
        }
        write_json_str(self.out, &text);
        Ok(())
    }

    /// `Struct`: its `fields` map as an object.
    fn struct_(&mut self, plan: &MessagePlan, bytes: &[u8], depth: usize) -> Result<(), Error> {
        enter(depth + 1)?;
        self.out.push(b'{');
        if let Some(field) = plan.field(1).map(|i| &plan.fields[i])
            && let Some(entry) = &field.map
        {
            let mut entries = Vec::new();
            let mut wire = Fields::new(bytes);
            while let Some((number, raw)) = wire.next()? {
                if number == 1 {
                    self.element(field, raw, depth, &mut entries)?;
                }
            }
            self.map_entries(&entry.1, &mut entries, depth)?;
        }
        self.out.push(b'}');
        Ok(())
    }

    /// `Value`: the JSON value its set member holds; nothing set is `null`. Its members are a
    /// oneof: the last one set wins, and a message member's occurrences since then merge.
    fn value(&mut self, plan: &MessagePlan, bytes: &[u8], depth: usize) -> Result<(), Error> {
        let mut kind: Option<usize> = None;
        let mut raws: Vec<Raw<'_>> = Vec::new();
        let mut wire = Fields::new(bytes);
        while let Some((number, raw)) = wire.next()? {
            if let Some(index) = plan.field(number) {
                if kind != Some(index) {
                    raws.clear();
                }
                kind = Some(index);
                raws.push(raw);
            }
        }
        let (Some(index), Some(&last)) = (kind, raws.last()) else {
            self.out.extend_from_slice(b"null");
            return Ok(());
        };
        let field = &plan.fields[index];
        match (field.number, field.kind, last) {
            (1, ..) => self.out.extend_from_slice(b"null"),
            (2, _, Raw::Fixed64(bits)) if !f64::from_bits(bits).is_finite() => {
                return fail("a Value's number_value is NaN or infinite, which JSON cannot carry");
            }
            (_, Scalar::Message(m), _) if raws.len() > 1 => {
                let mut merged = Vec::new();
                for raw in &raws {
                    match raw {
                        Raw::Len(b) => merged.extend_from_slice(b),
                        other => return wrong_wire_type(field, *other),
                    }
                }
                self.message(m, &merged, depth)?;
            }
            _ => {
                self.scalar(field, last, depth)?;
            }
        }
        Ok(())
    }

    /// `ListValue`: its `values` as an array.
    fn list_value(&mut self, plan: &MessagePlan, bytes: &[u8], depth: usize) -> Result<(), Error> {
        enter(depth + 1)?;
        self.out.push(b'[');
        if let Some(index) = plan.field(1) {
            let field = &plan.fields[index];
            let mut wire = Fields::new(bytes);
            while let Some((number, raw)) = wire.next()? {
                if number == 1 {
                    self.array_value(field, raw, depth)?;
                }
            }
        }
        self.out.push(b']');
        Ok(())
    }

    /// `Any`: `{"@type": url, …}` with the packed message's fields, or its JSON form under
    /// `"value"` for a well-known type; `{}` when nothing is set.
    fn any(&mut self, plan: &MessagePlan, bytes: &[u8], depth: usize) -> Result<(), Error> {
        let (mut url, mut value): (&[u8], &[u8]) = (&[], &[]);
        let mut wire = Fields::new(bytes);
        while let Some((number, raw)) = wire.next()? {
            if plan.field(number).is_none() {
                continue;
            }
            match (number, raw) {
                (1, Raw::Len(b)) => url = b,
                (2, Raw::Len(b)) => value = b,
                (number, raw) => {
                    return fail(format!(
                        "field {number} of an Any has wire type {}, not 2",
                        raw.wire_type()
                    ));
                }
            }
        }
        enter(depth + 1)?;
        if url.is_empty() && value.is_empty() {
            self.out.extend_from_slice(b"{}");
            return Ok(());
        }
        let url = std::str::from_utf8(url).map_err(|_| "an Any's type URL is not valid UTF-8")?;
        let name = url.rsplit('/').next().unwrap_or(url);
        let plans = self.plans;
        let Some(&m) = plans.by_name.get(name) else {
            return fail(format!(
                "an Any holds {url:?}, a type the schema does not define"
            ));
        };
        self.out.extend_from_slice(b"{\"@type\":");
        write_json_str(self.out, url);
        let inner = &plans.messages[m];
        if inner.wkt.is_some() {
            self.out.extend_from_slice(b",\"value\":");
            self.message(m, value, depth + 1)?;
        } else {
            self.fields(inner, value, depth + 1, false)?;
        }
        self.out.push(b'}');
        Ok(())
    }
}

fn wrong_wire_type<T>(field: &FieldPlan, raw: Raw<'_>) -> Result<T, Error> {
    fail(format!(
        "field {} has wire type {}, not {}",
        field.number,
        raw.wire_type(),
        field.kind.wire_type()
    ))
}

/// The last occurrence of `field` in a message's bytes.
fn last_of<'a>(bytes: &'a [u8], field: &FieldPlan) -> Result<Option<Raw<'a>>, Error> {
    let mut last = None;
    let mut wire = Fields::new(bytes);
    while let Some((number, raw)) = wire.next()? {
        if number == field.number {
            last = Some(raw);
        }
    }
    Ok(last)
}

/// A `Timestamp`'s or `Duration`'s seconds (field 1, int64) and nanos (field 2, int32).
fn seconds_and_nanos(bytes: &[u8]) -> Result<(i64, i32), Error> {
    let (mut seconds, mut nanos) = (0i64, 0i32);
    let mut wire = Fields::new(bytes);
    while let Some((number, raw)) = wire.next()? {
        match (number, raw) {
            (1, Raw::Varint(v)) => seconds = v as i64,
            (2, Raw::Varint(v)) => nanos = v as i32,
            (1 | 2, raw) => {
                return fail(format!(
                    "field {number} has wire type {}, not 0",
                    raw.wire_type()
                ));
            }
            _ => {}
        }
    }
    Ok((seconds, nanos))
}

/// `.fff`, `.ffffff` or `.fffffffff` as few digits as the nanos need; nothing for whole seconds.
fn fraction(nanos: u32) -> String {
    if nanos == 0 {
        String::new()
    } else if nanos.is_multiple_of(1_000_000) {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    }
}

/// A `FieldMask` path in lowerCamelCase, as `json_format` converts it (and refuses what it
/// refuses: capitals, `_` not followed by a lowercase letter).
fn camel_case(out: &mut String, path: &str) -> Result<(), Error> {
    let mut after_underscore = false;
    for c in path.chars() {
        if c.is_uppercase() {
            return fail("a FieldMask path holds an uppercase letter");
        }
        if after_underscore {
            if c.is_lowercase() {
                out.extend(c.to_uppercase());
                after_underscore = false;
            } else {
                return fail(
                    "a FieldMask path has `_` before a character that is not a lowercase letter",
                );
            }
        } else if c == '_' {
            after_underscore = true;
        } else {
            out.push(c);
        }
    }
    if after_underscore {
        return fail("a FieldMask path ends in `_`");
    }
    Ok(())
}

/// Whether a singular value equals its field's default (zero, `false`, empty; `+0.0` but not
/// `-0.0`, as a parser compares bits).
fn is_default(kind: Scalar, raw: Raw<'_>) -> bool {
    match (kind, raw) {
        (Scalar::Message(_), _) => false,
        (_, Raw::Varint(v)) => v == 0,
        (_, Raw::Fixed64(v)) => v == 0,
        (_, Raw::Fixed32(v)) => v == 0,
        (_, Raw::Len(b)) => b.is_empty(),
        (_, Raw::Group) => false,
    }
}

/// A map key as a JSON object key: the string, `"true"`/`"false"`, or the decimal number.
fn map_key(out: &mut Vec<u8>, field: &FieldPlan, raw: Option<Raw<'_>>) -> Result<(), Error> {
    let raw = match raw {
        Some(raw) if raw.wire_type() != field.kind.wire_type() => {
            return wrong_wire_type(field, raw);
        }
        Some(raw) => raw,
        None => match field.kind.wire_type() {
            0 => Raw::Varint(0),
            1 => Raw::Fixed64(0),
            5 => Raw::Fixed32(0),
            _ => Raw::Len(&[]),
        },
    };
    let text = match (field.kind, raw) {
        (Scalar::String, Raw::Len(b)) => {
            let text = std::str::from_utf8(b).map_err(|_| "a map key is not valid UTF-8")?;
            write_json_str(out, text);
            return Ok(());
        }
        (Scalar::Bool, Raw::Varint(v)) => (if v != 0 { "true" } else { "false" }).to_string(),
        (Scalar::Int32, Raw::Varint(v)) => (v as i32).to_string(),
        (Scalar::Uint32, Raw::Varint(v)) => (v as u32).to_string(),
        (Scalar::Sint32, Raw::Varint(v)) => zigzag32(v as u32).to_string(),
        (Scalar::Int64, Raw::Varint(v)) => (v as i64).to_string(),
        (Scalar::Uint64, Raw::Varint(v)) => v.to_string(),
        (Scalar::Sint64, Raw::Varint(v)) => zigzag64(v).to_string(),
        (Scalar::Fixed32, Raw::Fixed32(v)) => v.to_string(),
        (Scalar::Sfixed32, Raw::Fixed32(v)) => (v as i32).to_string(),
        (Scalar::Fixed64, Raw::Fixed64(v)) => v.to_string(),
        (Scalar::Sfixed64, Raw::Fixed64(v)) => (v as i64).to_string(),
        _ => return fail("a map key of a type maps cannot have"),
    };
    write_json_str(out, &text);
    Ok(())
}

/// An enum value by name; `false` for a closed enum's unknown number (not kept).
fn write_enum(out: &mut Vec<u8>, plan: &EnumPlan, number: i32) -> bool {
    if plan.null_value {
        out.extend_from_slice(b"null");
        return true;
    }
    match plan.name(number) {
        Some(name) => out.extend_from_slice(name),
        None if plan.closed => return false,
        None => number_to(out, number),
    }
    true
}

fn number(out: &mut Vec<u8>, n: impl itoa::Integer) {
    number_to(out, n);
}

fn number_to(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn quoted(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.push(b'"');
    number_to(out, n);
    out.push(b'"');
}

fn zigzag32(n: u32) -> i32 {
    ((n >> 1) as i32) ^ -((n & 1) as i32)
}

fn zigzag64(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}
