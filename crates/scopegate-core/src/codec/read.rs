//! Reading requests: JSON text straight into [`Request`]s, in one pass, borrowing strings
//! from the text where it can, with errors that name the field (`requests[3].method`).
//!
//! The wire shape is `docs/wire.md`'s request: `principal`, `endpoint`,
//! `method`, and the optional `organization`, `project` and `team`. A principal is tagged by
//! `kind`; the service also accepts `{"kind": "bearer", "token": "…"}` ([`Options::bearer`]),
//! which the caller resolves against its stored tokens ([`WireRequest::resolve`]).
//!
//! The service also reads `at_least_revision` ([`Options::revision`]): on a request, and on
//! the object form of a batch ([`read_batch_at`]).
//!
//! Duplicate keys: the last one wins (as in a JSON object read into a map).

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::error::Category;

use crate::method::Method;
use crate::policy::Policy;
use crate::request::{scope_set, Principal, Request, Superuser};
use crate::scope::ScopeSet;
use crate::wire::{SuperuserDoc, DEFAULT_SSO_OK};

/// The most requests in one batch.
pub const MAX_BATCH: usize = 1000;

/// What a reader accepts beyond the requests of §4.1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Accept `{"kind": "bearer", "token": "…"}` principals (the service; not the CLI,
    /// which has no stored tokens).
    pub bearer: bool,
    /// Accept `at_least_revision` (a non-negative integer, or `null`): the revision of the
    /// service's stored world a decision must be made at or after (the service; not the CLI).
    pub revision: bool,
}

/// A request that cannot be read: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The field (`method`, `principal.scopes`, `requests[3].team`), or `body` for text
    /// that is not JSON (or not a request at all).
    pub field: String,
    /// What is wrong, without a position.
    pub message: String,
    /// The kind of problem.
    pub kind: ReadErrorKind,
}

/// The kind of a [`ReadError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadErrorKind {
    /// The text is not JSON: the position of the problem (1-based).
    Syntax {
        /// The line.
        line: usize,
        /// The column.
        column: usize,
    },
    /// JSON, but not a valid request.
    Invalid,
    /// A batch of more than [`MAX_BATCH`] requests.
    TooMany,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ReadErrorKind::Syntax { line, column } => write!(
                f,
                "{}: invalid JSON: {} at line {line} column {column}",
                self.field, self.message
            ),
            ReadErrorKind::Invalid | ReadErrorKind::TooMany => {
                write!(f, "{}: {}", self.field, self.message)
            }
        }
    }
}

impl std::error::Error for ReadError {}

/// A principal as read: one the engine knows, or a bearer secret for the caller to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WirePrincipal<'a> {
    /// A principal of §4.1.
    Known(Principal),
    /// `{"kind": "bearer", "token": …}`: the secret, borrowed from the text when it can be.
    Bearer(Cow<'a, str>),
}

/// A request as read, before a bearer principal is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRequest<'a> {
    /// Who is asking.
    pub principal: WirePrincipal<'a>,
    /// The request's other fields (its principal is anonymous until [`Self::resolve`]).
    pub rest: Request,
    /// `at_least_revision`, when given ([`Options::revision`]).
    pub at_least_revision: Option<u64>,
}

/// A batch as read ([`read_batch_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireBatch<'a> {
    /// The requests, in order.
    pub requests: Vec<WireRequest<'a>>,
    /// The batch's own `at_least_revision` (the object form), when given.
    pub at_least_revision: Option<u64>,
}

impl WireBatch<'_> {
    /// The largest `at_least_revision` of the batch and of its requests.
    pub fn max_revision(&self) -> Option<u64> {
        self.requests
            .iter()
            .filter_map(|r| r.at_least_revision)
            .chain(self.at_least_revision)
            .max()
    }
}

impl WireRequest<'_> {
    /// The request, with a bearer secret turned into a principal by `bearer` (the caller's
    /// token lookup; an unknown secret should be [`Principal::Anonymous`]).
    pub fn resolve(self, bearer: impl FnOnce(&str) -> Principal) -> Request {
        let mut request = self.rest;
        request.principal = match self.principal {
            WirePrincipal::Known(p) => p,
            WirePrincipal::Bearer(secret) => bearer(&secret),
        };
        request
    }
}

/// Reads one request from `text`.
pub fn read_request<'a>(
    text: &'a [u8],
    policy: &Policy,
    options: Options,
) -> Result<WireRequest<'a>, ReadError> {
    let ctx = Ctx::new(policy, options, "");
    let mut de = serde_json::Deserializer::from_slice(text);
    let read = RequestSeed(&ctx)
        .deserialize(&mut de)
        .and_then(|r| de.end().map(|()| r));
    read.map_err(|e| ctx.error(&e))
}

/// Reads a batch from `text`: `{"requests": [...]}` or a bare array, at most [`MAX_BATCH`].
pub fn read_batch<'a>(
    text: &'a [u8],
    policy: &Policy,
    options: Options,
) -> Result<Vec<WireRequest<'a>>, ReadError> {
    read_batch_at(text, policy, options).map(|b| b.requests)
}

/// [`read_batch`], with the batch's `at_least_revision` ([`Options::revision`]).
pub fn read_batch_at<'a>(
    text: &'a [u8],
    policy: &Policy,
    options: Options,
) -> Result<WireBatch<'a>, ReadError> {
    let ctx = Ctx::new(policy, options, "requests");
    let mut de = serde_json::Deserializer::from_slice(text);
    let read = BatchSeed(&ctx)
        .deserialize(&mut de)
        .and_then(|r| de.end().map(|()| r));
    read.map_err(|e| ctx.error(&e))
}

impl From<SuperuserDoc> for Superuser {
    fn from(doc: SuperuserDoc) -> Superuser {
        match doc {
            SuperuserDoc::None => Superuser::None,
            SuperuserDoc::Read => Superuser::Read,
            SuperuserDoc::Write => Superuser::Write,
        }
    }
}

/// The state of one read: where in the document it is, and the error it stopped on.
struct Ctx<'p> {
    policy: &'p Policy,
    options: Options,
    /// The path of the value being read (`requests[3].principal`).
    path: RefCell<String>,
    /// The error [`Ctx::fail`] recorded (serde's own error then only carries it out).
    failed: RefCell<Option<ReadError>>,
}

impl<'p> Ctx<'p> {
    fn new(policy: &'p Policy, options: Options, root: &str) -> Ctx<'p> {
        Ctx {
            policy,
            options,
            path: RefCell::new(root.to_string()),
            failed: RefCell::new(None),
        }
    }

    /// Enters field `name`; returns the length to [`Ctx::leave`] back to.
    fn enter(&self, name: &str) -> usize {
        let mut path = self.path.borrow_mut();
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        len
    }

    /// Enters element `i` of an array.
    fn enter_index(&self, i: usize) -> usize {
        use std::fmt::Write as _;
        let mut path = self.path.borrow_mut();
        let len = path.len();
        let _ = write!(path, "[{i}]");
        len
    }

    fn leave(&self, len: usize) {
        self.path.borrow_mut().truncate(len);
    }

    /// The path of `name` under the current value.
    fn field(&self, name: &str) -> String {
        let path = self.path.borrow();
        match (path.is_empty(), name.is_empty()) {
            (true, true) => "body".into(),
            (true, false) => name.into(),
            (false, true) => path.clone(),
            (false, false) => format!("{path}.{name}"),
        }
    }

    /// Records an error at `name` under the current value and returns the serde error that
    /// stops the read.
    fn fail<E: serde::de::Error>(&self, name: &str, message: impl fmt::Display) -> E {
        self.fail_with(
            self.field(name),
            message.to_string(),
            ReadErrorKind::Invalid,
        )
    }

    fn fail_with<E: serde::de::Error>(
        &self,
        field: String,
        message: String,
        kind: ReadErrorKind,
    ) -> E {
        *self.failed.borrow_mut() = Some(ReadError {
            field,
            message,
            kind,
        });
        E::custom("")
    }

    /// Reads the value of field `name` of the current object.
    fn value<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
        &self,
        map: &mut A,
        name: &str,
    ) -> Result<T, A::Error> {
        let at = self.enter(name);
        let value = map.next_value()?;
        self.leave(at);
        Ok(value)
    }

    /// The error a read stopped on: the one recorded, or serde's, located.
    fn error(&self, e: &serde_json::Error) -> ReadError {
        if let Some(recorded) = self.failed.borrow_mut().take() {
            return recorded;
        }
        let message = without_position(e);
        match e.classify() {
            Category::Data => ReadError {
                field: self.field(""),
                message,
                kind: ReadErrorKind::Invalid,
            },
            Category::Syntax | Category::Eof | Category::Io => ReadError {
                field: "body".into(),
                message,
                kind: ReadErrorKind::Syntax {
                    line: e.line(),
                    column: e.column(),
                },
            },
        }
    }
}

/// serde_json's message without its ` at line L column C` suffix.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if e.line() == 0 {
        return text;
    }
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_string(),
        None => text,
    }
}

/// A string, borrowed from the text unless it holds escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl Text<'_> {
    fn into_string(self) -> String {
        self.0.into_owned()
    }
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
type Slot<T> = Option<Option<T>>;

struct RequestSeed<'c, 'p>(&'c Ctx<'p>);

impl<'de> DeserializeSeed<'de> for RequestSeed<'_, '_> {
    type Value = WireRequest<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RequestSeed<'_, '_> {
    type Value = WireRequest<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut principal = None;
        let mut endpoint: Slot<Text<'de>> = None;
        let mut method: Slot<Text<'de>> = None;
        let mut organization: Slot<Text<'de>> = None;
        let mut project: Slot<Text<'de>> = None;
        let mut team: Slot<Text<'de>> = None;
        let mut revision: Slot<u64> = None;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match &*key.0 {
                "at_least_revision" if ctx.options.revision => {
                    revision = Some(ctx.value(&mut map, "at_least_revision")?);
                }
                "principal" => {
                    let at = ctx.enter("principal");
                    principal = Some(map.next_value_seed(PrincipalSeed(ctx))?);
                    ctx.leave(at);
                }
                "endpoint" => endpoint = Some(ctx.value(&mut map, "endpoint")?),
                "method" => method = Some(ctx.value(&mut map, "method")?),
                "organization" => organization = Some(ctx.value(&mut map, "organization")?),
                "project" => project = Some(ctx.value(&mut map, "project")?),
                "team" => team = Some(ctx.value(&mut map, "team")?),
                other => {
                    // The value is read first: text that is not JSON (or nests past the
                    // recursion limit) is reported as such before the unknown field.
                    map.next_value::<serde_json::Value>()?;
                    return Err(ctx.fail(other, "unknown field"));
                }
            }
        }
        let Some(Some(endpoint)) = endpoint else {
            return Err(ctx.fail("endpoint", "missing"));
        };
        let Some(Some(method)) = method else {
            return Err(ctx.fail("method", "missing"));
        };
        let method = method
            .0
            .parse::<Method>()
            .map_err(|e| ctx.fail("method", e))?;
        let Some(principal) = principal else {
            return Err(ctx.fail("principal", "missing"));
        };
        Ok(WireRequest {
            principal,
            rest: Request {
                principal: Principal::Anonymous,
                endpoint: endpoint.into_string(),
                method,
                organization: organization.flatten().map(Text::into_string),
                project: project.flatten().map(Text::into_string),
                team: team.flatten().map(Text::into_string),
            },
            at_least_revision: revision.flatten(),
        })
    }
}

/// Every principal field, flat: which ones a kind takes is checked once `kind` is known.
#[derive(Default)]
struct PrincipalFields<'a> {
    kind: Slot<Text<'a>>,
    token: Slot<Text<'a>>,
    user: Slot<u64>,
    superuser: Slot<SuperuserDoc>,
    staff: Slot<bool>,
    sso_ok: Slot<bool>,
    scopes: Slot<Vec<Text<'a>>>,
    organization: Slot<Text<'a>>,
    integration: Slot<u64>,
    creator: Slot<u64>,
}

/// The principal kinds, as the error for an unknown one lists them.
const KINDS: &str = "`anonymous`, `session`, `user_token`, `org_token`, `api_key`, \
                     `integration`, `system`";

struct PrincipalSeed<'c, 'p>(&'c Ctx<'p>);

impl<'de> DeserializeSeed<'de> for PrincipalSeed<'_, '_> {
    type Value = WirePrincipal<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PrincipalSeed<'_, '_> {
    type Value = WirePrincipal<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a principal object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut p = PrincipalFields::default();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match &*key.0 {
                "kind" => p.kind = Some(ctx.value(&mut map, "kind")?),
                "token" => p.token = Some(ctx.value(&mut map, "token")?),
                "user" => p.user = Some(ctx.value(&mut map, "user")?),
                "superuser" => p.superuser = Some(ctx.value(&mut map, "superuser")?),
                "staff" => p.staff = Some(ctx.value(&mut map, "staff")?),
                "sso_ok" => p.sso_ok = Some(ctx.value(&mut map, "sso_ok")?),
                "scopes" => p.scopes = Some(ctx.value(&mut map, "scopes")?),
                "organization" => p.organization = Some(ctx.value(&mut map, "organization")?),
                "integration" => p.integration = Some(ctx.value(&mut map, "integration")?),
                "creator" => p.creator = Some(ctx.value(&mut map, "creator")?),
                other => {
                    // The value is read first: text that is not JSON (or nests past the
                    // recursion limit) is reported as such before the unknown field.
                    map.next_value::<serde_json::Value>()?;
                    return Err(ctx.fail(other, "unknown field"));
                }
            }
        }
        p.convert(ctx)
    }
}

impl<'a> PrincipalFields<'a> {
    /// The principal of `kind`, with §4.1's defaults; a field the kind does not take is an
    /// error, as is a missing or `null` required one.
    fn convert<E: serde::de::Error>(self, ctx: &Ctx<'_>) -> Result<WirePrincipal<'a>, E> {
        let Some(Some(kind)) = &self.kind else {
            return Err(ctx.fail("", "missing field `kind`"));
        };
        let allowed: &[&str] = match &*kind.0 {
            "anonymous" | "system" => &[],
            "bearer" if ctx.options.bearer => &["token"],
            "session" => &["user", "superuser", "staff", "sso_ok"],
            "user_token" => &["user", "scopes", "organization"],
            "org_token" => &["scopes", "organization", "creator"],
            "api_key" => &["scopes", "organization"],
            "integration" => &["integration"],
            other => {
                let bearer = if ctx.options.bearer { ", `bearer`" } else { "" };
                return Err(ctx.fail(
                    "",
                    format_args!("unknown variant `{other}`, expected one of {KINDS}{bearer}"),
                ));
            }
        };
        for (name, present) in [
            ("token", self.token.is_some()),
            ("user", self.user.is_some()),
            ("superuser", self.superuser.is_some()),
            ("staff", self.staff.is_some()),
            ("sso_ok", self.sso_ok.is_some()),
            ("scopes", self.scopes.is_some()),
            ("organization", self.organization.is_some()),
            ("integration", self.integration.is_some()),
            ("creator", self.creator.is_some()),
        ] {
            if present && !allowed.contains(&name) {
                return Err(ctx.fail(name, format_args!("unknown field for kind `{}`", kind.0)));
            }
        }
        let required = |v: Slot<u64>, name: &str| -> Result<u64, E> {
            v.flatten().ok_or_else(|| ctx.fail(name, "missing"))
        };
        let scopes = |v: Slot<Vec<Text<'a>>>| -> Result<ScopeSet, E> {
            let names = not_null(ctx, v, "scopes")?.unwrap_or_default();
            scope_set(ctx.policy, names.iter().map(|t| &*t.0)).map_err(|m| ctx.fail("scopes", m))
        };
        let organization = |v: Slot<Text<'a>>| -> Result<String, E> {
            v.flatten()
                .map(Text::into_string)
                .ok_or_else(|| ctx.fail("organization", "missing"))
        };
        Ok(WirePrincipal::Known(match &*kind.0 {
            "bearer" => {
                let token = self
                    .token
                    .flatten()
                    .ok_or_else(|| ctx.fail("token", "missing or not a string"))?;
                return Ok(WirePrincipal::Bearer(token.0));
            }
            "anonymous" => Principal::Anonymous,
            "system" => Principal::System,
            "session" => Principal::Session {
                user: required(self.user, "user")?,
                superuser: not_null(ctx, self.superuser, "superuser")?
                    .unwrap_or_default()
                    .into(),
                staff: not_null(ctx, self.staff, "staff")?.unwrap_or(false),
                sso_ok: not_null(ctx, self.sso_ok, "sso_ok")?.unwrap_or(DEFAULT_SSO_OK),
            },
            "user_token" => Principal::UserToken {
                user: required(self.user, "user")?,
                scopes: scopes(self.scopes)?,
                organization: self.organization.flatten().map(Text::into_string),
            },
            "org_token" => Principal::OrgToken {
                scopes: scopes(self.scopes)?,
                organization: organization(self.organization)?,
                creator: self.creator.flatten(),
            },
            "api_key" => Principal::ApiKey {
                scopes: scopes(self.scopes)?,
                organization: organization(self.organization)?,
            },
            _ => Principal::Integration {
                integration: required(self.integration, "integration")?,
            },
        }))
    }
}

/// An optional field that must not be `null` when present.
fn not_null<T, E: serde::de::Error>(ctx: &Ctx<'_>, v: Slot<T>, name: &str) -> Result<Option<T>, E> {
    match v {
        Some(None) => Err(ctx.fail(name, "invalid type: null")),
        Some(Some(v)) => Ok(Some(v)),
        None => Ok(None),
    }
}

struct BatchSeed<'c, 'p>(&'c Ctx<'p>);

impl<'de> DeserializeSeed<'de> for BatchSeed<'_, '_> {
    type Value = WireBatch<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BatchSeed<'_, '_> {
    type Value = WireBatch<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of requests, or {\"requests\": [...]}")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok(WireBatch {
            requests: ListSeed(self.0).visit_seq(seq)?,
            at_least_revision: None,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut requests = None;
        let mut revision: Slot<u64> = None;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            if key.0 == "at_least_revision" && ctx.options.revision {
                // Named at the top level, not under `requests` (an error leaves the path
                // there, for the error to name).
                let at = ctx.path.replace(String::new());
                revision = Some(ctx.value(&mut map, "at_least_revision")?);
                *ctx.path.borrow_mut() = at;
                continue;
            }
            if key.0 != "requests" {
                map.next_value::<serde_json::Value>()?;
                return Err(ctx.fail_with(
                    key.into_string(),
                    "unknown field".into(),
                    ReadErrorKind::Invalid,
                ));
            }
            requests = Some(map.next_value_seed(ListSeed(ctx))?);
        }
        let requests = requests.ok_or_else(|| ctx.fail("", "missing or not an array"))?;
        Ok(WireBatch {
            requests,
            at_least_revision: revision.flatten(),
        })
    }
}

struct ListSeed<'c, 'p>(&'c Ctx<'p>);

impl<'de> DeserializeSeed<'de> for ListSeed<'_, '_> {
    type Value = Vec<WireRequest<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_> {
    type Value = Vec<WireRequest<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of requests")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16).min(MAX_BATCH));
        loop {
            if out.len() == MAX_BATCH {
                let mut more = 0usize;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    more += 1;
                }
                if more == 0 {
                    return Ok(out);
                }
                return Err(ctx.fail_with(
                    "requests".into(),
                    format!(
                        "at most {MAX_BATCH} requests per batch, got {}",
                        MAX_BATCH + more
                    ),
                    ReadErrorKind::TooMany,
                ));
            }
            let at = ctx.enter_index(out.len());
            let Some(request) = seq.next_element_seed(RequestSeed(ctx))? else {
                ctx.leave(at);
                return Ok(out);
            };
            ctx.leave(at);
            out.push(request);
        }
    }
}
