//! Reading a JSON body into plain values: every wrong type and unknown field reported at once.

use domain::RawMetaEntry;
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorItem};

/// A JSON object being read field by field. Wrong JSON types become 400 items, unknown
/// fields 422 items; [`Fields::finish`] reports them all.
pub struct Fields {
    map: Map<String, Value>,
    wrong_type: Vec<ErrorItem>,
}

/// The values left unread (unknown fields) may hold secrets too: wiped when dropped.
impl Drop for Fields {
    fn drop(&mut self) {
        for value in self.map.values_mut() {
            wipe(value);
        }
    }
}

/// Overwrites every string inside `value` with zeros.
fn wipe(value: &mut Value) {
    use zeroize::Zeroize as _;
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.values_mut().for_each(wipe),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Names only: the values may be secrets (an SSN, an EIN).
impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fields")
            .field("names", &self.map.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Fields {
    /// Parses `bytes` as a JSON object (400 otherwise).
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::BadRequest(vec![ErrorItem::general(
                "malformed_json",
                format!(
                    "the body is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )])
        })?;
        match value {
            Value::Object(map) => Ok(Self {
                map,
                wrong_type: Vec::new(),
            }),
            _ => Err(ApiError::BadRequest(vec![ErrorItem::general(
                "malformed_json",
                "the body must be a JSON object",
            )])),
        }
    }

    /// The canonical JSON of the remaining fields (keys sorted, no whitespace).
    pub fn canonical(&self) -> Result<String, ApiError> {
        serde_json::to_string(&self.map).map_err(ApiError::render)
    }

    /// Removes and returns a field as it is (for `api_key`, which is never stored).
    pub fn take_raw(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name)
    }

    fn wrong(&mut self, field: &str, expected: &str) {
        self.wrong_type.push(ErrorItem::field(
            field,
            "wrong_type",
            format!("must be {expected}"),
        ));
    }

    /// A string field; `null` and absent are `None`.
    pub fn string(&mut self, name: &str) -> Option<String> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.wrong(name, "a string");
                None
            }
        }
    }

    /// A string field holding a secret (`ssn`, `ein`): wiped from memory when dropped.
    pub fn secret(&mut self, name: &str) -> Option<domain::Zeroizing<String>> {
        self.string(name).map(domain::Zeroizing::new)
    }

    /// A boolean field.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(b),
            Some(_) => {
                self.wrong(name, "true or false");
                None
            }
        }
    }

    /// A decimal field (`ownership_percent`): a JSON number, as its text (`25.5`).
    pub fn number_text(&mut self, name: &str) -> Option<String> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                self.wrong(name, "a number");
                None
            }
        }
    }

    /// A non-negative integer field.
    pub fn integer(&mut self, name: &str) -> Option<u64> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Some(_) => {
                self.wrong(name, "a non-negative integer");
                None
            }
        }
    }

    /// A list of strings: absent is `None`, `null` is `Some(None)`.
    pub fn string_list(&mut self, name: &str) -> Option<Option<Vec<String>>> {
        let list = match self.map.remove(name) {
            None => return None,
            Some(Value::Null) => return Some(None),
            Some(Value::Array(list)) => list,
            Some(_) => {
                self.wrong(name, "a list of strings");
                return None;
            }
        };
        let mut out = Vec::with_capacity(list.len());
        let mut ok = true;
        for (i, item) in list.into_iter().enumerate() {
            if let Value::String(s) = item {
                out.push(s);
            } else {
                ok = false;
                self.wrong(&format!("{name}[{i}]"), "a string");
            }
        }
        ok.then_some(Some(out))
    }

    /// A `meta_data` list of `{name, value}` objects.
    pub fn meta_data(&mut self, name: &str) -> Option<Vec<RawMetaEntry>> {
        let list = match self.map.remove(name) {
            None | Some(Value::Null) => return None,
            // Past the limit the list is refused as such (`too_many`, by the domain) without
            // examining more than one element beyond it.
            Some(Value::Array(mut list)) => {
                list.truncate(domain::MetaData::MAX_ENTRIES + 1);
                list
            }
            Some(_) => {
                self.wrong(name, "a list of {name, value} objects");
                return None;
            }
        };
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.into_iter().enumerate() {
            let Value::Object(mut obj) = item else {
                self.wrong(&format!("{name}[{i}]"), "an object with name and value");
                continue;
            };
            let mut entry = RawMetaEntry::default();
            for key in ["name", "value"] {
                let slot = if key == "name" {
                    &mut entry.name
                } else {
                    &mut entry.value
                };
                match obj.remove(key) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(s)) => *slot = Some(s),
                    Some(_) => self.wrong(&format!("{name}[{i}].{key}"), "a string"),
                }
            }
            for unknown in obj.keys() {
                self.wrong_type.push(ErrorItem::field(
                    format!("{name}[{i}].{unknown}"),
                    "unknown_field",
                    "is not a field of a meta_data entry",
                ));
            }
            out.push(entry);
        }
        Some(out)
    }

    /// Like [`Fields::finish`], and also reports the failures of `parsed` (a value read
    /// from these fields) together with the unknown fields, in one 422.
    pub fn finish_with<T>(
        self,
        parsed: Result<T, domain::ValidationErrors>,
    ) -> Result<T, ApiError> {
        match (self.finish(), parsed) {
            (Ok(()), Ok(v)) => Ok(v),
            (Err(ApiError::Unprocessable(mut unknown)), Err(e)) => {
                let ApiError::Unprocessable(items) = ApiError::from(e) else {
                    return Err(ApiError::Unprocessable(unknown));
                };
                unknown.extend(items);
                Err(ApiError::Unprocessable(unknown))
            }
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(e.into()),
        }
    }

    /// Fails with every wrong-typed field (400), or every unknown field left over (422).
    pub fn finish(mut self) -> Result<(), ApiError> {
        let (unknown_inside, wrong): (Vec<ErrorItem>, Vec<ErrorItem>) =
            std::mem::take(&mut self.wrong_type)
                .into_iter()
                .partition(|e| e.code == "unknown_field");
        if !wrong.is_empty() {
            return Err(ApiError::BadRequest(wrong));
        }
        let mut unknown: Vec<ErrorItem> = self
            .map
            .keys()
            .map(|k| ErrorItem::field(k.clone(), "unknown_field", "is not a field of this request"))
            .collect();
        unknown.extend(unknown_inside);
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Unprocessable(unknown))
        }
    }
}
