//! Best-pairs Jaro-Winkler: the score of a searched name against a listed name, both as tokens.
//!
//! The description reproduced here (and checked against `screening/jaro-winkler-cases.json`,
//! the scores moov-io/watchman's own tests expect) is:
//!
//! 1. Jaro-Winkler of two tokens ([`strsim::jaro_winkler`]: match window `max(len) / 2 - 1`,
//!    Winkler's bonus `0.1 * p * (1 - jaro)` for a common prefix `p ≤ 4`, only when jaro > 0.7);
//! 2. multiplied by `1 - (1 - r) * 0.3` when the length ratio `r` = shorter / longer is below 0.9;
//! 3. only pairs whose first letters fall in the same sound class are scored at all;
//! 4. pairs taken greedily, best first, each token of either side used at most once; the
//!    result is their average weighted by `len(search) + len(listed)`, over the length of all
//!    search tokens plus the matched listed tokens;
//! 5. multiplied by `1 - (1 - f) * 0.15`, `f` the share of the listed name's characters matched.
//!
//! The result is never above the best single pair's score (step 4 is an average of pair scores
//! over a denominator at least their weight, and step 5 a factor ≤ 1): the index relies on that
//! to block candidates without losing any.

/// Length ratio below which a pair's score is reduced (step 2).
const LENGTH_RATIO_FLOOR: f64 = 0.9;
/// How much of the length shortfall a pair pays (step 2).
const LENGTH_PENALTY: f64 = 0.3;
/// How much of the listed name's unmatched share the result pays (step 5).
const UNMATCHED_PENALTY: f64 = 0.15;

/// The sound class of a token's first character (step 3); `None` for an empty token.
///
/// Letters compare case-insensitively; a character outside the eight classes is its own class.
pub(crate) fn sound_class(token: &str) -> Option<SoundClass> {
    let first = token.chars().next()?;
    let lower = first.to_lowercase().next().unwrap_or(first);
    let class = match lower {
        'a' | 'e' | 'i' | 'o' | 'u' | 'y' => SoundClass::Vowel,
        'b' | 'f' | 'p' | 'v' => SoundClass::Labial,
        'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => SoundClass::Guttural,
        'd' | 't' => SoundClass::Dental,
        'l' => SoundClass::L,
        'm' | 'n' => SoundClass::Nasal,
        'r' => SoundClass::R,
        'h' | 'w' => SoundClass::Breath,
        other => SoundClass::Other(other),
    };
    Some(class)
}

/// The classes of step 3: two tokens are compared only when their first letters share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum SoundClass {
    Vowel,
    Labial,
    Guttural,
    Dental,
    L,
    Nasal,
    R,
    Breath,
    Other(char),
}

/// Steps 1 and 2 for one pair of tokens (lengths in characters), without the class check.
pub(crate) fn pair_score(search: &str, search_len: usize, listed: &str, listed_len: usize) -> f64 {
    let score = strsim::jaro_winkler(search, listed);
    let (short, long) = if search_len < listed_len {
        (search_len, listed_len)
    } else {
        (listed_len, search_len)
    };
    if long == 0 {
        return 0.0;
    }
    let ratio = count_f64(short) / count_f64(long);
    if ratio < LENGTH_RATIO_FLOOR {
        score * (1.0 - (1.0 - ratio) * LENGTH_PENALTY)
    } else {
        score
    }
}

/// The lowest length ratio a pair can have and still score `threshold` (step 2 inverted):
/// a pair with a smaller ratio scores below `threshold` whatever its characters.
pub(crate) fn min_length_ratio(threshold: f64) -> f64 {
    if threshold <= 1.0 - LENGTH_PENALTY {
        return 0.0;
    }
    1.0 - (1.0 - threshold) / LENGTH_PENALTY
}

/// One token as the scorer needs it: its text, length in characters and sound class.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token<'a> {
    pub(crate) text: &'a str,
    pub(crate) len: usize,
    pub(crate) class: Option<SoundClass>,
}

impl<'a> Token<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            len: text.chars().count(),
            class: sound_class(text),
        }
    }
}

/// Best-pairs Jaro-Winkler of whitespace-separated names, used as given (steps 1–5).
///
/// `search` is the name looked for, `indexed` the name on the list; the score is not symmetric.
pub fn best_pairs_jaro_winkler(search: &str, indexed: &str) -> f64 {
    let search: Vec<Token<'_>> = search.split_whitespace().map(Token::new).collect();
    let indexed: Vec<Token<'_>> = indexed.split_whitespace().map(Token::new).collect();
    best_pairs(&search, &indexed)
}

/// Steps 1–5 on tokens.
pub(crate) fn best_pairs(search: &[Token<'_>], indexed: &[Token<'_>]) -> f64 {
    let search_lens: Vec<usize> = search.iter().map(|t| t.len).collect();
    let indexed_lens: Vec<usize> = indexed.iter().map(|t| t.len).collect();
    best_pairs_by(&search_lens, &indexed_lens, |i, j| {
        let (s, l) = (&search[i], &indexed[j]);
        (s.class.is_some() && s.class == l.class).then(|| pair_score(s.text, s.len, l.text, l.len))
    })
}

/// Steps 3–5 on token lengths, with `pair(i, j)` the score of search token `i` against listed
/// token `j` (`None` when their sound classes differ): the index passes scores it already knows.
pub(crate) fn best_pairs_by(
    search_lens: &[usize],
    indexed_lens: &[usize],
    mut pair: impl FnMut(usize, usize) -> Option<f64>,
) -> f64 {
    let search_total: usize = search_lens.iter().sum();
    let indexed_total: usize = indexed_lens.iter().sum();
    if search_total == 0 || indexed_total == 0 {
        return 0.0;
    }
    let mut pairs: Vec<(f64, usize, usize)> =
        Vec::with_capacity(search_lens.len() * indexed_lens.len());
    for i in 0..search_lens.len() {
        for j in 0..indexed_lens.len() {
            if let Some(score) = pair(i, j) {
                pairs.push((score, i, j));
            }
        }
    }
    // Best first; ties keep the order of the tokens (a stable sort), so the result is deterministic.
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut search_used = vec![false; search_lens.len()];
    let mut indexed_used = vec![false; indexed_lens.len()];
    let mut weighted = 0.0;
    let mut matched_listed = 0usize;
    for (score, i, j) in pairs {
        if search_used[i] || indexed_used[j] {
            continue;
        }
        search_used[i] = true;
        indexed_used[j] = true;
        weighted += score * count_f64(search_lens[i] + indexed_lens[j]);
        matched_listed += indexed_lens[j];
    }
    let average = weighted / count_f64(search_total + matched_listed);
    let matched_share = count_f64(matched_listed) / count_f64(indexed_total);
    average * (1.0 - (1.0 - matched_share) * UNMATCHED_PENALTY)
}

/// A token's characters counted: `a`–`z` one by one, anything else together. Two tokens can
/// have no more Jaro matches than their counts share, which bounds their score from above
/// without computing it ([`pair_upper_bound`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Letters {
    counts: [u8; 26],
    other: u8,
}

impl Letters {
    pub(crate) fn of(token: &str) -> Self {
        let mut letters = Self {
            counts: [0; 26],
            other: 0,
        };
        for c in token.chars() {
            if c.is_ascii_lowercase() {
                let slot = &mut letters.counts[usize::from(c as u8 - b'a')];
                *slot = slot.saturating_add(1);
            } else {
                letters.other = letters.other.saturating_add(1);
            }
        }
        letters
    }

    /// How many characters the two have in common (a multiset intersection).
    fn shared(&self, other: &Self) -> usize {
        let letters: usize = self
            .counts
            .iter()
            .zip(&other.counts)
            .map(|(a, b)| usize::from(*a.min(b)))
            .sum();
        letters + usize::from(self.other.min(other.other))
    }
}

/// An upper bound of [`pair_score`] from character counts and the common prefix: at most
/// `shared` characters can match, with no transposition, and Winkler's bonus grows with Jaro.
pub(crate) fn pair_upper_bound(
    search: &str,
    search_len: usize,
    search_letters: &Letters,
    listed: &str,
    listed_len: usize,
    listed_letters: &Letters,
) -> f64 {
    let m = count_f64(
        search_letters
            .shared(listed_letters)
            .min(search_len)
            .min(listed_len),
    );
    if m == 0.0 {
        return 0.0;
    }
    let jaro = (m / count_f64(search_len) + m / count_f64(listed_len) + 1.0) / 3.0;
    let prefix = search
        .chars()
        .zip(listed.chars())
        .take(4)
        .take_while(|(a, b)| a == b)
        .count();
    let mut bound = if jaro > 0.7 {
        jaro + 0.1 * count_f64(prefix) * (1.0 - jaro)
    } else {
        jaro
    };
    let (short, long) = (search_len.min(listed_len), search_len.max(listed_len));
    let ratio = count_f64(short) / count_f64(long);
    if ratio < LENGTH_RATIO_FLOOR {
        bound *= 1.0 - (1.0 - ratio) * LENGTH_PENALTY;
    }
    bound
}

/// A character count as a float; names are far below 2^52 characters.
#[allow(clippy::cast_precision_loss)]
fn count_f64(n: usize) -> f64 {
    n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_names_score_one_and_unrelated_zero() {
        assert!((best_pairs_jaro_winkler("nicolas maduro", "nicolas maduro") - 1.0).abs() < 1e-12);
        assert!(best_pairs_jaro_winkler("zincum llc", "easy verification inc").abs() < 1e-12);
        assert!(best_pairs_jaro_winkler("", "x").abs() < 1e-12);
    }

    #[test]
    fn the_result_never_exceeds_the_best_pair() {
        let names = [
            "ali hassan",
            "hassan ali mohammed",
            "al hasan",
            "mohamed ali",
            "a b c",
        ];
        for s in names {
            for l in names {
                let search: Vec<Token<'_>> = s.split_whitespace().map(Token::new).collect();
                let listed: Vec<Token<'_>> = l.split_whitespace().map(Token::new).collect();
                let best_pair = search
                    .iter()
                    .flat_map(|a| listed.iter().map(move |b| (a, b)))
                    .filter(|(a, b)| a.class == b.class)
                    .map(|(a, b)| pair_score(a.text, a.len, b.text, b.len))
                    .fold(0.0, f64::max);
                assert!(
                    best_pairs(&search, &listed) <= best_pair + 1e-12,
                    "{s} / {l}"
                );
            }
        }
    }

    #[test]
    fn the_upper_bound_is_never_below_the_score() {
        let words = [
            "mohammed", "muhammad", "ali", "alia", "hassan", "hasan", "nicolas", "nicola",
            "maduro", "madura", "sean", "shawn", "a", "ab", "ba", "abc", "cab", "ivan", "ivanov",
            "jose", "josef", "xx", "zhao", "zao", "ahmad", "ahmed", "yusuf", "yousef",
        ];
        for a in words {
            for b in words {
                let (la, lb) = (a.chars().count(), b.chars().count());
                let score = pair_score(a, la, b, lb);
                let bound = pair_upper_bound(a, la, &Letters::of(a), b, lb, &Letters::of(b));
                assert!(score <= bound + 1e-12, "{a} / {b}: {score} > {bound}");
            }
        }
    }

    #[test]
    fn the_length_ratio_bound_is_exact() {
        let r = min_length_ratio(0.9);
        assert!((1.0 - (1.0 - r) * LENGTH_PENALTY - 0.9).abs() < 1e-12);
        assert!(min_length_ratio(0.5).abs() < 1e-12);
    }
}
