//! `scopegate.toml` parsing and resolution, path discovery, and syntax detection.

use std::path::Path;

use scopegate_core::{Policy, Source};
use scopegate_lint::config::{resolve, Config, Layer, Origin};
use scopegate_lint::input::discover::expand;
use scopegate_lint::input::{syntax, Syntax};
use scopegate_lint::{ReadonlyScopes, ScopeList, Severity};

const TEXT: &str = r#"[lint]
scope-list = "any"
severity = { SG002 = "warning" }

[[lint.overrides]]
paths = ["legacy/**", "*.yml"]
scope-list = "all"
readonly-scopes = ["*:read"]

[[lint.overrides]]
paths = ["legacy/old/**"]
severity = { SG002 = "note" }
"#;

fn config() -> Config {
    Config::parse(&Source::new("scopegate.toml", TEXT), Path::new("")).unwrap()
}

#[test]
fn overrides_apply_in_order_to_the_files_their_globs_match() {
    let config = config();
    let policy = Policy::sentry();
    let plain = resolve(
        Some(&config),
        Some(Path::new("api.json")),
        &policy,
        &Layer::default(),
    );
    assert_eq!(plain.options.scope_list, ScopeList::Any);
    assert_eq!(plain.options.severity_of("SG002"), Severity::Warning);
    assert_eq!(plain.options.severity_of("SG001"), Severity::Error);
    assert_eq!(plain.options.readonly, ReadonlyScopes::from_policy(&policy));

    let old = resolve(
        Some(&config),
        Some(Path::new("legacy/old/a.json")),
        &policy,
        &Layer::default(),
    );
    assert_eq!(old.options.scope_list, ScopeList::All);
    assert_eq!(old.options.severity_of("SG002"), Severity::Note);
    assert_eq!(
        old.options.readonly,
        ReadonlyScopes::Patterns(vec!["*:read".into()])
    );
    let line = |key: &str| old.lines.iter().find(|l| l.key == key).unwrap().clone();
    match line("severity.SG002").origin {
        Origin::File {
            location, table, ..
        } => {
            assert_eq!((location.line, location.column), (12, 14));
            assert_eq!(table, "[[lint.overrides]] #2 (legacy/old/**)");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(line("publish-status").origin, Origin::Default);

    // The command line wins over the file.
    let cli = Layer {
        scope_list: Some(scopegate_lint::config::Setting {
            value: ScopeList::Any,
            origin: Origin::CommandLine("--scope-list"),
        }),
        ..Layer::default()
    };
    let r = resolve(Some(&config), Some(Path::new("x.yml")), &policy, &cli);
    assert_eq!(r.options.scope_list, ScopeList::Any);
    assert_eq!(
        r.lines.first().unwrap().origin,
        Origin::CommandLine("--scope-list")
    );
}

#[test]
fn every_config_problem_is_located() {
    let bad = "[lint]\npaths = \"x\"\nfail-severity = 3\n[[lint.overrides]]\npaths = [\"a/[\"]\n";
    let err = Config::parse(&Source::new("c.toml", bad), Path::new("")).unwrap_err();
    let got: Vec<String> = err.items.iter().map(ToString::to_string).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        got[0].starts_with("c.toml:2:9: `paths` must be an array"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("c.toml:3:17: `fail-severity` must be a string"),
        "{got:?}"
    );
    assert!(
        got[2].starts_with("c.toml:5:10: invalid glob `a/[`"),
        "{got:?}"
    );
}

#[test]
fn directories_and_globs_expand_to_candidate_files() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "a.json",
        "b/c.yaml",
        "b/d.txt",
        ".hidden/e.json",
        "node_modules/f.json",
        "scopegate.toml",
    ] {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "{}").unwrap();
    }
    let names = |found: Vec<scopegate_lint::input::discover::Found>| -> Vec<String> {
        found
            .into_iter()
            .map(|f| {
                assert!(f.discovered);
                f.path
                    .strip_prefix(dir.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        names(expand(".", dir.path()).unwrap()),
        ["a.json", "b/c.yaml"]
    );
    assert_eq!(names(expand("b/*.yaml", dir.path()).unwrap()), ["b/c.yaml"]);
    assert!(expand("z/*.json", dir.path()).is_err());
    let named = expand("b/d.txt", dir.path()).unwrap();
    assert_eq!(named.len(), 1);
    assert!(!named[0].discovered);
}

#[test]
fn toml_table_headers_are_not_json_arrays() {
    assert_eq!(
        syntax("-", "[permissions.X]\nobject = \"o\"\n"),
        Syntax::Toml
    );
    assert_eq!(syntax("-", "[[endpoints]]\nname = \"e\"\n"), Syntax::Toml);
    assert_eq!(syntax("-", "[1, 2]"), Syntax::Json);
    assert_eq!(syntax("-", "[\n  {\"a\": 1}\n]"), Syntax::Json);
    assert_eq!(syntax("-", "{\"openapi\": \"3.0.0\"}"), Syntax::Json);
}
