//! The service's OpenAPI 3.1 document, served at `/api/openapi.json`.
//!
//! Generated from the code: the paths, methods and operation ids come from the service
//! manifest (the same table that authorizes requests), the request and response schemas from
//! the route types (`utoipa::ToSchema`), and [`OPERATIONS`] ties the two together. A test
//! checks that every manifest endpoint and method has an entry here. The decision API
//! (`/v1/`) and `/healthz`, `/readyz`, `/metrics` come from `openapi/service.rs`.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ComponentsBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required,
    ResponseBuilder, Schema,
};

use crate::error::ErrorBody;
use crate::routes::access_requests::{AccessRequestOut, ResolveBody};
use crate::routes::features::{FeaturesBody, FeaturesOut};
use crate::routes::granular::{GranularAccessBody, GranularAccessOut};
use crate::routes::member_teams::MemberTeamOut;
use crate::routes::members::{InviteBody, MemberOut, RoleBody, TeamMembershipOut, TeamRoleBody};
use crate::routes::members::{TeamRoleItem, TeamRoleOut};
use crate::routes::organizations::{
    ActorOut, AuditOut, CreateOrg, OrganizationOut, StatusOut, UpdateOrg,
};
use crate::routes::projects::ProjectOut;
use crate::routes::teams::{CreateBody, TeamOut, UpdateTeamBody};
use crate::routes::tokens::{CreateToken, TokenOut};
use scopegate_core::manifest::Endpoint;
use scopegate_core::{Manifest, Method, Policy};
use utoipa::openapi::extensions::Extensions;

mod service;

/// What an operation takes and returns.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// The manifest endpoint.
    pub endpoint: &'static str,
    /// The method.
    pub method: Method,
    /// The request body schema.
    pub request: Option<&'static str>,
    /// The success status.
    pub status: u16,
    /// The response schema (`None`: no body).
    pub response: Option<&'static str>,
    /// The response is a list of `response`.
    pub list: bool,
    /// The list is paged (`?cursor=`, `Link`).
    pub paged: bool,
    /// Other success statuses, without a body (team membership's 202 and 204).
    pub also: &'static [u16],
}

const fn op(
    endpoint: &'static str,
    method: Method,
    request: Option<&'static str>,
    status: u16,
    response: Option<&'static str>,
) -> Operation {
    Operation {
        endpoint,
        method,
        request,
        status,
        response,
        list: false,
        paged: false,
        also: &[],
    }
}

const fn list(endpoint: &'static str, response: &'static str, paged: bool) -> Operation {
    Operation {
        endpoint,
        method: Method::Get,
        request: None,
        status: 200,
        response: Some(response),
        list: true,
        paged,
        also: &[],
    }
}

/// [`op`] with other success statuses that carry no body.
const fn op_also(o: Operation, also: &'static [u16]) -> Operation {
    Operation { also, ..o }
}

/// Every operation of the API.
pub const OPERATIONS: &[Operation] = &[
    list("OrganizationIndexEndpoint", "OrganizationOut", true),
    op(
        "OrganizationIndexEndpoint",
        Method::Post,
        Some("CreateOrg"),
        201,
        Some("OrganizationOut"),
    ),
    op(
        "OrganizationDetailsEndpoint",
        Method::Get,
        None,
        200,
        Some("OrganizationOut"),
    ),
    op(
        "OrganizationDetailsEndpoint",
        Method::Put,
        Some("UpdateOrg"),
        200,
        Some("OrganizationOut"),
    ),
    op(
        "OrganizationDetailsEndpoint",
        Method::Delete,
        None,
        202,
        Some("OrganizationOut"),
    ),
    list("OrganizationMemberIndexEndpoint", "MemberOut", true),
    op(
        "OrganizationMemberIndexEndpoint",
        Method::Post,
        Some("InviteBody"),
        201,
        Some("MemberOut"),
    ),
    op(
        "OrganizationMemberDetailsEndpoint",
        Method::Get,
        None,
        200,
        Some("MemberOut"),
    ),
    op(
        "OrganizationMemberDetailsEndpoint",
        Method::Put,
        Some("RoleBody"),
        200,
        Some("MemberOut"),
    ),
    op(
        "OrganizationMemberDetailsEndpoint",
        Method::Delete,
        None,
        204,
        None,
    ),
    op(
        "AcceptOrganizationInvite",
        Method::Post,
        None,
        200,
        Some("MemberOut"),
    ),
    op(
        "OrganizationMemberTeamDetailsEndpoint",
        Method::Get,
        None,
        200,
        Some("MemberTeamOut"),
    ),
    op_also(
        op(
            "OrganizationMemberTeamDetailsEndpoint",
            Method::Post,
            None,
            201,
            Some("TeamOut"),
        ),
        &[202, 204],
    ),
    op(
        "OrganizationMemberTeamDetailsEndpoint",
        Method::Put,
        Some("TeamRoleBody"),
        200,
        Some("MemberTeamOut"),
    ),
    op(
        "OrganizationMemberTeamDetailsEndpoint",
        Method::Delete,
        None,
        200,
        Some("TeamOut"),
    ),
    list("OrganizationTeamsEndpoint", "TeamOut", true),
    op(
        "OrganizationTeamsEndpoint",
        Method::Post,
        Some("CreateBody"),
        201,
        Some("TeamOut"),
    ),
    op(
        "TeamDetailsEndpoint",
        Method::Get,
        None,
        200,
        Some("TeamOut"),
    ),
    op(
        "TeamDetailsEndpoint",
        Method::Put,
        Some("UpdateTeamBody"),
        200,
        Some("TeamOut"),
    ),
    op("TeamDetailsEndpoint", Method::Delete, None, 204, None),
    list("TeamMembersEndpoint", "TeamMembershipOut", false),
    list("TeamProjectsEndpoint", "ProjectOut", false),
    op(
        "TeamProjectsEndpoint",
        Method::Post,
        Some("CreateBody"),
        201,
        Some("ProjectOut"),
    ),
    list("OrganizationProjectsEndpoint", "ProjectOut", true),
    op(
        "ProjectDetailsEndpoint",
        Method::Get,
        None,
        200,
        Some("ProjectOut"),
    ),
    op("ProjectDetailsEndpoint", Method::Delete, None, 204, None),
    op(
        "ProjectTeamDetailsEndpoint",
        Method::Post,
        None,
        201,
        Some("ProjectOut"),
    ),
    op(
        "ProjectTeamDetailsEndpoint",
        Method::Delete,
        None,
        200,
        Some("ProjectOut"),
    ),
    list("ApiTokensEndpoint", "TokenOut", true),
    op(
        "ApiTokensEndpoint",
        Method::Post,
        Some("CreateToken"),
        201,
        Some("TokenOut"),
    ),
    op("ApiTokenDetailsEndpoint", Method::Delete, None, 204, None),
    list("OrgAuthTokensEndpoint", "TokenOut", true),
    op(
        "OrgAuthTokensEndpoint",
        Method::Post,
        Some("CreateToken"),
        201,
        Some("TokenOut"),
    ),
    op(
        "OrgAuthTokenDetailsEndpoint",
        Method::Delete,
        None,
        204,
        None,
    ),
    list("OrganizationAuditLogsEndpoint", "AuditOut", true),
    op(
        "OrganizationGranularAccessEndpoint",
        Method::Get,
        None,
        200,
        Some("GranularAccessOut"),
    ),
    op(
        "OrganizationGranularAccessEndpoint",
        Method::Put,
        Some("GranularAccessBody"),
        200,
        Some("GranularAccessOut"),
    ),
    op(
        "OrganizationFeaturesEndpoint",
        Method::Put,
        Some("FeaturesBody"),
        200,
        Some("FeaturesOut"),
    ),
    list(
        "OrganizationAccessRequestsEndpoint",
        "AccessRequestOut",
        false,
    ),
    op(
        "OrganizationAccessRequestDetailsEndpoint",
        Method::Put,
        Some("ResolveBody"),
        204,
        None,
    ),
];

fn http_method(m: Method) -> Option<HttpMethod> {
    Some(match m {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
        Method::Patch => HttpMethod::Patch,
        Method::Delete => HttpMethod::Delete,
        Method::Head => HttpMethod::Head,
        Method::Options => HttpMethod::Options,
    })
}

fn json(schema: impl Into<RefOr<Schema>>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn error(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json(Ref::from_schema_name("ErrorBody")))
        .build()
}

/// 400: `{"detail": "…"}`, or Sentry's field-keyed body (`{"replayAccessMembers": "…"}`, or
/// a serializer's lists, `{"email": ["…"]}`): an object of strings or lists of strings.
fn bad_request() -> utoipa::openapi::Response {
    let text = ObjectBuilder::new().schema_type(Type::String).build();
    let list = ArrayBuilder::new().items(text.clone()).build();
    let value = utoipa::openapi::schema::OneOfBuilder::new()
        .item(text)
        .item(list)
        .build();
    let body = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(Schema::OneOf(value)))
        .min_properties(Some(1));
    ResponseBuilder::new()
        .description("Bad input: `{\"detail\": …}` naming the field, or `{\"<field>\": …}`")
        .content("application/json", json(Schema::Object(body.build())))
        .build()
}

/// 403: `{"detail": "…"}`, or a role rule's field-keyed body (`{"role": "…"}`, Sentry's
/// member edits): an object of strings.
fn forbidden() -> utoipa::openapi::Response {
    let body = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
        .min_properties(Some(1));
    ResponseBuilder::new()
        .description("Denied by the engine or a role rule: `{\"detail\": …}` or `{\"<field>\": …}`")
        .content("application/json", json(Schema::Object(body.build())))
        .build()
}

/// The path parameters of `path` (`{name}` segments).
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

/// The scopes an operation admits (any one of them, as in Sentry: lint the document with
/// `--scope-list any`), sorted: the scope map of the endpoint's first permission class for
/// the method. Every endpoint of the service manifest has exactly one class.
fn admitted_scopes(
    manifest: &Manifest,
    policy: &Policy,
    endpoint: &Endpoint,
    method: Method,
) -> Vec<String> {
    endpoint
        .classes
        .first()
        .and_then(|c| manifest.class(*c))
        .map(|c| {
            policy
                .scopes
                .sorted_names(c.scopes_for(method))
                .into_iter()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The readonly-mutation exception note of the endpoint (or its class) for `method`.
fn exception_note<'m>(
    manifest: &'m Manifest,
    endpoint: &'m Endpoint,
    method: Method,
) -> Option<&'m str> {
    let class_notes = endpoint
        .classes
        .iter()
        .filter_map(|c| manifest.class(*c))
        .flat_map(|c| c.notes.iter());
    endpoint
        .notes
        .iter()
        .chain(class_notes)
        .find(|(m, _)| *m == method)
        .map(|(_, note)| note.as_str())
}

/// Builds the document from the compiled service manifest: each operation's bearer
/// requirement lists the scopes its permission class admits, and carries the manifest's
/// exception note as `x-readonly-mutation-exception`, so `scopegate lint --scope-list any`
/// reads the same guardrail from the document as from the manifest.
pub fn document(manifest: &Manifest, policy: &Policy) -> OpenApi {
    let mut paths = Paths::new();
    for o in OPERATIONS {
        let Some(endpoint) = manifest
            .endpoint_id(o.endpoint)
            .and_then(|id| manifest.endpoint(id))
        else {
            continue;
        };
        let (Some(path), Some(method)) = (endpoint.path.as_deref(), http_method(o.method)) else {
            continue;
        };
        let mut b = OperationBuilder::new()
            .operation_id(Some(format!(
                "{}.{}",
                o.endpoint,
                o.method.as_str().to_lowercase()
            )))
            .summary(Some(format!("{} {}", o.method.as_str(), o.endpoint)))
            .securities(Some([SecurityRequirement::new(
                "bearer",
                admitted_scopes(manifest, policy, endpoint, o.method),
            )]));
        if let Some(note) = exception_note(manifest, endpoint, o.method) {
            b = b.extensions(Some(Extensions::from_iter([(
                "x-readonly-mutation-exception",
                note,
            )])));
        }
        for name in path_params(path) {
            b = b.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        if o.paged {
            b = b.parameter(
                ParameterBuilder::new()
                    .name("cursor")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some("Sentry's cursor `LIMIT:PAGE:IS_PREV`"))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some(r"^[0-9]+:[0-9]+(:[01])?$")),
                    )),
            );
            b = b.parameter(per_page());
        }
        if let Some(req) = o.request {
            b = b.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", json(Ref::from_schema_name(req)))
                    .build(),
            ));
        }
        let success = match o.response {
            Some(schema) => {
                let content: RefOr<Schema> = if o.list {
                    ArrayBuilder::new()
                        .items(Ref::from_schema_name(schema))
                        .build()
                        .into()
                } else {
                    Ref::from_schema_name(schema).into()
                };
                ResponseBuilder::new()
                    .description("Success")
                    .content("application/json", json(content))
                    .build()
            }
            None => ResponseBuilder::new()
                .description("Success, no content")
                .build(),
        };
        for status in o.also {
            b = b.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description("Success, no content")
                    .build(),
            );
        }
        b = b
            .response(o.status.to_string(), success)
            .response("400", bad_request())
            .response("401", error("No or invalid credential"))
            .response("403", forbidden())
            .response("404", error("Not found"));
        if matches!(o.method, Method::Post | Method::Put) {
            b = b.response("409", error("Conflict"));
        }
        if o.request.is_some() {
            b = b
                .response("413", error("Body too large"))
                .response("415", error("Not JSON"));
        }
        paths.add_path_operation(path, vec![method], b.build());
    }
    // The decision API and the service routes (`openapi/service.rs`).
    paths.paths.extend(service::paths());
    let components = ComponentsBuilder::new()
        .schemas_from_iter(service::schemas())
        .schema_from::<ErrorBody>()
        .schema_from::<OrganizationOut>()
        .schema_from::<StatusOut>()
        .schema_from::<CreateOrg>()
        .schema_from::<UpdateOrg>()
        .schema_from::<AuditOut>()
        .schema_from::<ActorOut>()
        .schema_from::<MemberOut>()
        .schema_from::<InviteBody>()
        .schema_from::<RoleBody>()
        .schema_from::<TeamRoleItem>()
        .schema_from::<TeamRoleOut>()
        .schema_from::<TeamMembershipOut>()
        .schema_from::<TeamRoleBody>()
        .schema_from::<TeamOut>()
        .schema_from::<CreateBody>()
        .schema_from::<ProjectOut>()
        .schema_from::<TokenOut>()
        .schema_from::<CreateToken>()
        .schema_from::<GranularAccessOut>()
        .schema_from::<GranularAccessBody>()
        .schema_from::<FeaturesBody>()
        .schema_from::<FeaturesOut>()
        .schema_from::<MemberTeamOut>()
        .schema_from::<UpdateTeamBody>()
        .schema_from::<AccessRequestOut>()
        .schema_from::<ResolveBody>()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("scopegate")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "scopegate's management API (Sentry-compatible paths, camelCase JSON, ids as strings, errors as {\"detail\": …}), its decision API (/v1/, service tokens only) and its health and metrics routes.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}

/// The `per_page` query parameter of a paged list (a cursor's own page size wins).
fn per_page() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("per_page")
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(
            "Items per page when there is no cursor (a cursor's own page size wins)",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(crate::paging::MAX_PER_PAGE)),
        ))
        .build()
}
