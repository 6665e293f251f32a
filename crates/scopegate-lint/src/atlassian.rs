//! Jira's (and every Atlassian Cloud API's) `x-atlassian-oauth2-scopes` operation extension:
//! the OAuth 2.0 scopes an operation accepts, beside its `security`.
//!
//! ```json
//! "x-atlassian-oauth2-scopes": [
//!   { "scheme": "OAuth2", "state": "Current", "scopes": ["write:jira-work"] },
//!   { "scheme": "OAuth2", "state": "Beta",
//!     "scopes": ["read:comment:jira", "write:comment:jira"] }
//! ]
//! ```
//!
//! Each entry is one way to call the operation: a *classic* scope (`Current`), a bundle of
//! *granular* scopes (`Beta`), or a `Deprecated` set still accepted. The entries are
//! alternatives (any one entry suffices) and the scopes of one entry are all required, as
//! Atlassian's reference pages print them ("Classic: …", "Granular: …" — every granular
//! scope listed). Older documents write `{"deprecated": false, "scopes": […]}` instead of a
//! `state`; both shapes are read. Each entry becomes an [`Alternative`] whose list reads
//! all-of whatever `--scope-list` says, named `{scheme} ({state})` in findings.

use scopegate_core::source::Value;

use crate::lint::ScopeList;
use crate::load::{InputError, Loader, Loc};
use crate::openapi::Alternative;

/// The extension's key on an operation object.
pub const KEY: &str = "x-atlassian-oauth2-scopes";

/// The alternatives `x-atlassian-oauth2-scopes` on the operation at `op` adds (none when
/// the operation does not have it). A value of the wrong shape is an error located at it.
pub fn alternatives(loader: &mut Loader, op: &Loc) -> Result<Vec<Alternative>, InputError> {
    let Some(ext) = op.child(KEY) else {
        return Ok(Vec::new());
    };
    let ext = loader.deref(ext)?;
    let Some(items) = ext.node().as_array() else {
        return Err(ext.error(format!(
            "`{KEY}` must be an array of scope entries, found {}",
            ext.node().value.kind()
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        let entry = loader.deref(ext.push(i, &i.to_string()))?;
        out.push(entry_alternative(&entry)?);
    }
    Ok(out)
}

/// One entry: `{scheme?, state?, deprecated?, scopes}`.
fn entry_alternative(entry: &Loc) -> Result<Alternative, InputError> {
    let node = entry.node();
    if node.as_table().is_none() {
        return Err(entry.error(format!(
            "an `{KEY}` entry must be an object with `scopes`, found {}",
            node.value.kind()
        )));
    }
    let string = |key: &str| -> Result<Option<String>, InputError> {
        match entry.child(key) {
            None => Ok(None),
            Some(at) => match &at.node().value {
                Value::String(s) => Ok(Some(s.clone())),
                other => Err(at.error(format!(
                    "`{key}` of an `{KEY}` entry must be a string, found {}",
                    other.kind()
                ))),
            },
        }
    };
    let scheme = string("scheme")?.unwrap_or_else(|| "OAuth2".to_string());
    let state = match (string("state")?, entry.child("deprecated")) {
        (Some(state), _) => state,
        (None, Some(at)) => match &at.node().value {
            Value::Bool(true) => "Deprecated".to_string(),
            Value::Bool(false) => "Current".to_string(),
            other => {
                return Err(at.error(format!(
                    "`deprecated` of an `{KEY}` entry must be a boolean, found {}",
                    other.kind()
                )))
            }
        },
        (None, None) => "Current".to_string(),
    };
    let Some(scopes_at) = entry.child("scopes") else {
        return Err(entry.error(format!("an `{KEY}` entry must have `scopes`")));
    };
    let Some(items) = scopes_at.node().as_array() else {
        return Err(scopes_at.error(format!(
            "`scopes` of an `{KEY}` entry must be an array of strings, found {}",
            scopes_at.node().value.kind()
        )));
    };
    let mut scopes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) => scopes.push(s.to_string()),
            None => {
                return Err(scopes_at.push(i, &i.to_string()).error(format!(
                    "a scope of an `{KEY}` entry must be a string, found {}",
                    item.value.kind()
                )))
            }
        }
    }
    Ok(Alternative {
        schemes: vec![(format!("{scheme} ({state})"), scopes)],
        lists: Some(ScopeList::All),
    })
}
