//! Random requests: the raw request choices ([`RequestSpec`], [`request_spec`]) and how
//! they resolve onto a generated world and manifest, naming unknown things now and then.

use proptest::prelude::*;

use scopegate_core::wire::SuperuserDoc;
use scopegate_core::{PrincipalDoc, RequestDoc, WorldDoc};

use super::{token_scopes, METHODS, UNKNOWN_USER};
use crate::reference::RefManifest;

/// Raw choices of a request; [`RequestSpec::resolve`] maps them onto a world and manifest.
/// Each selector picks an existing thing most of the time and an unknown (or absent) one
/// now and then.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    principal: PrincipalSpec,
    endpoint: u32,
    method: usize,
    organization: u32,
    project: u32,
    team: u32,
}

#[derive(Debug, Clone)]
enum PrincipalSpec {
    Anonymous,
    Session {
        user: u32,
        superuser: SuperuserDoc,
        staff: bool,
        sso_ok: bool,
    },
    UserToken {
        user: u32,
        scopes: Vec<String>,
        organization: Option<u32>,
    },
    OrgToken {
        organization: u32,
        scopes: Vec<String>,
        creator: Option<u32>,
    },
    ApiKey {
        organization: u32,
        scopes: Vec<String>,
    },
    Integration {
        integration: u32,
    },
    System,
}

fn principal_spec() -> impl Strategy<Value = PrincipalSpec> {
    let superuser = prop_oneof![
        14 => Just(SuperuserDoc::None),
        3 => Just(SuperuserDoc::Read),
        3 => Just(SuperuserDoc::Write),
    ];
    prop_oneof![
        1 => Just(PrincipalSpec::Anonymous),
        8 => (any::<u32>(), superuser, prop::bool::weighted(0.15), prop::bool::weighted(0.8))
            .prop_map(|(user, superuser, staff, sso_ok)| PrincipalSpec::Session { user, superuser, staff, sso_ok }),
        5 => (any::<u32>(), token_scopes(), prop::option::weighted(0.25, any::<u32>()))
            .prop_map(|(user, scopes, organization)| PrincipalSpec::UserToken { user, scopes, organization }),
        3 => (any::<u32>(), token_scopes(), prop::option::weighted(0.6, any::<u32>()))
            .prop_map(|(organization, scopes, creator)| PrincipalSpec::OrgToken { organization, scopes, creator }),
        2 => (any::<u32>(), token_scopes())
            .prop_map(|(organization, scopes)| PrincipalSpec::ApiKey { organization, scopes }),
        2 => any::<u32>().prop_map(|integration| PrincipalSpec::Integration { integration }),
        1 => Just(PrincipalSpec::System),
    ]
}

/// Raw request choices.
pub fn request_spec() -> impl Strategy<Value = RequestSpec> {
    let method = prop_oneof![
        35 => Just(0usize), // GET
        5 => Just(1usize),  // HEAD
        15 => Just(2usize), // POST
        15 => Just(3usize), // PUT
        6 => Just(4usize),  // PATCH
        15 => Just(5usize), // DELETE
        3 => Just(6usize),  // OPTIONS
    ];
    (
        principal_spec(),
        any::<u32>(),
        method,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(principal, endpoint, method, organization, project, team)| RequestSpec {
                principal,
                endpoint,
                method,
                organization,
                project,
                team,
            },
        )
}

/// Picks among `n` things: `None` (something unknown) for `unknown_pct` percent of the
/// selectors, else one of the `n` (none when `n` is 0).
fn pick(selector: u32, n: usize, unknown_pct: u32) -> Option<usize> {
    if selector % 100 < unknown_pct || n == 0 {
        None
    } else {
        Some((selector / 100) as usize % n)
    }
}

impl RequestSpec {
    /// The wire request, naming things of `world` and `manifest` (or unknown ones).
    pub fn resolve(&self, world: &WorldDoc, manifest: &RefManifest) -> RequestDoc {
        let user = |sel: u32| match pick(sel, world.users.len(), 3) {
            Some(i) => world.users[i].id,
            None => UNKNOWN_USER,
        };
        let org_slug = |sel: u32| match pick(sel, world.organizations.len(), 8) {
            Some(i) => world.organizations[i].slug.clone(),
            None => "nope".to_string(),
        };
        let principal = match &self.principal {
            PrincipalSpec::Anonymous => PrincipalDoc::Anonymous,
            PrincipalSpec::Session {
                user: u,
                superuser,
                staff,
                sso_ok,
            } => PrincipalDoc::Session {
                user: user(*u),
                superuser: *superuser,
                staff: *staff,
                sso_ok: *sso_ok,
            },
            PrincipalSpec::UserToken {
                user: u,
                scopes,
                organization,
            } => PrincipalDoc::UserToken {
                user: user(*u),
                scopes: scopes.clone(),
                organization: organization.map(org_slug),
            },
            PrincipalSpec::OrgToken {
                organization,
                scopes,
                creator,
            } => PrincipalDoc::OrgToken {
                organization: org_slug(*organization),
                scopes: scopes.clone(),
                creator: creator.map(user),
            },
            PrincipalSpec::ApiKey {
                organization,
                scopes,
            } => PrincipalDoc::ApiKey {
                organization: org_slug(*organization),
                scopes: scopes.clone(),
            },
            PrincipalSpec::Integration { integration } => PrincipalDoc::Integration {
                integration: match pick(*integration, world.integrations.len(), 5) {
                    Some(i) => world.integrations[i].id,
                    None => 7_777,
                },
            },
            PrincipalSpec::System => PrincipalDoc::System,
        };
        let endpoint =
            pick(self.endpoint, manifest.endpoints.len(), 3).map(|i| &manifest.endpoints[i]);
        let has_class = |object: &str| {
            endpoint.is_some_and(|e| {
                e.classes.iter().any(|c| {
                    manifest
                        .classes
                        .iter()
                        .any(|k| &k.name == c && k.object == object)
                })
            })
        };
        // The organization: absent 3%, unknown 3%, else one of the world's.
        let organization = match self.organization % 100 {
            0..=2 => None,
            3..=5 => Some("nope".to_string()),
            _ => Some(
                world.organizations[(self.organization / 100) as usize % world.organizations.len()]
                    .slug
                    .clone(),
            ),
        };
        let org_id = organization.as_ref().and_then(|slug| {
            world
                .organizations
                .iter()
                .find(|o| &o.slug == slug)
                .map(|o| o.id)
        });
        // A project or team: named mostly when the endpoint checks one; then one of the
        // organization's, sometimes one that does not exist there.
        let object_slug = |sel: u32, needed: bool, slugs: Vec<&String>| -> Option<String> {
            let absent_pct = if needed { 4 } else { 80 };
            match sel % 100 {
                x if x < absent_pct => None,
                x if x < absent_pct + 4 => Some("nope".to_string()),
                _ => Some(match pick(sel, slugs.len(), 0) {
                    Some(i) => slugs[i].clone(),
                    None => "p0".to_string(),
                }),
            }
        };
        let project = object_slug(
            self.project,
            has_class("project"),
            world
                .projects
                .iter()
                .filter(|p| Some(p.organization) == org_id)
                .map(|p| &p.slug)
                .collect(),
        );
        let team = object_slug(
            self.team,
            has_class("team"),
            world
                .teams
                .iter()
                .filter(|t| Some(t.organization) == org_id)
                .map(|t| &t.slug)
                .collect(),
        );
        RequestDoc {
            principal,
            endpoint: endpoint.map_or_else(|| "NoSuchEndpoint".to_string(), |e| e.name.clone()),
            method: METHODS[self.method].to_string(),
            organization,
            project,
            team,
        }
    }
}
