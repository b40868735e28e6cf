//! The searchable form of a list: every individual's primary name and aliases, prepared, and
//! the blocking that finds the candidates of a search without scoring every name.
//!
//! **Blocking.** A name can score `floor` only if one of its token pairs does (the best-pairs
//! result never exceeds its best pair, see [`super::score`]); a pair scores at all only when both
//! tokens' first letters share a sound class, and reaches `floor` only when the shorter token is
//! at least [`min_length_ratio`] of the longer. So the index keeps each distinct listed token
//! once, bucketed by (sound class, length); a search scores its tokens against the tokens of the
//! compatible buckets only, and then fully scores only the names holding a token whose pair
//! reached `floor`. No name that full scoring puts at or above `floor` is missed (shown in
//! `tests/screening.rs` against [`ScreeningIndex::screen_exhaustive`] on the full list).

use std::collections::HashMap;

use chrono::NaiveDate;

use super::dob::{DOB_CONTRADICTION_FACTOR, ListedDob, contradicts};
use super::list::{EntryKind, SdnList};
use super::prepare::PreparedName;
use super::score::{
    Letters, SoundClass, Token, best_pairs_by, min_length_ratio, pair_score, pair_upper_bound,
};

/// Slack for floating-point rounding between a pair's score and a name's (never loses a name).
const BLOCKING_SLACK: f64 = 1e-9;

/// A person to screen: the prepared name and, when known, the date of birth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonQuery {
    /// The name, prepared (first, middle, last).
    pub name: PreparedName,
    /// The date of birth, when known.
    pub dob: Option<NaiveDate>,
}

/// The best-scoring listed name of a search.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The entry's number (`ent_num`).
    pub entry_number: u32,
    /// The name that scored, as listed (the primary name or an alias).
    pub listed_name: String,
    /// True when the name that scored is an alias.
    pub alias: bool,
    /// Best-pairs Jaro-Winkler of the names alone.
    pub name_score: f64,
    /// True when the entry's dates of birth contradict the person's.
    pub dob_contradicts: bool,
    /// The score: `name_score`, times [`DOB_CONTRADICTION_FACTOR`] when the dates contradict.
    pub score: f64,
}

#[derive(Debug)]
struct IndexedName {
    entry: usize,
    listed: String,
    alias: bool,
    /// The prepared name's tokens, as ids into the vocabulary.
    tokens: Vec<u32>,
    /// Their lengths in characters.
    lens: Vec<usize>,
}

#[derive(Debug)]
struct IndexedEntry {
    number: u32,
    dobs: Vec<ListedDob>,
}

#[derive(Debug)]
struct VocabToken {
    text: String,
    len: usize,
    class: Option<SoundClass>,
    letters: Letters,
    /// Indices of the names holding this token.
    names: Vec<u32>,
}

/// A searched token, with the scores against listed tokens computed so far.
#[derive(Debug)]
struct SearchToken<'a> {
    text: &'a str,
    len: usize,
    class: Option<SoundClass>,
    letters: Letters,
    known: HashMap<u32, f64>,
}

/// The individuals of a list, ready to screen people against.
#[derive(Debug)]
pub struct ScreeningIndex {
    entries: Vec<IndexedEntry>,
    names: Vec<IndexedName>,
    vocab: Vec<VocabToken>,
    buckets: HashMap<(SoundClass, usize), Vec<u32>>,
    longest_token: usize,
}

impl ScreeningIndex {
    /// Indexes the list's individuals (primary names and aliases); other entries are not
    /// compared with people.
    pub fn for_people(list: &SdnList) -> Self {
        let mut index = Self {
            entries: Vec::new(),
            names: Vec::new(),
            vocab: Vec::new(),
            buckets: HashMap::new(),
            longest_token: 0,
        };
        let mut vocab_ids: HashMap<String, u32> = HashMap::new();
        for entry in list
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Individual)
        {
            let entry_index = index.entries.len();
            index.entries.push(IndexedEntry {
                number: entry.number,
                dobs: entry.dobs.clone(),
            });
            let names = std::iter::once((&entry.name, false))
                .chain(entry.aliases.iter().map(|a| (a, true)));
            for (listed, alias) in names {
                let prepared = PreparedName::individual(listed);
                if prepared.is_empty() {
                    continue;
                }
                let name_id = u32::try_from(index.names.len()).unwrap_or(u32::MAX);
                let mut tokens = Vec::new();
                let mut lens = Vec::new();
                for token in prepared.tokens() {
                    let id = *vocab_ids.entry(token.to_owned()).or_insert_with(|| {
                        let id = u32::try_from(index.vocab.len()).unwrap_or(u32::MAX);
                        let t = Token::new(token);
                        index.longest_token = index.longest_token.max(t.len);
                        if let Some(class) = t.class {
                            index.buckets.entry((class, t.len)).or_default().push(id);
                        }
                        index.vocab.push(VocabToken {
                            text: token.to_owned(),
                            len: t.len,
                            class: t.class,
                            letters: Letters::of(token),
                            names: Vec::new(),
                        });
                        id
                    });
                    tokens.push(id);
                    lens.push(index.vocab[id as usize].len);
                    let postings = &mut index.vocab[id as usize].names;
                    if postings.last() != Some(&name_id) {
                        postings.push(name_id);
                    }
                }
                index.names.push(IndexedName {
                    entry: entry_index,
                    listed: listed.clone(),
                    alias,
                    tokens,
                    lens,
                });
            }
        }
        index
    }

    /// Individuals indexed.
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// Names indexed (primary names and aliases).
    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    /// The best hit among the names whose name score is at least `floor`, found through the
    /// blocking; `None` when no name reaches `floor`.
    pub fn screen(&self, query: &PersonQuery, floor: f64) -> Option<Hit> {
        let mut search = search_tokens(&query.name);
        let candidates = self.candidates(&mut search, floor);
        self.best_of(query, &mut search, floor, true, candidates.into_iter())
    }

    /// The same as [`Self::screen`], scoring every name: the reference the blocking is tested
    /// and measured against.
    pub fn screen_exhaustive(&self, query: &PersonQuery, floor: f64) -> Option<Hit> {
        let mut search = search_tokens(&query.name);
        self.best_of(query, &mut search, floor, false, 0..self.names.len())
    }

    /// How many names the blocking leaves to score fully for `name` (for the benchmark).
    pub fn candidate_count(&self, name: &PreparedName, floor: f64) -> usize {
        self.candidates(&mut search_tokens(name), floor).len()
    }

    fn candidates(&self, search: &mut [SearchToken<'_>], floor: f64) -> Vec<usize> {
        let pair_floor = floor - BLOCKING_SLACK;
        let min_ratio = min_length_ratio(pair_floor);
        let mut seen = vec![false; self.names.len()];
        let mut out = Vec::new();
        for token in search.iter_mut() {
            let Some(class) = token.class else { continue };
            let (lo, hi) = length_window(token.len, min_ratio, self.longest_token);
            for len in lo..=hi {
                let Some(bucket) = self.buckets.get(&(class, len)) else {
                    continue;
                };
                for &id in bucket {
                    let listed = &self.vocab[id as usize];
                    let bound = pair_upper_bound(
                        token.text,
                        token.len,
                        &token.letters,
                        &listed.text,
                        listed.len,
                        &listed.letters,
                    );
                    if bound < pair_floor {
                        continue;
                    }
                    let score = pair_score(token.text, token.len, &listed.text, listed.len);
                    token.known.insert(id, score);
                    if score < pair_floor {
                        continue;
                    }
                    for &name_id in &listed.names {
                        let slot = &mut seen[name_id as usize];
                        if !*slot {
                            *slot = true;
                            out.push(name_id as usize);
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out
    }

    fn best_of(
        &self,
        query: &PersonQuery,
        search: &mut [SearchToken<'_>],
        floor: f64,
        prune: bool,
        names: impl Iterator<Item = usize>,
    ) -> Option<Hit> {
        let search_lens: Vec<usize> = search.iter().map(|t| t.len).collect();
        let search_total: usize = search_lens.iter().sum();
        let mut best: Option<Hit> = None;
        for id in names {
            let name = &self.names[id];
            if prune && self.name_upper_bound(search, search_total, name) < floor - BLOCKING_SLACK {
                continue;
            }
            let name_score = best_pairs_by(&search_lens, &name.lens, |i, j| {
                let token = &mut search[i];
                let listed_id = name.tokens[j];
                let listed = &self.vocab[listed_id as usize];
                if token.class.is_none() || token.class != listed.class {
                    return None;
                }
                let score = *token
                    .known
                    .entry(listed_id)
                    .or_insert_with(|| pair_score(token.text, token.len, &listed.text, listed.len));
                Some(score)
            });
            if name_score < floor {
                continue;
            }
            let entry = &self.entries[name.entry];
            let dob_contradicts = contradicts(&entry.dobs, query.dob);
            let score = if dob_contradicts {
                name_score * DOB_CONTRADICTION_FACTOR
            } else {
                name_score
            };
            // The best score wins; on a tie the lower name index (file order, primary first).
            if best.as_ref().is_none_or(|b| score > b.score) {
                best = Some(Hit {
                    entry_number: entry.number,
                    listed_name: name.listed.clone(),
                    alias: name.alias,
                    name_score,
                    dob_contradicts,
                    score,
                });
            }
        }
        best
    }
}

impl ScreeningIndex {
    /// An upper bound of a name's score, cheaper than scoring it: with `b_i` the best score
    /// search token `i` can reach against any of the name's tokens (known, or bounded by
    /// [`pair_upper_bound`]), `S` the search tokens' total length and `L` the name's, the
    /// best-pairs result is at most `(Σ b_i·len_i + L) / (S + L)` (each taken pair's weight
    /// splits into its search part, at most `b_i·len_i`, and its listed part, at most its length;
    /// the denominator grows with the matched length no faster than the numerator).
    fn name_upper_bound(
        &self,
        search: &[SearchToken<'_>],
        search_total: usize,
        name: &IndexedName,
    ) -> f64 {
        let listed_total: usize = name.lens.iter().sum();
        let mut numerator = 0.0;
        for token in search {
            let mut best = 0.0f64;
            for &listed_id in &name.tokens {
                let listed = &self.vocab[listed_id as usize];
                if token.class.is_none() || token.class != listed.class {
                    continue;
                }
                let score = token.known.get(&listed_id).copied().unwrap_or_else(|| {
                    pair_upper_bound(
                        token.text,
                        token.len,
                        &token.letters,
                        &listed.text,
                        listed.len,
                        &listed.letters,
                    )
                });
                best = best.max(score);
            }
            numerator += best * count(token.len);
        }
        (numerator + count(listed_total)) / count(search_total + listed_total)
    }
}

#[allow(clippy::cast_precision_loss)]
fn count(n: usize) -> f64 {
    n as f64
}

/// The searched name's tokens, in order (a repeated word counts twice, as in the scorer).
fn search_tokens(name: &PreparedName) -> Vec<SearchToken<'_>> {
    name.tokens()
        .map(|text| {
            let t = Token::new(text);
            SearchToken {
                text,
                len: t.len,
                class: t.class,
                letters: Letters::of(text),
                known: HashMap::new(),
            }
        })
        .collect()
}

/// The token lengths up to `longest` a token of `len` characters can pair with at `min_ratio`.
fn length_window(len: usize, min_ratio: f64, longest: usize) -> (usize, usize) {
    let lo = (1..=len)
        .find(|&l| ratio(l, len) >= min_ratio)
        .unwrap_or(len);
    let mut hi = len;
    while hi < longest && ratio(len, hi + 1) >= min_ratio {
        hi += 1;
    }
    (lo, hi)
}

#[allow(clippy::cast_precision_loss)]
fn ratio(short: usize, long: usize) -> f64 {
    short as f64 / long as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_window_holds_exactly_the_lengths_that_can_pair() {
        let min_ratio = min_length_ratio(0.9);
        for len in 1..40usize {
            let (lo, hi) = length_window(len, min_ratio, 100);
            for other in 1..80usize {
                let r = ratio(len.min(other), len.max(other));
                assert_eq!((lo..=hi).contains(&other), r >= min_ratio, "{len} {other}");
            }
        }
    }
}
