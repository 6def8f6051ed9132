//! Reads and writes JSON-shaped trees in an Automerge document.
//!
//! The agenda schema is described by serde types (`schema.rs`); this module
//! is the only place that turns them into Automerge objects and back:
//! JSON objects are Automerge maps (merged key by key), arrays are lists
//! (replaced whole), long texts are Automerge text (merged character by
//! character), everything else is a scalar (last writer wins, and concurrent
//! writes are kept as a conflict).
//!
//! Reading records every key that holds several concurrent values, with the
//! operation that wrote each, so that conflicts can be shown and resolved.
//! This module knows nothing of the agenda's meaning beyond the list of text
//! fields.

use automerge::transaction::{Transactable, Transaction};
use automerge::{AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, Value as AmValue};
use serde_json::{Map, Number, Value};

/// Keys whose string values are collaborative texts rather than scalars.
pub(crate) const TEXT_FIELDS: &[&str] =
    &["description", "presentation", "recit", "contexte", "ce_qui_est_decide", "comment_cest_decide", "qui_participe"];

/// A key with several concurrent values.
#[derive(Debug, Clone)]
pub(crate) struct RawConflict {
    /// Path of the key, `/`-separated from the root.
    pub(crate) path: String,
    /// Every value, with the id of the operation that wrote it (its actor).
    pub(crate) values: Vec<(Value, ObjId)>,
}

/// Reads a map as JSON, collecting conflicts below it.
pub(crate) fn read_map<R: ReadDoc>(doc: &R, obj: &ObjId, path: &str, conflicts: &mut Vec<RawConflict>) -> Value {
    let mut out = Map::new();
    // One pass over the map; each item is the value every replica shows
    // (the same winner as `get`). Only keys flagged as conflicted pay for
    // reading all their values.
    for item in doc.map_range(obj, ..) {
        let key = item.key.as_ref();
        let child_path = if path.is_empty() { key.to_owned() } else { format!("{path}/{key}") };
        if item.conflict {
            let all = doc.get_all(obj, key).unwrap_or_default();
            let values =
                all.iter().map(|(v, id)| (read_value(doc, v, id, &child_path, &mut Vec::new()), id.clone())).collect();
            conflicts.push(RawConflict { path: child_path.clone(), values });
        }
        let value = AmValue::from(item.value.clone());
        out.insert(key.to_owned(), read_value(doc, &value, &item.id(), &child_path, conflicts));
    }
    Value::Object(out)
}

fn read_value<R: ReadDoc>(
    doc: &R,
    value: &AmValue<'_>,
    id: &ObjId,
    path: &str,
    conflicts: &mut Vec<RawConflict>,
) -> Value {
    match value {
        AmValue::Object(ObjType::Map | ObjType::Table) => read_map(doc, id, path, conflicts),
        AmValue::Object(ObjType::List) => {
            let items = doc.list_range(id, ..).map(|item| {
                let value = AmValue::from(item.value.clone());
                read_value(doc, &value, &item.id(), path, conflicts)
            });
            Value::Array(items.collect())
        }
        AmValue::Object(ObjType::Text) => Value::String(doc.text(id).unwrap_or_default()),
        AmValue::Scalar(scalar) => scalar_to_json(scalar),
    }
}

fn scalar_to_json(scalar: &ScalarValue) -> Value {
    match scalar {
        ScalarValue::Str(s) => Value::String(s.to_string()),
        ScalarValue::Int(i) => Value::Number((*i).into()),
        ScalarValue::Uint(u) => Value::Number((*u).into()),
        ScalarValue::F64(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        ScalarValue::Boolean(b) => Value::Bool(*b),
        ScalarValue::Timestamp(t) => Value::Number((*t).into()),
        // Counters, bytes and values from future versions are not part of
        // the schema; they read as absent.
        _ => Value::Null,
    }
}

/// Writes the given fields into a map (other keys of the map stay): a
/// nested object replaces the old one key by key, `null` deletes, everything
/// else replaces. Unchanged scalars are not rewritten,
/// so setting a field to its current value creates no false conflict.
pub(crate) fn write_fields(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    fields: &Map<String, Value>,
) -> Result<(), AutomergeError> {
    for (key, value) in fields {
        write_value(tx, obj, key, value)?;
    }
    Ok(())
}

fn write_value(tx: &mut Transaction<'_>, obj: &ObjId, key: &str, value: &Value) -> Result<(), AutomergeError> {
    let current = tx.get_all(obj, key)?;
    let single = if current.len() == 1 { current.first() } else { None };
    match value {
        Value::Null => {
            if !current.is_empty() {
                tx.delete(obj, key)?;
            }
        }
        Value::Object(fields) => {
            let map = match single {
                Some((AmValue::Object(ObjType::Map), id)) => id.clone(),
                _ => tx.put_object(obj, key, ObjType::Map)?,
            };
            // A nested object replaces the old one: keys it lacks go, keys
            // it keeps are rewritten only if they changed (no false conflict).
            let gone: Vec<String> = tx.keys(&map).filter(|k| !fields.contains_key(k)).collect();
            for k in gone {
                tx.delete(&map, k.as_str())?;
            }
            write_fields(tx, &map, fields)?;
        }
        Value::Array(items) => {
            if single.map(|(v, id)| read_value(tx, v, id, "", &mut Vec::new())).as_ref() == Some(value) {
                return Ok(());
            }
            let list = tx.put_object(obj, key, ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                insert_value(tx, &list, i, item)?;
            }
        }
        Value::String(text) if TEXT_FIELDS.contains(&key) => {
            let text_obj = match single {
                Some((AmValue::Object(ObjType::Text), id)) => id.clone(),
                _ => tx.put_object(obj, key, ObjType::Text)?,
            };
            // A character diff: concurrent edits of one text merge.
            tx.update_text(&text_obj, text)?;
        }
        scalar => {
            let new = json_to_scalar(scalar);
            if let Some((AmValue::Scalar(old), _)) = single
                && old.as_ref() == &new
            {
                return Ok(());
            }
            tx.put(obj, key, new)?;
        }
    }
    Ok(())
}

fn insert_value(tx: &mut Transaction<'_>, list: &ObjId, index: usize, value: &Value) -> Result<(), AutomergeError> {
    match value {
        Value::Object(fields) => {
            let map = tx.insert_object(list, index, ObjType::Map)?;
            write_fields(tx, &map, fields)
        }
        Value::Array(items) => {
            let inner = tx.insert_object(list, index, ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                insert_value(tx, &inner, i, item)?;
            }
            Ok(())
        }
        scalar => tx.insert(list, index, json_to_scalar(scalar)),
    }
}

fn json_to_scalar(value: &Value) -> ScalarValue {
    match value {
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => ScalarValue::Int(i),
            (None, Some(u), _) => ScalarValue::Uint(u),
            (_, _, Some(f)) => ScalarValue::F64(f),
            _ => ScalarValue::Null,
        },
        Value::String(s) => ScalarValue::Str(s.as_str().into()),
        Value::Null | Value::Array(_) | Value::Object(_) => ScalarValue::Null,
    }
}

/// The map at `path` below `obj`, created if missing.
pub(crate) fn ensure_map(tx: &mut Transaction<'_>, obj: &ObjId, path: &[&str]) -> Result<ObjId, AutomergeError> {
    let mut current = obj.clone();
    for key in path {
        current = match tx.get(&current, *key)? {
            Some((AmValue::Object(ObjType::Map), id)) => id,
            _ => tx.put_object(&current, *key, ObjType::Map)?,
        };
    }
    Ok(current)
}

/// The map at `path` below `obj`, if it exists.
pub(crate) fn find_map<R: ReadDoc>(doc: &R, obj: &ObjId, path: &[&str]) -> Option<ObjId> {
    let mut current = obj.clone();
    for key in path {
        current = match doc.get(&current, *key).ok()?? {
            (AmValue::Object(ObjType::Map), id) => id,
            _ => return None,
        };
    }
    Some(current)
}
