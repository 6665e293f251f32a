//! The replay report as text, JSON or Markdown.

use std::fmt::Write as _;

use scopegate_core::replay::{Direction, Group, Report};
use serde::Serialize;

use super::Reading;

/// The sentence every format carries: what the replay approximates.
pub const WORLD_NOTE: &str = "The world at decision time is approximated by today's: \
     each request is decided over the current world, not the one it was logged over. \
     Flips the current policy and manifest also make today are the world's changes \
     (`world changed`), not the candidate's; requests whose principal or objects no longer \
     exist are flagged `stale`.";

/// What was replayed, for the report's header.
#[derive(Debug, Clone, Serialize)]
pub struct Inputs {
    /// The candidate policy file, when given.
    pub candidate_policy: Option<String>,
    /// The candidate manifest file, when given.
    pub candidate_manifest: Option<String>,
    /// Today's world: a document or the stored one.
    pub world: String,
    /// The current pair's policy version.
    pub current_policy_version: String,
}

impl Inputs {
    fn candidate(&self) -> String {
        match (&self.candidate_policy, &self.candidate_manifest) {
            (Some(p), Some(m)) => format!("policy {p}, manifest {m}"),
            (Some(p), None) => format!("policy {p}"),
            (None, Some(m)) => format!("manifest {m}"),
            (None, None) => "nothing".into(),
        }
    }
}

fn arrow(d: Direction) -> &'static str {
    match d {
        Direction::Lost => "allowed → denied",
        Direction::Gained => "denied → allowed",
    }
}

fn flags(g: &Group) -> String {
    let mut out = Vec::new();
    if g.world_changed > 0 {
        out.push(format!("{} world changed", g.world_changed));
    }
    if g.stale > 0 {
        out.push(format!("{} stale", g.stale));
    }
    out.join(", ")
}

/// Text for people.
pub fn text(inputs: &Inputs, reading: &Reading, report: &Report) -> String {
    let t = &report.totals;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "replayed {} decisions from {} file(s) under the candidate {} over the {}",
        t.replayed,
        reading.files.len(),
        inputs.candidate(),
        inputs.world
    );
    let _ = writeln!(
        out,
        "lost (allowed → denied): {} ({} caused by the candidate)",
        t.lost, t.lost_caused
    );
    let _ = writeln!(
        out,
        "gained (denied → allowed): {} ({} caused by the candidate)",
        t.gained, t.gained_caused
    );
    let _ = writeln!(
        out,
        "unchanged: {} ({} denied for another reason)",
        t.unchanged, t.reason_changed
    );
    for d in [Direction::Lost, Direction::Gained] {
        let groups: Vec<&Group> = report.groups.iter().filter(|g| g.direction == d).collect();
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{} ({}):", d.as_str(), arrow(d));
        for g in groups {
            let flags = flags(g);
            let _ = writeln!(
                out,
                "  {} {} {}: {} → {}: {}{}",
                g.endpoint,
                g.method,
                g.principal_kind,
                g.old_reason,
                g.new_reason,
                g.count,
                if flags.is_empty() {
                    String::new()
                } else {
                    format!(" ({flags})")
                }
            );
            let _ = writeln!(
                out,
                "    first {}, last {}; e.g. {}",
                g.first_seen,
                g.last_seen,
                g.examples.join(", ")
            );
        }
    }
    let _ = writeln!(out);
    notes(&mut out, reading, report, "");
    out
}

/// The notes under a report (`prefix` before each line: `> ` in Markdown).
fn notes(out: &mut String, reading: &Reading, report: &Report, prefix: &str) {
    let t = &report.totals;
    let _ = writeln!(out, "{prefix}note: {WORLD_NOTE}");
    if t.stale > 0 {
        let _ = writeln!(
            out,
            "{prefix}note: {} replayed requests are stale ({} name a principal, {} objects no longer in the world)",
            t.stale, t.stale_principal, t.stale_objects
        );
    }
    if t.drifted > 0 {
        let _ = writeln!(
            out,
            "{prefix}note: the current policy and manifest decide {} logged requests otherwise today",
            t.drifted
        );
    }
    if t.other_policy_version > 0 {
        let _ = writeln!(
            out,
            "{prefix}note: {} decisions were logged under another policy version than the current policy and manifest's",
            t.other_policy_version
        );
    }
    if t.scopes_dropped > 0 {
        let _ = writeln!(
            out,
            "{prefix}note: {} requests held scopes the candidate policy does not declare (dropped before deciding)",
            t.scopes_dropped
        );
    }
    if reading.unreadable > 0 || reading.not_decisions > 0 {
        let _ = writeln!(
            out,
            "{prefix}note: {} lines read, {} unreadable (skipped), {} not decisions (who_can)",
            reading.lines, reading.unreadable, reading.not_decisions
        );
    }
}

/// One JSON object: inputs, reading, totals, groups, notes.
pub fn json(inputs: &Inputs, reading: &Reading, report: &Report) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct Out<'a> {
        inputs: &'a Inputs,
        reading: &'a Reading,
        totals: &'a scopegate_core::replay::Totals,
        groups: &'a [Group],
        world_note: &'static str,
    }
    let mut text = serde_json::to_string_pretty(&Out {
        inputs,
        reading,
        totals: &report.totals,
        groups: &report.groups,
        world_note: WORLD_NOTE,
    })?;
    text.push('\n');
    Ok(text)
}

/// A Markdown summary: counts, one table per direction, the notes.
pub fn markdown(inputs: &Inputs, reading: &Reading, report: &Report) -> String {
    let t = &report.totals;
    let mut out = String::new();
    let _ = writeln!(out, "### Replay: {}\n", inputs.candidate());
    let _ = writeln!(
        out,
        "{} decisions replayed over the {}: **{} lost** ({} caused by the candidate), **{} gained** ({} caused by the candidate), {} unchanged.\n",
        t.replayed, inputs.world, t.lost, t.lost_caused, t.gained, t.gained_caused, t.unchanged
    );
    for d in [Direction::Lost, Direction::Gained] {
        let groups: Vec<&Group> = report.groups.iter().filter(|g| g.direction == d).collect();
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(out, "#### {} ({})\n", d.as_str(), arrow(d));
        let _ = writeln!(
            out,
            "| endpoint | method | principal | old reason | new reason | count | flags | first seen | last seen | examples |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---:|---|---|---|---|");
        for g in groups {
            let examples: Vec<String> = g.examples.iter().map(|e| format!("`{e}`")).collect();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | `{}` | `{}` | {} | {} | {} | {} | {} |",
                g.endpoint,
                g.method,
                g.principal_kind,
                g.old_reason,
                g.new_reason,
                g.count,
                flags(g),
                g.first_seen,
                g.last_seen,
                examples.join(" ")
            );
        }
        let _ = writeln!(out);
    }
    notes(&mut out, reading, report, "> ");
    out
}
