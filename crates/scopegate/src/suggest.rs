//! "Did you mean …?": the known name closest to a mistyped one.

/// The candidate closest to `name` (Jaro–Winkler similarity, as clap suggests subcommands),
/// when it is close enough to be a likely typo; `None` otherwise.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(name, candidate);
        if score >= 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `" (did you mean `X`?)"` when a candidate is close to `name`, else the empty string: the
/// tail of an "unknown …" message.
pub fn hint<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["OrganizationDetailsEndpoint", "ProjectDetailsEndpoint"];
        assert_eq!(
            closest("OrganisationDetailsEndpoint", names),
            Some("OrganizationDetailsEndpoint")
        );
        assert_eq!(closest("xyz", names), None);
        assert_eq!(hint("SG01", ["SG001", "SG002"]), " (did you mean `SG001`?)");
        assert_eq!(hint("zzz", ["SG001"]), "");
    }
}
