//! The matrix as text, Markdown, CSV or JSON.

use std::fmt::Write as _;

use super::{Matrix, MatrixFormat};

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Renders the matrix.
pub fn render(m: &Matrix, format: MatrixFormat) -> String {
    let mut out = String::new();
    let ids: Vec<&str> = m.columns.iter().map(|c| c.id.as_str()).collect();
    match format {
        MatrixFormat::Json => {
            out = serde_json::to_string_pretty(m).unwrap_or_default();
            out.push('\n');
        }
        MatrixFormat::Csv => {
            let mut header = vec!["endpoint", "path", "method"];
            header.extend(&ids);
            let header: Vec<String> = header.iter().map(|h| csv_field(h)).collect();
            let _ = write!(out, "{}\r\n", header.join(","));
            for r in &m.rows {
                let mut cells = vec![
                    csv_field(&r.endpoint),
                    csv_field(r.path.as_deref().unwrap_or("")),
                    r.method.clone(),
                ];
                cells.extend(
                    r.allowed
                        .iter()
                        .map(|a| if *a { "yes" } else { "no" }.into()),
                );
                let _ = write!(out, "{}\r\n", cells.join(","));
            }
        }
        MatrixFormat::Markdown => {
            let _ = writeln!(out, "| endpoint | method | {} |", ids.join(" | "));
            let _ = writeln!(out, "|---|---|{}", "---|".repeat(ids.len()));
            for r in &m.rows {
                let cells: Vec<&str> = r
                    .allowed
                    .iter()
                    .map(|a| if *a { "✓" } else { " " })
                    .collect();
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} |",
                    r.endpoint.replace('|', "\\|"),
                    r.method,
                    cells.join(" | ")
                );
            }
            out.push('\n');
            for c in &m.columns {
                let _ = writeln!(out, "- `{}`: {}", c.id, c.label);
            }
        }
        MatrixFormat::Text => {
            let width = m
                .rows
                .iter()
                .map(|r| r.endpoint.chars().count() + r.method.len() + 1)
                .max()
                .unwrap_or(0)
                .max(15);
            for (i, c) in m.columns.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{:>width$}  {}{} = {}",
                    "",
                    "| ".repeat(i),
                    c.id,
                    c.label
                );
            }
            let _ = writeln!(out, "{:>width$}  {}", "", "| ".repeat(m.columns.len()));
            for r in &m.rows {
                let name = format!("{} {}", r.endpoint, r.method);
                let cells: Vec<&str> = r
                    .allowed
                    .iter()
                    .map(|a| if *a { "x" } else { "." })
                    .collect();
                let _ = writeln!(out, "{name:<width$}  {}", cells.join(" "));
            }
        }
    }
    out
}
