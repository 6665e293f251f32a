//! The decision API over imported worlds (`Store::import_world`), against the engine
//! in-process over the same world document:
//!
//! - the golden decisions (`scopegate_testkit::golden`): every case through
//!   `POST /v1/check/batch`, over a store holding exactly the case's world, equals the
//!   engine's decision *and* the golden expectation (the whole decision JSON); on SQLite, and
//!   on PostgreSQL when `SCOPEGATE_TEST_DATABASE_URL` is set;
//! - random worlds, manifests and policies (`scopegate_testkit::gen`): `/v1/check` ≡ each
//!   element of `/v1/check/batch` ≡ `/v1/explain` (decision and trace) ≡ the engine, and
//!   `/v1/who-can` (every page) lists exactly the members whose session `/v1/check` allows;
//!   half the worlds with the decision log on, which takes the field-by-field parsing path
//!   rather than the typed fast path.
//!
//! Random cases: `SCOPEGATE_PROPTEST_CASES` worlds (default [`RANDOM_WORLDS`]) from
//! `SCOPEGATE_PROPTEST_SEED` (fixed by default: a failure reproduces by rerunning; its
//! message holds the seed, the world, the manifest, the policy variant and the request).

use std::cell::Cell;
use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use scopegate_core::{Engine, Manifest, Policy, Request, RequestDoc, Source, World, WorldDoc};
use scopegate_server::routes::v1::MAX_BATCH;
use scopegate_testkit::gen::{self, policy_variant};
use scopegate_testkit::golden::{self, Case};
use scopegate_testkit::run;
use serde_json::{json, Value};

use crate::{fresh_postgres_url, imported_app, imported_app_on, App};

/// Random worlds of the normal run.
const RANDOM_WORLDS: u32 = 32;

/// The engine in-process over a world document, a manifest and a policy: what the service
/// must answer, as wire JSON.
struct InProcess {
    policy: Policy,
    manifest: Manifest,
    world: World,
}

impl InProcess {
    fn new(doc: &WorldDoc, policy: Policy, manifest: &str) -> InProcess {
        InProcess {
            manifest: Manifest::load(&Source::new("manifest.json", manifest), &policy).unwrap(),
            world: World::build(doc, &policy).unwrap(),
            policy,
        }
    }

    fn request(&self, request: &Value) -> Request {
        let doc: RequestDoc = serde_json::from_value(request.clone()).unwrap();
        Request::from_doc(doc, &self.policy).unwrap()
    }

    /// The decision JSON of `request` (docs/wire.md).
    fn decide(&self, request: &Value) -> Value {
        let engine = Engine::new(&self.policy, &self.manifest, &self.world);
        serde_json::to_value(engine.decide(&self.request(request)).to_doc(&self.policy)).unwrap()
    }

    /// The explain JSON of `request`: the decision and its trace.
    fn explain(&self, request: &Value) -> Value {
        let engine = Engine::new(&self.policy, &self.manifest, &self.world);
        let (decision, trace) = engine.explain(&self.request(request));
        let mut doc = decision.to_doc(&self.policy);
        doc.trace = Some(trace);
        serde_json::to_value(doc).unwrap()
    }
}

/// The decisions of `requests` through `/v1/check/batch`, at most [`MAX_BATCH`] per call.
async fn batch(app: &App, requests: &[Value]) -> Vec<Value> {
    let mut out = Vec::with_capacity(requests.len());
    for chunk in requests.chunks(MAX_BATCH) {
        let body = json!({ "requests": chunk }).to_string();
        let r = app
            .call("POST", "/v1/check/batch", "service", Some(&body))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let decisions = r.body["decisions"].as_array().unwrap();
        assert_eq!(decisions.len(), chunk.len());
        out.extend(decisions.iter().cloned());
    }
    out
}

// ----- the golden decisions through /v1/check/batch -----

/// The golden cases grouped by world: (policy variant, world, cases), in table order.
fn golden_worlds() -> Vec<(u8, Value, Vec<Case>)> {
    let mut worlds: Vec<(u8, Value, Vec<Case>)> = Vec::new();
    for case in golden::cases() {
        match worlds
            .iter_mut()
            .find(|(p, w, _)| *p == case.policy_variant && *w == case.world)
        {
            Some((_, _, cases)) => cases.push(case),
            None => worlds.push((case.policy_variant, case.world.clone(), vec![case])),
        }
    }
    worlds
}

/// Sends every golden case through `/v1/check/batch` over its world, imported into a fresh
/// store (SQLite, or a fresh PostgreSQL database on `postgres`'s server); returns the number
/// of worlds and of decisions compared.
async fn golden_through_batch(postgres: bool) -> Option<(usize, usize)> {
    let manifest = golden::manifest_json().to_string();
    let worlds = golden_worlds();
    let mut compared = 0;
    for (variant, world, cases) in &worlds {
        let doc: WorldDoc = serde_json::from_value(world.clone()).unwrap();
        let policy = policy_variant(*variant);
        let app = if postgres {
            let url = fresh_postgres_url().await?;
            imported_app_on(
                &url,
                tempfile::tempdir().unwrap(),
                &doc,
                policy.clone(),
                &manifest,
            )
            .await
        } else {
            imported_app(&doc, policy.clone(), &manifest).await
        };
        let engine = InProcess::new(&doc, policy, &manifest);
        let requests: Vec<Value> = cases.iter().map(|c| c.request.clone()).collect();
        let decisions = batch(&app, &requests).await;
        for (case, got) in cases.iter().zip(&decisions) {
            let (request, at, group) = (&case.request, case.at, case.group);
            assert_eq!(
                *got,
                engine.decide(request),
                "/v1/check/batch and the engine differ, for {request} ({group}, {at})"
            );
            assert_eq!(
                *got,
                case.expected.to_json(),
                "/v1/check/batch and the golden decision differ, for {request} ({group}, {at})"
            );
            compared += 1;
        }
        if let Some(url) = app.postgres_url.clone() {
            drop(app);
            scopegate_store::testing::drop_postgres_database(&url)
                .await
                .unwrap();
        }
    }
    assert_eq!(compared, golden::cases().len());
    Some((worlds.len(), compared))
}

/// Every golden case, sent through `/v1/check/batch` over its world imported into a store,
/// gets the engine's in-process decision and the golden one.
#[tokio::test]
async fn golden_decisions_through_batch() {
    let (worlds, compared) = golden_through_batch(false).await.unwrap();
    eprintln!("golden through /v1/check/batch: {compared} decisions over {worlds} worlds");
    // Every case was compared (checked in `golden_through_batch`), over more than one
    // world: the grouping did not lose any.
    assert!(worlds >= 20, "{worlds} worlds, {compared} decisions");
}

/// The same on PostgreSQL, when `SCOPEGATE_TEST_DATABASE_URL` is set.
#[tokio::test]
async fn golden_decisions_through_batch_on_postgres() {
    if let Some((worlds, compared)) = golden_through_batch(true).await {
        eprintln!("golden through /v1/check/batch on PostgreSQL: {compared} decisions over {worlds} worlds");
    }
}

// ----- random worlds: check ≡ batch ≡ explain ≡ engine, who-can ≡ check -----

/// One who-can question: organization, endpoint, method and at most one of project / team.
#[derive(Debug, Clone)]
struct Probe {
    organization: String,
    endpoint: String,
    method: String,
    project: Option<String>,
    team: Option<String>,
}

impl Probe {
    /// The probe of a generated request: its organization (`nope` when absent), endpoint,
    /// method and object (the project when it names both).
    fn of(doc: &RequestDoc) -> Probe {
        Probe {
            organization: doc.organization.clone().unwrap_or_else(|| "nope".into()),
            endpoint: doc.endpoint.clone(),
            method: doc.method.clone(),
            project: doc.project.clone(),
            team: doc.team.clone().filter(|_| doc.project.is_none()),
        }
    }

    /// The `/v1/check` request of a session of `user` (the principal who-can asks about).
    fn session_request(&self, user: u64) -> Value {
        json!({
            "principal": {"kind": "session", "user": user},
            "endpoint": self.endpoint,
            "method": self.method,
            "organization": self.organization,
            "project": self.project,
            "team": self.team,
        })
    }

    fn uri(&self) -> String {
        let mut uri = format!(
            "/v1/who-can?organization={}&endpoint={}&method={}",
            self.organization, self.endpoint, self.method
        );
        if let Some(p) = &self.project {
            uri.push_str(&format!("&project={p}"));
        }
        if let Some(t) = &self.team {
            uri.push_str(&format!("&team={t}"));
        }
        uri
    }
}

/// The `rel="next"` link of a page, when it says there are results.
fn next_page(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    let next = link
        .split(", <")
        .find(|part| part.contains("rel=\"next\""))?;
    if !next.contains("results=\"true\"") {
        return None;
    }
    let start = next.find('/')?;
    let end = next.find('>')?;
    next.get(start..end).map(str::to_string)
}

/// Every member who-can lists, following the pages (two per page, to cross pages):
/// member id → the whole entry.
async fn who_can(app: &App, probe: &Probe) -> Result<BTreeMap<u64, Value>, String> {
    let mut listed = BTreeMap::new();
    let mut uri = format!("{}&cursor=2:0:0", probe.uri());
    for _ in 0..100 {
        let r = app.call("GET", &uri, "service", None).await;
        if r.status != StatusCode::OK {
            return Err(format!("{uri} → {} {:?}", r.status, r.body));
        }
        for entry in r.body.as_array().ok_or("not an array")? {
            let member: u64 = entry["member"]
                .as_str()
                .and_then(|m| m.parse().ok())
                .ok_or_else(|| format!("{uri}: a member id, not {entry}"))?;
            if listed.insert(member, entry.clone()).is_some() {
                return Err(format!("{uri}: member {member} listed twice"));
            }
        }
        match next_page(&r.headers) {
            Some(next) => uri = next,
            None => return Ok(listed),
        }
    }
    Err(format!("{uri}: more than 100 pages"))
}

/// What the random test decided, for its summary.
#[derive(Default)]
struct Counts {
    worlds: Cell<u64>,
    requests: Cell<u64>,
    allowed: Cell<u64>,
    probes: Cell<u64>,
    listed: Cell<u64>,
}

/// One random world: imports it, decides every request through check, batch and explain
/// and in-process, and asks who-can every probe.
async fn one_world(
    doc: &WorldDoc,
    manifest: &gen::GenManifest,
    specs: &[gen::RequestSpec],
    variant: u8,
    counts: &Counts,
) -> Result<(), String> {
    let text = manifest.json.to_string();
    let policy = policy_variant(variant);
    // Half the worlds with the decision log on: the field-by-field parsing path.
    let logged = variant % 2 == 1;
    let mut app = imported_app(doc, policy.clone(), &text).await;
    if logged {
        app = app.with_decision_log();
    }
    let engine = InProcess::new(doc, policy, &text);
    let generated: Vec<RequestDoc> = specs
        .iter()
        .map(|s| s.resolve(doc, &manifest.model))
        .collect();
    // who-can probes: the first 12 generated requests' objects; each adds the session of
    // every member (with a user) of its organization to the requests.
    let probes: Vec<Probe> = generated.iter().take(12).map(Probe::of).collect();
    let mut requests: Vec<Value> = generated
        .iter()
        .map(|d| serde_json::to_value(d).unwrap())
        .collect();
    let mut asked = Vec::new();
    for probe in &probes {
        let org = doc
            .organizations
            .iter()
            .find(|o| o.slug == probe.organization);
        let members: Vec<(u64, u64, String)> = doc
            .members
            .iter()
            .filter(|m| Some(m.organization) == org.map(|o| o.id))
            .filter_map(|m| Some((m.id, m.user?, m.role.clone())))
            .collect();
        let first = requests.len();
        requests.extend(members.iter().map(|(_, u, _)| probe.session_request(*u)));
        asked.push((probe, members, first));
    }
    let batched = batch(&app, &requests).await;
    let mut checked = Vec::with_capacity(requests.len());
    for (request, from_batch) in requests.iter().zip(&batched) {
        let c = app
            .call("POST", "/v1/check", "service", Some(&request.to_string()))
            .await;
        let e = app
            .call("POST", "/v1/explain", "service", Some(&request.to_string()))
            .await;
        if c.status != StatusCode::OK || e.status != StatusCode::OK {
            return Err(format!(
                "request: {request}\ncheck → {} {:?}\nexplain → {} {:?}",
                c.status, c.body, e.status, e.body
            ));
        }
        let mut decision_of_explain = e.body.clone();
        decision_of_explain.as_object_mut().unwrap().remove("trace");
        let want = engine.decide(request);
        let want_explained = engine.explain(request);
        if c.body != want
            || *from_batch != want
            || decision_of_explain != want
            || e.body != want_explained
        {
            return Err(format!(
                "request: {request}\nengine:  {want}\ncheck:   {}\nbatch:   {from_batch}\nexplain: {decision_of_explain}\nexplain trace: {}\nengine trace:  {}",
                c.body, e.body["trace"], want_explained["trace"]
            ));
        }
        counts.requests.set(counts.requests.get() + 1);
        counts
            .allowed
            .set(counts.allowed.get() + u64::from(want["allowed"] == true));
        checked.push(c.body);
    }
    if logged {
        // One line per decision of check, batch and explain: that path did decide them.
        app.flush_log().await;
        let lines = std::fs::read_to_string(app.decision_log())
            .unwrap()
            .lines()
            .count();
        if lines != 3 * requests.len() {
            return Err(format!(
                "{lines} decision log lines for {} requests",
                requests.len()
            ));
        }
    }
    for (probe, members, first) in asked {
        let listed = who_can(&app, probe).await?;
        let mut allowed = BTreeMap::new();
        for (i, (member, user, role)) in members.iter().enumerate() {
            let d = &checked[first + i];
            if d["allowed"] == true {
                allowed.insert(
                    *member,
                    json!({
                        "member": member.to_string(),
                        "user": user.to_string(),
                        "role": role,
                        "grant": d["grant"],
                    }),
                );
            }
        }
        if listed != allowed {
            return Err(format!(
                "who-can: {}\nlisted: {listed:?}\nthe members whose session check allows: {allowed:?}",
                probe.uri()
            ));
        }
        counts.probes.set(counts.probes.get() + 1);
        counts.listed.set(counts.listed.get() + listed.len() as u64);
    }
    counts.worlds.set(counts.worlds.get() + 1);
    Ok(())
}

/// On random worlds, manifests and policies: `/v1/check` ≡ `/v1/check/batch` ≡
/// `/v1/explain` ≡ the engine in-process, and `/v1/who-can` lists exactly the members whose
/// session principal (`{"kind": "session", "user": …}`: no superuser or staff mode, SSO
/// done; who-can's definition) `/v1/check` allows, each with that decision's grant.
#[test]
fn check_batch_explain_and_who_can_agree_on_random_worlds() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut config = run::config(run::cases(RANDOM_WORLDS));
    config.max_shrink_iters = 256;
    let mut runner = TestRunner::new(config);
    let strategy = (
        gen::world(),
        gen::manifest(),
        vec(gen::request_spec(), 40..=60),
        any::<u8>(),
    );
    let counts = Counts::default();
    let result = runner.run(&strategy, |(doc, manifest, specs, variant)| {
        rt.block_on(one_world(&doc, &manifest, &specs, variant, &counts))
            .map_err(|e| {
                TestCaseError::fail(format!(
                    "{e}\n\nreproduce: SCOPEGATE_PROPTEST_SEED={} (the run's seed)\npolicy: policy_variant({variant})\nworld: {}\nmanifest: {}",
                    run::seed(),
                    serde_json::to_string(&doc).unwrap_or_default(),
                    manifest.json,
                ))
            })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (worlds, requests, allowed) = (
        counts.worlds.get(),
        counts.requests.get(),
        counts.allowed.get(),
    );
    let (probes, listed) = (counts.probes.get(), counts.listed.get());
    eprintln!(
        "random worlds: {worlds} worlds, {requests} requests through check, batch and explain ({allowed} allowed), {probes} who-can probes listing {listed} members"
    );
    assert!(worlds >= u64::from(runner.config().cases));
    assert!(allowed > 0 && allowed < requests, "{allowed} of {requests}");
    assert!(listed > 0, "who-can never listed anybody");
}
