//! The request set of the benchmark: requests over every endpoint and method of the
//! manifest, across the organizations of a generated world.

use std::collections::HashMap;

use scopegate_core::manifest::ObjectKind;
use scopegate_core::wire::SuperuserDoc;
use scopegate_core::{Manifest, Method, Policy, PrincipalDoc, RequestDoc, WorldDoc};

use super::{Rng, Size};

/// Generates `size.requests` requests over every (endpoint, method) of `manifest`, across the
/// organizations of `world`.
///
/// About three quarters are sessions and unbound user tokens of users (the subset every peer
/// decides): a member, mostly calling its own organization (and there mostly its own teams'
/// projects), sometimes another organization it belongs to, sometimes an organization it
/// does not belong to; a few users who belong to no organization. The rest are org tokens
/// and API keys (sometimes of another organization), integrations (sometimes not installed
/// there), superuser and staff sessions, user tokens bound to an organization (sometimes
/// another one), the system and anonymous callers. Requests fall on organizations in
/// proportion to their members.
pub fn requests(
    world: &WorldDoc,
    manifest: &Manifest,
    policy: &Policy,
    size: Size,
    seed: u64,
) -> Vec<RequestDoc> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let ops: Vec<(String, Method, bool)> = manifest
        .endpoints
        .iter()
        .flat_map(|e| {
            let project = e
                .classes
                .iter()
                .filter_map(|c| manifest.classes.get(*c))
                .any(|c| c.object == ObjectKind::Project);
            Method::ALL
                .iter()
                .filter(|m| {
                    **m != Method::Options
                        && e.classes
                            .iter()
                            .filter_map(|c| manifest.classes.get(*c))
                            .any(|c| c.scope_map.get(m.index()).is_some_and(Option::is_some))
                })
                .map(|m| (e.name.clone(), *m, project))
                .collect::<Vec<_>>()
        })
        .collect();
    // Most of Sentry's traffic is about projects: two in five requests pick a project
    // endpoint.
    let project_ops: Vec<(String, Method, bool)> =
        ops.iter().filter(|(_, _, p)| *p).cloned().collect();
    let scopes: Vec<String> = policy.scopes.names().map(String::from).collect();

    // Indexes of the world document.
    let org_index: HashMap<u64, usize> = world
        .organizations
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id, i))
        .collect();
    let slugs: Vec<&str> = world
        .organizations
        .iter()
        .map(|o| o.slug.as_str())
        .collect();
    let mut org_projects: Vec<Vec<&str>> = vec![Vec::new(); slugs.len()];
    let mut team_projects: HashMap<u64, Vec<&str>> = HashMap::new();
    for p in &world.projects {
        if let Some(list) = org_index
            .get(&p.organization)
            .and_then(|&i| org_projects.get_mut(i))
        {
            list.push(&p.slug);
        }
        for t in &p.teams {
            team_projects.entry(*t).or_default().push(&p.slug);
        }
    }
    // Members with a user, as (org index, member index); and (org index, user) → member.
    let mut with_user: Vec<(usize, usize)> = Vec::new();
    let mut member_of: HashMap<(usize, u64), usize> = HashMap::new();
    let mut orgs_of: HashMap<u64, Vec<usize>> = HashMap::new();
    for (mi, m) in world.members.iter().enumerate() {
        let (Some(u), Some(&oi)) = (m.user, org_index.get(&m.organization)) else {
            continue;
        };
        with_user.push((oi, mi));
        member_of.insert((oi, u), mi);
        orgs_of.entry(u).or_default().push(oi);
    }
    let outsiders: Vec<u64> = world
        .users
        .iter()
        .map(|u| u.id)
        .filter(|u| !orgs_of.contains_key(u))
        .collect();
    let integrations: Vec<(u64, Vec<usize>)> = world
        .integrations
        .iter()
        .map(|it| {
            let on = it
                .installed_on
                .iter()
                .filter_map(|o| org_index.get(o).copied())
                .collect();
            (it.id, on)
        })
        .collect();

    let token_scopes = |rng: &mut Rng| -> Vec<String> {
        // Realistic tokens: a handful of scopes.
        let n = 1 + rng.below(5);
        let mut out: Vec<String> = Vec::new();
        for _ in 0..n {
            if let Some(s) = rng.pick(&scopes) {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    };
    // An organization weighted by its members (the org of a random member).
    let weighted_org = |rng: &mut Rng| -> usize { rng.pick(&with_user).map_or(0, |(o, _)| *o) };
    let slug = |o: usize| -> String { slugs.get(o).map_or_else(String::new, |s| s.to_string()) };

    let mut out = Vec::with_capacity(size.requests);
    while out.len() < size.requests {
        let pool = if rng.chance(40) && !project_ops.is_empty() {
            &project_ops
        } else {
            &ops
        };
        let Some((endpoint, method, project)) = rng.pick(pool).cloned() else {
            break;
        };
        // The caller: a random member's user (so callers, like traffic, follow organization
        // size), or a user of no organization.
        let (user, home) = if rng.chance(3) {
            (
                rng.pick(&outsiders).copied().unwrap_or(1),
                weighted_org(&mut rng),
            )
        } else {
            let (o, mi) = rng.pick(&with_user).copied().unwrap_or((0, 0));
            let u = world.members.get(mi).and_then(|m| m.user).unwrap_or(1);
            (u, o)
        };
        // The organization called: mostly the caller's own; sometimes another of its
        // organizations; sometimes one it does not belong to (denied).
        let mut org = match rng.below(100) {
            0..=84 => home,
            85..=91 => orgs_of
                .get(&user)
                .and_then(|os| rng.pick(os).copied())
                .unwrap_or(home),
            _ => weighted_org(&mut rng),
        };
        let other_org = |rng: &mut Rng| -> String { slug(weighted_org(rng)) };
        let principal = match rng.below(100) {
            0..=44 => PrincipalDoc::Session {
                user,
                superuser: SuperuserDoc::None,
                staff: false,
                sso_ok: true,
            },
            45..=74 => PrincipalDoc::UserToken {
                user,
                scopes: token_scopes(&mut rng),
                organization: None,
            },
            75..=79 => PrincipalDoc::UserToken {
                user,
                scopes: token_scopes(&mut rng),
                organization: Some(if rng.chance(80) {
                    slug(org)
                } else {
                    other_org(&mut rng)
                }),
            },
            80..=86 => PrincipalDoc::OrgToken {
                organization: if rng.chance(90) {
                    slug(org)
                } else {
                    other_org(&mut rng)
                },
                scopes: token_scopes(&mut rng),
                creator: None,
            },
            87..=89 => PrincipalDoc::ApiKey {
                organization: if rng.chance(95) {
                    slug(org)
                } else {
                    other_org(&mut rng)
                },
                scopes: token_scopes(&mut rng),
            },
            90..=93 => {
                let (id, on) = rng.pick(&integrations).cloned().unwrap_or_default();
                // Mostly called on an organization it is installed on.
                if rng.chance(80) {
                    if let Some(&o) = rng.pick(&on) {
                        org = o;
                    }
                }
                PrincipalDoc::Integration { integration: id }
            }
            94..=97 => PrincipalDoc::Session {
                user,
                superuser: if rng.chance(50) {
                    SuperuserDoc::Read
                } else {
                    SuperuserDoc::Write
                },
                staff: rng.chance(50),
                sso_ok: true,
            },
            98 => PrincipalDoc::System,
            _ => PrincipalDoc::Anonymous,
        };
        let project = if project {
            let own: Vec<&str> = member_of
                .get(&(org, user))
                .and_then(|&mi| world.members.get(mi))
                .map(|m| {
                    m.teams
                        .iter()
                        .filter_map(|t| team_projects.get(&t.team))
                        .flatten()
                        .copied()
                        .collect()
                })
                .unwrap_or_default();
            let in_org = org_projects.get(org).map(Vec::as_slice).unwrap_or(&[]);
            match rng.below(100) {
                // A project of one of the caller's teams.
                0..=59 if !own.is_empty() => rng.pick(&own).map(|p| p.to_string()),
                // A project of another organization, named on this one (most often unknown
                // here: slugs are unique only within an organization).
                97..=99 => org_projects
                    .get(weighted_org(&mut rng))
                    .and_then(|ps| rng.pick(ps))
                    .map(|p| p.to_string()),
                _ => rng.pick(in_org).map(|p| p.to_string()),
            }
        } else {
            None
        };
        out.push(request(principal, &endpoint, method, slug(org), project));
    }
    out
}

fn request(
    principal: PrincipalDoc,
    endpoint: &str,
    method: Method,
    organization: String,
    project: Option<String>,
) -> RequestDoc {
    RequestDoc {
        principal,
        endpoint: endpoint.to_string(),
        method: method.as_str().into(),
        organization: Some(organization),
        project,
        team: None,
    }
}
