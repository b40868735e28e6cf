//! The OFAC SDN list in its published CSV form: `sdn.csv` (entries), `alt.csv` (aliases) and
//! `add.csv` (addresses), headerless, `-0-` for null, remarks carrying `DOB …` and `a.k.a. '…'`.
//!
//! Parsing is pure (bytes in, a list out). A row with the wrong number of fields, an entry
//! number that is not a number or repeats, a blank name, or an alias or address of an entry
//! that is not in `sdn.csv` is skipped and counted in [`ListReport::skipped`], never fatal.

use std::collections::{BTreeMap, HashSet};

use super::dob::ListedDob;
use super::prepare::PreparedName;

/// What a list entry is. Only individuals are compared with people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// `individual`.
    Individual,
    /// `-0-`: a company, organisation or other entity.
    Entity,
    /// `vessel`.
    Vessel,
    /// `aircraft`.
    Aircraft,
}

/// One entry of `sdn.csv` with its aliases (from `alt.csv` and the remarks' `a.k.a.`) and dates
/// of birth (from the remarks).
#[derive(Clone, Debug, PartialEq)]
pub struct ListEntry {
    /// `ent_num`.
    pub number: u32,
    /// `SDN_name` as listed (`SURNAME, Given` for individuals).
    pub name: String,
    /// `SDN_type`.
    pub kind: EntryKind,
    /// `program`, as listed (`SDGT] [IFSR`), empty when null.
    pub program: String,
    /// Other names, as listed, without repeats of the primary name or of each other.
    pub aliases: Vec<String>,
    /// The readable dates of birth.
    pub dobs: Vec<ListedDob>,
}

/// A parsed list: its entries in file order, and what parsing counted.
#[derive(Clone, Debug, PartialEq)]
pub struct SdnList {
    /// The entries, in the order of `sdn.csv`.
    pub entries: Vec<ListEntry>,
    /// Counts and skipped rows.
    pub report: ListReport,
}

/// The list files, as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListFile {
    /// `sdn.csv`.
    Sdn,
    /// `alt.csv`.
    Alt,
    /// `add.csv`.
    Add,
}

impl ListFile {
    /// The file's name in a list directory.
    pub const fn file_name(self) -> &'static str {
        match self {
            Self::Sdn => "sdn.csv",
            Self::Alt => "alt.csv",
            Self::Add => "add.csv",
        }
    }

    /// Fields per row.
    const fn width(self) -> usize {
        match self {
            Self::Sdn => 12,
            Self::Alt => 5,
            Self::Add => 6,
        }
    }
}

/// Why a row was skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Not the file's number of fields (or not readable as CSV).
    FieldCount(usize),
    /// The entry number is not a number.
    BadNumber,
    /// The entry number was already used by an earlier row.
    RepeatedNumber(u32),
    /// The name is null or blank.
    BlankName,
    /// An alias or address of an entry number `sdn.csv` does not have.
    UnknownEntry(u32),
}

/// One skipped row: the file, its 1-based row number and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub file: ListFile,
    /// The row, counted from 1.
    pub row: u64,
    /// Why.
    pub reason: SkipReason,
}

/// What parsing counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListReport {
    /// Entries kept.
    pub entries: usize,
    /// Aliases kept (after removing repeats).
    pub aliases: usize,
    /// Address rows kept.
    pub addresses: usize,
    /// Rows skipped, with why (the caller logs a warning with their count).
    pub skipped: Vec<Skipped>,
}

/// Parses the three files' bytes. Only a file that is not CSV at all yields no rows; nothing is
/// fatal.
pub fn parse_sdn(sdn: &[u8], alt: &[u8], add: &[u8]) -> SdnList {
    let mut report = ListReport::default();
    let mut entries: Vec<ListEntry> = Vec::new();
    let mut by_number: BTreeMap<u32, usize> = BTreeMap::new();

    for (row, fields) in rows(sdn, ListFile::Sdn, &mut report) {
        let Some(number) = number(&fields[0]) else {
            report.skip(ListFile::Sdn, row, SkipReason::BadNumber);
            continue;
        };
        if by_number.contains_key(&number) {
            report.skip(ListFile::Sdn, row, SkipReason::RepeatedNumber(number));
            continue;
        }
        let Some(name) = value(&fields[1]) else {
            report.skip(ListFile::Sdn, row, SkipReason::BlankName);
            continue;
        };
        let kind = match value(&fields[2]).map(str::to_ascii_lowercase).as_deref() {
            Some("individual") => EntryKind::Individual,
            Some("vessel") => EntryKind::Vessel,
            Some("aircraft") => EntryKind::Aircraft,
            _ => EntryKind::Entity,
        };
        let remarks = value(&fields[11]).unwrap_or_default();
        by_number.insert(number, entries.len());
        entries.push(ListEntry {
            number,
            name: name.to_owned(),
            kind,
            program: value(&fields[3]).unwrap_or_default().to_owned(),
            aliases: remark_aliases(remarks),
            dobs: ListedDob::from_remarks(remarks),
        });
    }

    for (row, fields) in rows(alt, ListFile::Alt, &mut report) {
        let Some(number) = number(&fields[0]) else {
            report.skip(ListFile::Alt, row, SkipReason::BadNumber);
            continue;
        };
        let Some(&index) = by_number.get(&number) else {
            report.skip(ListFile::Alt, row, SkipReason::UnknownEntry(number));
            continue;
        };
        let Some(name) = value(&fields[3]) else {
            report.skip(ListFile::Alt, row, SkipReason::BlankName);
            continue;
        };
        entries[index].aliases.push(name.to_owned());
    }

    for (row, fields) in rows(add, ListFile::Add, &mut report) {
        match number(&fields[0]) {
            None => report.skip(ListFile::Add, row, SkipReason::BadNumber),
            Some(n) if !by_number.contains_key(&n) => {
                report.skip(ListFile::Add, row, SkipReason::UnknownEntry(n));
            }
            Some(_) => report.addresses += 1,
        }
    }

    for entry in &mut entries {
        dedupe_aliases(entry);
        report.aliases += entry.aliases.len();
    }
    report.entries = entries.len();
    SdnList { entries, report }
}

impl ListReport {
    fn skip(&mut self, file: ListFile, row: u64, reason: SkipReason) {
        self.skipped.push(Skipped { file, row, reason });
    }
}

/// The rows of one file that have its number of fields, with their 1-based row numbers; the
/// others are counted as skipped. Fields that are not UTF-8 are read as Latin-1 (older OFAC files).
fn rows(bytes: &[u8], file: ListFile, report: &mut ListReport) -> Vec<(u64, Vec<String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut out = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut row = 0u64;
    loop {
        row += 1;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) if record.len() == file.width() => {
                out.push((row, record.iter().map(text).collect()));
            }
            Ok(true) => report.skip(file, row, SkipReason::FieldCount(record.len())),
            Err(_) => report.skip(file, row, SkipReason::FieldCount(0)),
        }
    }
    out
}

/// A field's text: UTF-8, else Latin-1.
fn text(field: &[u8]) -> String {
    match std::str::from_utf8(field) {
        Ok(s) => s.to_owned(),
        Err(_) => field.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A field's value: `None` for `-0-` (with any surrounding spaces) or a blank field.
fn value(field: &str) -> Option<&str> {
    let trimmed = field.trim();
    (!trimmed.is_empty() && trimmed != "-0-").then_some(trimmed)
}

fn number(field: &str) -> Option<u32> {
    value(field)?.parse().ok()
}

/// The `a.k.a. 'NAME'` of the remarks (also `f.k.a.` and `n.k.a.`).
fn remark_aliases(remarks: &str) -> Vec<String> {
    remarks
        .split(';')
        .map(str::trim)
        .filter_map(|part| {
            let rest = ["a.k.a. ", "f.k.a. ", "n.k.a. "]
                .iter()
                .find_map(|p| part.strip_prefix(p))?;
            let rest = rest.trim().trim_end_matches('.');
            let name = rest.strip_prefix('\'')?.strip_suffix('\'')?.trim();
            (!name.is_empty()).then(|| name.to_owned())
        })
        .collect()
}

/// Drops aliases that prepare to the primary name or to an earlier alias.
fn dedupe_aliases(entry: &mut ListEntry) {
    let prepare = |name: &str| match entry.kind {
        EntryKind::Individual => PreparedName::individual(name),
        _ => PreparedName::new(name),
    };
    let mut seen: HashSet<PreparedName> = HashSet::new();
    seen.insert(prepare(&entry.name));
    let aliases = std::mem::take(&mut entry.aliases);
    entry.aliases = aliases
        .into_iter()
        .filter(|a| {
            let prepared = prepare(a);
            !prepared.is_empty() && seen.insert(prepared)
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDN: &str = "10,\"MORENO, Daniel\",\"individual\",\"SDNTK\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 12 Oct 1972; a.k.a. 'MORENO, Dani'; a.k.a. 'MORENO, Daniel'.\"\n\
        11,\"ACME LTD.\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n\
        12,\"SHORT ROW\",-0- \n\
        x,\"BAD NUMBER\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n\
        10,\"REPEATED\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n\
        13,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ";
    const ALT: &str = "10,1,\"aka\",\"MORENA, Danielle\",-0- \n10,2,\"aka\",\"MORENO, Dani\",-0- \n99,3,\"aka\",\"NOBODY\",-0- ";
    const ADD: &str = "10,1,-0- ,\"Corozal\",\"Belize\",-0- \n11,2,-0- ,-0- ,-0- ";

    #[test]
    fn entries_aliases_and_dates_are_read_and_bad_rows_counted() {
        let list = parse_sdn(SDN.as_bytes(), ALT.as_bytes(), ADD.as_bytes());
        assert_eq!(list.entries.len(), 2);
        let moreno = &list.entries[0];
        assert_eq!(
            (moreno.number, moreno.name.as_str()),
            (10, "MORENO, Daniel")
        );
        assert_eq!(moreno.kind, EntryKind::Individual);
        assert_eq!(moreno.program, "SDNTK");
        assert_eq!(moreno.aliases, ["MORENO, Dani", "MORENA, Danielle"]);
        assert_eq!(moreno.dobs.len(), 1);
        assert_eq!(list.entries[1].kind, EntryKind::Entity);
        assert_eq!(list.entries[1].program, "");
        let reasons: Vec<(ListFile, u64, SkipReason)> = list
            .report
            .skipped
            .iter()
            .map(|s| (s.file, s.row, s.reason.clone()))
            .collect();
        assert_eq!(
            reasons,
            [
                (ListFile::Sdn, 3, SkipReason::FieldCount(3)),
                (ListFile::Sdn, 4, SkipReason::BadNumber),
                (ListFile::Sdn, 5, SkipReason::RepeatedNumber(10)),
                (ListFile::Sdn, 6, SkipReason::BlankName),
                (ListFile::Alt, 3, SkipReason::UnknownEntry(99)),
                (ListFile::Add, 2, SkipReason::FieldCount(5)),
            ]
        );
        assert_eq!(
            (
                list.report.entries,
                list.report.aliases,
                list.report.addresses
            ),
            (2, 2, 1)
        );
    }

    #[test]
    fn latin1_fields_are_read() {
        let sdn = b"1,\"N\xd0\xc9Z, Jos\xe9\",\"individual\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ";
        let list = parse_sdn(sdn, b"", b"");
        assert_eq!(list.entries[0].name, "NÐÉZ, José");
    }
}
