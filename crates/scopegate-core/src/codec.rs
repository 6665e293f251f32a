//! The wire codec: the one conversion between the JSON of requests and decisions
//! (`docs/wire.md`) and the engine's types, used by `scopegate check` and
//! `explain`, the service's decision API (`/v1/`) and its decision log.
//!
//! - [`read`]: JSON text → [`crate::Request`], borrowing from the text, errors naming the
//!   field; batches of at most [`MAX_BATCH`].
//! - [`mod@write`]: [`crate::Decision`] → JSON ([`DecisionJson`], [`write_decision`],
//!   [`write_batch`]), and a request back to JSON for the decision log ([`RequestJson`]).
//!
//! The serde types of [`crate::wire`] remain for building requests and worlds in code
//! (generators, tests); JSON sent to scopegate is read here.

pub mod read;
pub mod write;

pub use read::{
    read_batch, read_batch_at, read_request, Options, ReadError, ReadErrorKind, WireBatch,
    WirePrincipal, WireRequest, MAX_BATCH,
};
pub use write::{write_batch, write_decision, DecisionJson, GrantCodes, Lead, RequestJson};

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]
mod tests {
    use super::*;
    use crate::decision::{Grant, GrantPath, GranularPath, Reason};
    use crate::{Decision, Method, Policy, Principal, Request, Superuser};

    fn read(text: &str) -> Result<Request, ReadError> {
        read_request(text.as_bytes(), &Policy::sentry(), Options::default())
            .map(|r| r.resolve(|_| Principal::Anonymous))
    }

    fn error(text: &str) -> ReadError {
        read(text).expect_err(text)
    }

    #[test]
    fn a_request_is_read_with_the_defaults() {
        let r = read(
            r#"{"principal": {"kind": "session", "user": 7}, "endpoint": "E", "method": "PUT",
                "organization": "acme", "team": null}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            Request {
                principal: Principal::Session {
                    user: 7,
                    superuser: Superuser::None,
                    staff: false,
                    sso_ok: true,
                },
                endpoint: "E".into(),
                method: Method::Put,
                organization: Some("acme".into()),
                project: None,
                team: None,
            }
        );
    }

    #[test]
    fn errors_name_the_field() {
        let anon = r#""principal": {"kind": "anonymous"}"#;
        for (text, field, message) in [
            ("nope", "body", "expected ident"),
            ("[1]", "body", "expected a request object"),
            (
                &*format!(r#"{{{anon}, "endpoint": "E", "method": "FETCH"}}"#),
                "method",
                "unknown HTTP method `FETCH`",
            ),
            (
                &*format!(r#"{{{anon}, "endpoint": 3, "method": "GET"}}"#),
                "endpoint",
                "expected a string",
            ),
            (
                &*format!(r#"{{{anon}, "method": "GET"}}"#),
                "endpoint",
                "missing",
            ),
            (
                &*format!(r#"{{{anon}, "endpoint": "E", "method": "GET", "org": 1}}"#),
                "org",
                "unknown field",
            ),
            (
                r#"{"principal": {"kind": "robot"}, "endpoint": "E", "method": "GET"}"#,
                "principal",
                "unknown variant `robot`",
            ),
            (
                r#"{"principal": {"kind": "bearer", "token": "t"}, "endpoint": "E", "method": "GET"}"#,
                "principal",
                "unknown variant `bearer`",
            ),
            (
                r#"{"principal": {"kind": "session"}, "endpoint": "E", "method": "GET"}"#,
                "principal.user",
                "missing",
            ),
            (
                r#"{"principal": {"kind": "session", "user": 1, "staff": null}, "endpoint": "E", "method": "GET"}"#,
                "principal.staff",
                "null",
            ),
            (
                r#"{"principal": {"kind": "system", "user": 1}, "endpoint": "E", "method": "GET"}"#,
                "principal.user",
                "unknown field",
            ),
            (
                r#"{"principal": {"kind": "api_key", "organization": "a", "scopes": ["org:reed"]}, "endpoint": "E", "method": "GET"}"#,
                "principal.scopes",
                "unknown scope `org:reed`",
            ),
        ] {
            let e = error(text);
            assert_eq!(e.field, field, "{text}: {e}");
            assert!(e.message.contains(message), "{text}: {e}");
        }
        let e = error("{\n\"principal\": ");
        assert_eq!(e.field, "body");
        assert_eq!(
            e.kind,
            ReadErrorKind::Syntax {
                line: 2,
                column: 13
            },
            "{e}"
        );
    }

    #[test]
    fn a_batch_names_the_request_and_has_a_limit() {
        let policy = Policy::sentry();
        let one = r#"{"principal": {"kind": "anonymous"}, "endpoint": "E", "method": "GET"}"#;
        let bad = one.replace("GET", "FETCH");
        let batch = |text: String| {
            read_batch(text.as_bytes(), &policy, Options::default()).map(|b| b.len())
        };
        let e = batch(format!(r#"{{"requests": [{one}, {bad}]}}"#)).unwrap_err();
        assert_eq!(e.field, "requests[1].method", "{e}");
        assert_eq!(batch(format!("[{one}, {one}]")).unwrap(), 2);
        assert_eq!(
            batch(r#"{"requests": 3}"#.into()).unwrap_err().field,
            "requests"
        );
        assert_eq!(batch(r#"{"extra": []}"#.into()).unwrap_err().field, "extra");
        let many = |n: usize| format!("[{}]", vec![one; n].join(","));
        assert_eq!(batch(many(MAX_BATCH)).unwrap(), MAX_BATCH);
        let e = batch(many(MAX_BATCH + 2)).unwrap_err();
        assert_eq!(e.kind, ReadErrorKind::TooMany);
        assert!(e.message.contains("got 1002"), "{e}");
    }

    #[test]
    fn a_bearer_principal_is_left_to_the_caller() {
        let text = r#"{"principal": {"kind": "bearer", "token": "s\u0065cret"}, "endpoint": "E", "method": "GET"}"#;
        let r = read_request(
            text.as_bytes(),
            &Policy::sentry(),
            Options {
                bearer: true,
                revision: false,
            },
        )
        .unwrap();
        assert_eq!(r.principal, WirePrincipal::Bearer("secret".into()));
        let resolved = r.resolve(|s| {
            assert_eq!(s, "secret");
            Principal::System
        });
        assert_eq!(resolved.principal, Principal::System);
    }

    #[test]
    fn at_least_revision_is_read_only_when_asked_for() {
        let policy = Policy::sentry();
        let opts = Options {
            bearer: false,
            revision: true,
        };
        let one = |text: &str, options| {
            read_request(text.as_bytes(), &policy, options).map(|r| r.at_least_revision)
        };
        let base = r#""principal": {"kind": "anonymous"}, "endpoint": "E", "method": "GET""#;
        let r = one(&format!("{{{base}, \"at_least_revision\": 42}}"), opts).unwrap();
        assert_eq!(r, Some(42));
        let r = one(&format!("{{{base}, \"at_least_revision\": null}}"), opts).unwrap();
        assert_eq!(r, None);
        for bad in ["-1", "\"7\"", "1.5"] {
            let e = one(&format!("{{{base}, \"at_least_revision\": {bad}}}"), opts).unwrap_err();
            assert_eq!(e.field, "at_least_revision", "{bad}: {e}");
        }
        let text = format!("{{{base}, \"at_least_revision\": 1}}");
        let e = one(&text, Options::default()).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("at_least_revision", "unknown field")
        );

        let batch = format!(
            "{{\"at_least_revision\": 3, \"requests\": [{{{base}}}, {{{base}, \"at_least_revision\": 9}}]}}"
        );
        let b = read_batch_at(batch.as_bytes(), &policy, opts).unwrap();
        assert_eq!((b.at_least_revision, b.max_revision()), (Some(3), Some(9)));
        let batch = format!("{{\"requests\": [{{{base}}}], \"at_least_revision\": -3}}");
        let e = read_batch_at(batch.as_bytes(), &policy, opts).unwrap_err();
        assert_eq!(e.field, "at_least_revision", "{e}");
        let batch = format!("[{{{base}}}, {{{base}, \"at_least_revision\": \"x\"}}]");
        let e = read_batch_at(batch.as_bytes(), &policy, opts).unwrap_err();
        assert_eq!(e.field, "requests[1].at_least_revision", "{e}");
    }

    #[test]
    fn the_decision_writer_and_the_decision_doc_agree() {
        let policy = Policy::sentry();
        let scopes = policy.scopes.parse_set(["org:read", "org:write"]).unwrap();
        let decisions = [
            Decision::allow(Grant {
                path: GrantPath::RoleScope,
                granular: Some(GranularPath::GranularGrant),
            }),
            Decision::deny(Reason::NotFound),
            Decision {
                reason: Reason::InsufficientScope,
                grant: None,
                missing_scopes: scopes,
                challenge: Some(scopes),
            },
        ];
        for d in &decisions {
            let mut bytes = Vec::new();
            write_decision(&mut bytes, d, &policy, None);
            assert_eq!(bytes, serde_json::to_vec(&d.to_doc(&policy)).unwrap());
        }
        let text =
            String::from_utf8(write_batch(decisions.iter().cloned(), &policy, None)).unwrap();
        assert!(text.starts_with(r#"{"decisions":[{"allowed":true,"status":200,"reason":"allowed","grant":["role_scope","granular_grant"],"missing_scopes":[],"challenge":null}"#), "{text}");
        let text =
            String::from_utf8(write_batch(decisions.iter().cloned(), &policy, Some(7))).unwrap();
        assert!(
            text.starts_with(r#"{"revision":7,"decisions":[{"allowed":true,"#),
            "{text}"
        );
        let text = String::from_utf8(write_batch(std::iter::empty(), &policy, Some(0))).unwrap();
        assert_eq!(text, r#"{"revision":0,"decisions":[]}"#);
    }

    #[test]
    fn a_leading_field_goes_first() {
        let policy = Policy::sentry();
        let d = Decision::deny(Reason::NotFound);
        let rest = &serde_json::to_string(&d.to_doc(&policy)).unwrap()[1..];
        for (lead, head) in [
            (Lead::Revision(12), r#"{"revision":12,"#),
            (Lead::Line(3), r#"{"line":3,"#),
            (Lead::File("a \"b\".json"), r#"{"file":"a \"b\".json","#),
        ] {
            let mut bytes = Vec::new();
            write_decision(&mut bytes, &d, &policy, Some(lead));
            assert_eq!(String::from_utf8(bytes).unwrap(), format!("{head}{rest}"));
        }
    }

    #[test]
    fn a_written_request_reads_back() {
        let policy = Policy::sentry();
        for text in [
            r#"{"principal": {"kind": "org_token", "organization": "a", "scopes": ["org:write", "org:read"], "creator": 3}, "endpoint": "E", "method": "GET", "project": "p"}"#,
            r#"{"principal": {"kind": "session", "user": 1, "superuser": "read", "sso_ok": false}, "endpoint": "E", "method": "DELETE"}"#,
            r#"{"principal": {"kind": "user_token", "user": 1, "scopes": []}, "endpoint": "E", "method": "GET", "team": "t"}"#,
        ] {
            let request = read(text).unwrap();
            let json = RequestJson::<()> {
                request: &request,
                policy: &policy,
                principal: None,
            };
            let again = read(&serde_json::to_string(&json).unwrap()).unwrap();
            assert_eq!(again, request);
        }
    }
}
