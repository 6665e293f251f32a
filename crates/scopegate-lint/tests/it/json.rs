//! The JSON scanner against `serde_json`: on arbitrary text, the same documents accepted and
//! rejected, the same values, every span covering exactly its value's text, every error
//! located inside the text, and never a panic.

use proptest::prelude::*;
use scopegate_core::source::{Node, Value};
use scopegate_lint::input::json::{parse, MAX_DEPTH};

/// Whether two numbers are equal, allowing serde_json's best-effort float parsing a few
/// units in the last place (subnormals included).
fn close(a: f64, b: f64) -> bool {
    a == b || a.is_sign_positive() == b.is_sign_positive() && a.to_bits().abs_diff(b.to_bits()) <= 4
}

/// Whether `node` holds the same value as serde_json's `v` (duplicate keys: the last value,
/// at the first key's position, as serde_json keeps them).
fn same(node: &Node, v: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (&node.value, v) {
        (Value::Null, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::Integer(a), J::Number(n)) => match n.as_i64() {
            Some(b) => *a == b,
            // serde_json reads `-0` as the float -0.0.
            None => n.as_f64().is_some_and(|b| close(*a as f64, b)),
        },
        (Value::Float(a), J::Number(n)) => n.as_f64().is_some_and(|b| close(*a, b)),
        (Value::String(a), J::String(b)) => a == b,
        (Value::Array(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Table(entries), J::Object(map)) => {
            let mut last: Vec<(&str, &Node)> = Vec::new();
            for (k, n) in entries {
                match last.iter_mut().find(|(name, _)| *name == k.name) {
                    Some(slot) => slot.1 = n,
                    None => last.push((&k.name, n)),
                }
            }
            last.len() == map.len()
                && last
                    .iter()
                    .zip(map)
                    .all(|((k, n), (mk, mv))| k == mk && same(n, mv))
        }
        _ => false,
    }
}

/// Every span of the tree is the exact text of its value (or key), read back by serde_json.
fn spans_hold(text: &str, node: &Node) -> Result<(), String> {
    let slice = text
        .get(node.span.clone())
        .ok_or_else(|| format!("span {:?} outside the text", node.span))?;
    let v: serde_json::Value =
        serde_json::from_str(slice).map_err(|e| format!("span {:?}: {e}", node.span))?;
    if !same(node, &v) {
        return Err(format!("span {:?} reads back differently", node.span));
    }
    match &node.value {
        Value::Array(items) => items.iter().try_for_each(|n| spans_hold(text, n)),
        Value::Table(entries) => entries.iter().try_for_each(|(k, n)| {
            let key = text
                .get(k.span.clone())
                .ok_or_else(|| format!("key span {:?} outside the text", k.span))?;
            let name: String = serde_json::from_str(key).map_err(|e| e.to_string())?;
            if name != k.name {
                return Err(format!("key span {:?} reads `{name}`", k.span));
            }
            spans_hold(text, n)
        }),
        _ => Ok(()),
    }
}

/// Parses `text` with both and checks they agree.
fn agree(text: &str) -> Result<(), TestCaseError> {
    let ours = parse(text);
    let theirs = serde_json::from_str::<serde_json::Value>(text);
    match (&ours, &theirs) {
        (Ok(node), Ok(v)) => {
            prop_assert!(same(node, v), "different values for {text:?}");
            if let Err(e) = spans_hold(text, node) {
                return Err(TestCaseError::fail(format!("{e} in {text:?}")));
            }
        }
        (Err(p), Err(_)) => {
            prop_assert!(p.span.start <= text.len() && text.is_char_boundary(p.span.start));
            prop_assert!(p.message.starts_with("invalid JSON: "));
        }
        _ => prop_assert!(
            false,
            "accept/reject differ on {text:?}: ours {:?}, serde_json {:?}",
            ours.as_ref().map(|_| ()),
            theirs.as_ref().map(|_| ())
        ),
    }
    Ok(())
}

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z$/~]{0,8}",
        any::<String>(),
        prop::sample::select(vec![
            "",
            "é",
            "\u{1F600}",
            "\"",
            "\\",
            "\n\t\u{8}\u{c}\r",
            "\u{0}\u{1f}",
            "\u{2028}",
        ])
        .prop_map(str::to_string),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<u64>().prop_map(J::from),
        any::<f64>().prop_map(J::from),
        (-1e6f64..1e6).prop_map(J::from),
        json_string().prop_map(J::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Array),
            prop::collection::vec((json_string(), inner), 0..6)
                .prop_map(|kv| J::Object(kv.into_iter().collect())),
        ]
    })
}

/// Writes `v` with escapes serde_json would not use (`\u` for every non-ASCII character,
/// surrogate pairs, `\/`), and whitespace of every kind between tokens.
fn write_odd(v: &serde_json::Value, ws: &str, out: &mut String) {
    use serde_json::Value as J;
    let string = |s: &str, out: &mut String| {
        out.push('"');
        for c in s.chars() {
            match c {
                '/' => out.push_str("\\/"),
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
                c => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04X}"));
                    }
                }
            }
        }
        out.push('"');
    };
    match v {
        J::String(s) => string(s, out),
        J::Array(items) => {
            out.push('[');
            out.push_str(ws);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    out.push_str(ws);
                }
                write_odd(item, ws, out);
                out.push_str(ws);
            }
            out.push(']');
        }
        J::Object(map) => {
            out.push('{');
            out.push_str(ws);
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    out.push_str(ws);
                }
                string(k, out);
                out.push_str(ws);
                out.push(':');
                out.push_str(ws);
                write_odd(item, ws, out);
                out.push_str(ws);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Text close to JSON: fragments that make up valid and almost-valid documents.
fn json_ish() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "\"a\"",
        "\\",
        "\\u",
        "\\ud83d",
        "\\ude00",
        "\\n",
        "\\x",
        "true",
        "false",
        "null",
        "tru",
        "nul",
        "0",
        "-",
        "1",
        "01",
        "-0",
        "1.",
        ".5",
        "1.5",
        "1e",
        "1e5",
        "1E+2",
        "2e-3",
        "1e400",
        "-1e400",
        "99999999999999999999",
        " ",
        "\n",
        "\t",
        "\r",
        "\u{a0}",
        "\u{feff}",
        "é",
        "\u{0}",
        "\u{1f}",
        "//",
        "/*",
        "'a'",
        "x",
        "NaN",
        "Infinity",
        "+1",
    ]);
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn agrees_with_serde_json_on_generated_documents(v in json_value(), pretty: bool) {
        let text = if pretty {
            serde_json::to_string_pretty(&v).unwrap()
        } else {
            serde_json::to_string(&v).unwrap()
        };
        agree(&text)?;
    }

    #[test]
    fn agrees_with_serde_json_on_unusual_escapes_and_whitespace(
        v in json_value(),
        ws in "[ \t\r\n]{0,3}",
    ) {
        let mut text = ws.clone();
        write_odd(&v, &ws, &mut text);
        text.push_str(&ws);
        agree(&text)?;
    }

    #[test]
    fn agrees_with_serde_json_on_near_json(text in json_ish()) {
        agree(&text)?;
    }

    #[test]
    fn agrees_with_serde_json_on_mutated_documents(
        v in json_value(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..4),
    ) {
        let mut text: Vec<char> = serde_json::to_string_pretty(&v).unwrap().chars().collect();
        for (at, op, c) in edits {
            let i = at.index(text.len() + 1);
            match op {
                0 => text.insert(i, c),
                1 if i < text.len() => {
                    text.remove(i);
                }
                _ if i < text.len() => text[i] = c,
                _ => text.push(c),
            }
        }
        let text: String = text.into_iter().collect();
        agree(&text)?;
    }

    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        agree(&text)?;
    }
}

#[test]
fn edge_cases_agree_with_serde_json() {
    let cases = [
        "",
        " ",
        "0",
        "-0",
        "-",
        "01",
        "1.",
        "1.0",
        "1e400",
        "-1e400",
        "1e-400",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{1:1}",
        "[1 2]",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"\\ud83d\\ude00\"",
        "\"\\u00e9\"",
        "\"\\uZZZZ\"",
        "\"\u{1}\"",
        "\"\u{7f}\"",
        "\"\u{1f}\"",
        "\"\u{0}\"",
        "[\"a\\\\\u{1f}\"]",
        "\u{feff}{}",
        "{}\u{a0}",
        "truex",
        "[true1]",
        "nulll",
        "{\"a\":1}x",
        "{\"a\":1,\"a\":2}",
        "[[[]]]",
        "\"abc",
        "\"abc\\",
        "[\"a\\\"b\"]",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "1E2",
        "1e+2",
        "0.5e-2",
        "[-]",
        "[.5]",
        "[+1]",
        "[0x1]",
    ];
    for text in cases {
        agree(text).unwrap();
    }
}

#[test]
fn errors_are_located_where_the_text_goes_wrong() {
    let at = |text: &str| parse(text).unwrap_err();
    // The offending token.
    let e = at("{\n  \"a\": {\"post\": }\n}");
    assert_eq!(
        (e.span.start, e.message.as_str()),
        (18, "invalid JSON: Unexpected close brace")
    );
    assert_eq!(at("[1,]").span.start, 3);
    assert_eq!(at("{\"a\":1,}").span.start, 7);
    assert_eq!(at("[1 2]").span.start, 3);
    assert_eq!(at("{\"a\" 1}").span.start, 5);
    assert_eq!(at("\"a\u{1}\"").span.start, 2);
    assert_eq!(at("[\"\\q\"]").span.start, 2);
    assert_eq!(at("[1]x").span.start, 3);
    // An unterminated container or string: where it opens.
    assert_eq!(at("  [1, [2").span.start, 6);
    assert_eq!(at("{\"a\": \"xyz").span.start, 6);
    // Too deep: the first bracket past the limit.
    let deep = "[".repeat(MAX_DEPTH + 10);
    let e = at(&deep);
    assert_eq!(e.span.start, MAX_DEPTH);
    assert!(
        e.message.contains("deeper than 256 levels"),
        "{}",
        e.message
    );
    let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse(&fine).is_ok());
}
