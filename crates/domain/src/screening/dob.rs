//! Dates of birth on list entries (`DOB 28 Jul 1963`, `DOB Jul 1963`, `DOB 1963`,
//! `DOB circa 1963`, `DOB 1960 to 1965`, `alt. DOB …` in the remarks), and how they judge a
//! user's date of birth.
//!
//! Each listed date is an inclusive range of days: a full date is one day, a month its days, a
//! year its days, `circa` widens by [`CIRCA_YEARS`] on each side, `A to B` runs from the first
//! day of `A` to the last of `B`. A user's date **contradicts** an entry when the entry has at
//! least one readable date and the user's date is in none of them; the entry's score is then
//! multiplied by [`DOB_CONTRADICTION_FACTOR`]. An entry without a readable date, or a user
//! without a date, is judged on the name alone.

use chrono::{Months, NaiveDate};

/// How far `circa` reaches, in years on each side.
pub const CIRCA_YEARS: u32 = 2;

/// What a contradicting date of birth does to a score: an exact name (1.0) with a date of birth
/// the list contradicts scores 0.85, under the default review threshold of 0.90, so a namesake
/// born on another date is cleared without a review; a near name already below 1.0 falls further.
pub const DOB_CONTRADICTION_FACTOR: f64 = 0.85;

/// One listed date of birth, as an inclusive range of days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListedDob {
    from: NaiveDate,
    to: NaiveDate,
}

impl ListedDob {
    /// True when `date` lies in the range.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// The first and last day of the range.
    pub fn range(&self) -> (NaiveDate, NaiveDate) {
        (self.from, self.to)
    }

    /// Parses the text after `DOB ` (`28 Jul 1963`, `circa 1963`, `1960 to 1965`, …).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().trim_end_matches('.').trim();
        if let Some(rest) = text.strip_prefix("circa ") {
            let (from, to) = match rest.split_once('-') {
                Some((a, b)) => (span(a)?.0, span(b)?.1),
                None => span(rest)?,
            };
            return Some(Self {
                from: from.checked_sub_months(Months::new(12 * CIRCA_YEARS))?,
                to: to.checked_add_months(Months::new(12 * CIRCA_YEARS))?,
            });
        }
        let (from, to) = match text.split_once(" to ") {
            Some((a, b)) => (span(a)?.0, span(b)?.1),
            None => span(text)?,
        };
        (from <= to).then_some(Self { from, to })
    }

    /// Every `DOB …` and `alt. DOB …` of an entry's remarks that reads as a date.
    pub fn from_remarks(remarks: &str) -> Vec<Self> {
        remarks
            .split(';')
            .map(str::trim)
            .filter_map(|part| {
                let part = part.strip_prefix("alt. ").unwrap_or(part);
                part.strip_prefix("DOB ")
            })
            .filter_map(Self::parse)
            .collect()
    }
}

/// Whether the listed dates contradict `date` (see the module's description).
pub fn contradicts(listed: &[ListedDob], date: Option<NaiveDate>) -> bool {
    match date {
        Some(date) => !listed.is_empty() && !listed.iter().any(|d| d.contains(date)),
        None => false,
    }
}

/// The days of `28 Jul 1963`, `Jul 1963` or `1963`.
fn span(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    match parts.as_slice() {
        [day, month, year] => {
            let date =
                NaiveDate::from_ymd_opt(year_of(year)?, month_of(month)?, day.parse().ok()?)?;
            Some((date, date))
        }
        [month, year] => {
            let first = NaiveDate::from_ymd_opt(year_of(year)?, month_of(month)?, 1)?;
            let last = first.checked_add_months(Months::new(1))?.pred_opt()?;
            Some((first, last))
        }
        [year] => {
            let year = year_of(year)?;
            Some((
                NaiveDate::from_ymd_opt(year, 1, 1)?,
                NaiveDate::from_ymd_opt(year, 12, 31)?,
            ))
        }
        _ => None,
    }
}

fn year_of(text: &str) -> Option<i32> {
    let year: i32 = text.parse().ok()?;
    (1800..=2100).contains(&year).then_some(year)
}

fn month_of(text: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = text.to_ascii_lowercase();
    let index = MONTHS.iter().position(|m| lower.starts_with(m))?;
    u32::try_from(index + 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn every_listed_form_reads() {
        let exact = ListedDob::parse("28 Jul 1963").map(|d| d.range());
        assert_eq!(exact, Some((day(1963, 7, 28), day(1963, 7, 28))));
        let month = ListedDob::parse("Feb 1964.").map(|d| d.range());
        assert_eq!(month, Some((day(1964, 2, 1), day(1964, 2, 29))));
        let year = ListedDob::parse("1963").map(|d| d.range());
        assert_eq!(year, Some((day(1963, 1, 1), day(1963, 12, 31))));
        let circa = ListedDob::parse("circa 1963").map(|d| d.range());
        assert_eq!(circa, Some((day(1961, 1, 1), day(1965, 12, 31))));
        let circa_range = ListedDob::parse("circa 1960-1962").map(|d| d.range());
        assert_eq!(circa_range, Some((day(1958, 1, 1), day(1964, 12, 31))));
        let range = ListedDob::parse("01 Jan 1960 to 31 Dec 1962").map(|d| d.range());
        assert_eq!(range, Some((day(1960, 1, 1), day(1962, 12, 31))));
        assert_eq!(ListedDob::parse("unknown"), None);
        assert_eq!(ListedDob::parse("1970 to 1960"), None);
    }

    #[test]
    fn remarks_give_every_date() {
        let remarks = "DOB 28 Jul 1963; alt. DOB 1965; POB Toledo; a.k.a. 'X'.";
        let dates = ListedDob::from_remarks(remarks);
        assert_eq!(dates.len(), 2);
        assert!(!contradicts(&dates, Some(day(1965, 3, 1))));
        assert!(!contradicts(&dates, Some(day(1963, 7, 28))));
        assert!(contradicts(&dates, Some(day(1963, 7, 29))));
        assert!(!contradicts(&dates, None));
        assert!(!contradicts(&[], Some(day(1990, 1, 1))));
    }
}
