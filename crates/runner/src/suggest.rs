//! "Did you mean ...?": the closest valid name to a misspelt one, for every error that
//! names an unknown key, kind, dataset or column.

/// The candidate closest to `wanted` by optimal-string-alignment distance (insertions,
/// deletions, substitutions and swaps of neighbours; case ignored), if it is close enough
/// to be a plausible typo: at most a third of the longer name's length in edits, and at
/// least one. Ties go to the earlier candidate.
pub(crate) fn nearest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted = wanted.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let distance = strsim::osa_distance(&wanted, &c.to_lowercase());
            (distance, wanted.chars().count().max(c.chars().count()), c)
        })
        .filter(|&(distance, longer, _)| distance <= (longer / 3).max(1))
        .min_by_key(|&(distance, _, _)| distance)
        .map(|(_, _, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let names = ["iris", "wine", "digits", "winequality_red"];
        assert_eq!(nearest("irs", names), Some("iris"));
        assert_eq!(nearest("Digit", names), Some("digits"));
        assert_eq!(nearest("wine_quality_red", names), Some("winequality_red"));
        assert_eq!(nearest("mnist", names), None);
        assert_eq!(nearest("minst", ["iris", "mnist"]), Some("mnist"));
        assert_eq!(
            nearest("learning_rat", ["kind", "learning_rate"]),
            Some("learning_rate")
        );
        assert_eq!(nearest("modle", ["model", "mode"]), Some("model"));
    }
}
