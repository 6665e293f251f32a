//! The reference's plain model of a manifest: [`RefClass`], [`RefEndpoint`] and
//! [`RefManifest`], read back from a compiled manifest as class and scope names.

use std::collections::BTreeMap;

use scopegate_core::manifest::ObjectKind;
use scopegate_core::{Manifest, Method, Policy};

use super::{names, Scopes};

/// A permission class, with `extends` already applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefClass {
    /// The class name.
    pub name: String,
    /// `organization`, `project`, `team` or `none`.
    pub object: String,
    /// Method → scope names; a method absent from the map admits nobody.
    pub scope_map: BTreeMap<String, Scopes>,
    /// Staff pass the class.
    pub allow_staff: bool,
}

/// An endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefEndpoint {
    /// The endpoint name.
    pub name: String,
    /// Names of its permission classes (all must allow).
    pub classes: Vec<String>,
    /// The granular resource kind, if any.
    pub granular: Option<String>,
}

/// A manifest as plain data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefManifest {
    /// The classes.
    pub classes: Vec<RefClass>,
    /// The endpoints.
    pub endpoints: Vec<RefEndpoint>,
}

impl RefManifest {
    /// Reads a compiled manifest back into plain data (class names and scope names only).
    pub fn from_compiled(m: &Manifest, policy: &Policy) -> RefManifest {
        let classes = m
            .classes
            .iter()
            .map(|c| RefClass {
                name: c.name.clone(),
                object: match c.object {
                    ObjectKind::Organization => "organization",
                    ObjectKind::Project => "project",
                    ObjectKind::Team => "team",
                    ObjectKind::None => "none",
                }
                .to_string(),
                scope_map: Method::ALL
                    .iter()
                    .filter(|method| c.scope_map[method.index()].is_some())
                    .map(|method| {
                        (
                            method.as_str().to_string(),
                            names(policy, c.scopes_for(*method)),
                        )
                    })
                    .collect(),
                allow_staff: c.allow_staff,
            })
            .collect();
        let endpoints = m
            .endpoints
            .iter()
            .map(|e| RefEndpoint {
                name: e.name.clone(),
                classes: e
                    .classes
                    .iter()
                    .map(|&i| m.classes[i].name.clone())
                    .collect(),
                granular: e
                    .granular
                    .map(|g| policy.granular_resources[g].kind.clone()),
            })
            .collect();
        RefManifest { classes, endpoints }
    }

    pub(super) fn class(&self, name: &str) -> Option<&RefClass> {
        self.classes.iter().find(|c| c.name == name)
    }
}
