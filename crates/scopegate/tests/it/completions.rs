//! `scopegate completions` and `scopegate man`: generated from the command-line definition,
//! so they name every subcommand.

use crate::run;

const SUBCOMMANDS: [&str; 6] = ["check", "explain", "test", "lint", "serve", "integration"];

#[test]
fn completions_name_the_subcommands_in_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("scopegate"), "{shell}");
        for sub in SUBCOMMANDS {
            assert!(r.stdout.contains(sub), "{shell}: `{sub}` missing");
        }
    }
    // Options of a subcommand too: `test --format` and its values.
    let r = run(&["completions", "fish"]);
    assert!(
        r.stdout.contains("__fish_scopegate_using_subcommand test"),
        "fish completes `test`"
    );
    assert!(r.stdout.contains("junit"), "the values of `test --format`");
    let r = run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2, "an unknown shell is a usage error: {}", r.stderr);
}

#[test]
fn man_writes_a_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let r = run(&["man", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let main = std::fs::read_to_string(out.join("scopegate.1")).unwrap();
    assert!(
        main.starts_with(".ie \\n(.g .ds Aq"),
        "a roff page: {}",
        &main[..80]
    );
    for sub in SUBCOMMANDS {
        assert!(
            main.contains(&format!("scopegate\\-{sub}")),
            "scopegate.1 lists `{sub}`"
        );
        let page = std::fs::read_to_string(out.join(format!("scopegate-{sub}.1"))).unwrap();
        assert!(
            page.contains(&format!(".TH scopegate-{sub} 1")),
            "scopegate-{sub}.1"
        );
    }
    let nested = std::fs::read_to_string(out.join("scopegate-policy-show.1")).unwrap();
    assert!(
        nested.contains("\\-\\-policy"),
        "nested subcommands get pages with their options"
    );
    assert!(r.stdout.starts_with("wrote "), "{}", r.stdout);
}
