//! Did-you-mean: the known word a mistyped one most likely meant, for names and values alike.

/// The candidate closest to `word` within `max` edits, case ignored; the first on a tie.
pub fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over bytes (names and values we suggest are ASCII).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_word_within_the_bound_or_none() {
        let words = ["kubelet", "proxy", "scheduler"];
        for (word, max, want) in [
            ("kubelett", 2, Some("kubelet")),
            ("KUBELET", 2, Some("kubelet")),
            ("prxy", 2, Some("proxy")),
            ("sheduler", 1, Some("scheduler")),
            ("etcd", 2, None),
            ("kubectl", 1, None),
        ] {
            assert_eq!(closest(word, words, max), want, "{word}");
        }
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
