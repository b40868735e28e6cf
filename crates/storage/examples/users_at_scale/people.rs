//! Varied, realistic people for the benchmark: thousands of distinct first and last names
//! (some with accents), cities and email domains, picked by a hash of the person's number so
//! that neighbours differ. Every last name ends in one of ten endings, so an ending such as
//! `berg` matches about 10 % of people: the benchmark's "common" term.

use domain::RawNewUser;
use domain::fixtures::SeedUser;

const FIRST_A: [&str; 50] = [
    "A", "Be", "Ca", "Da", "E", "Fa", "Gi", "Ha", "I", "Jo", "Ka", "Le", "Ma", "Ni", "O", "Pa",
    "Ra", "Sa", "Te", "U", "Va", "Wi", "Xe", "Ya", "Zo", "Élo", "Ama", "Bri", "Cla", "Dmi", "Fre",
    "Gre", "Hel", "Iv", "Jul", "Kir", "Lau", "Mic", "Nad", "Oli", "Pri", "Rob", "Ste", "Tho",
    "Vic", "Wen", "Yus", "Zan", "Ág", "Søs",
];
const FIRST_B: [&str; 40] = [
    "die", "na", "ra", "la", "lie", "ne", "an", "on", "en", "in", "ah", "ia", "ka", "ko", "ro",
    "so", "to", "ta", "vi", "ya", "mir", "rik", "ric", "dor", "bel", "beth", "ley", "ton", "son",
    "ard", "ise", "ine", "ette", "elle", "ina", "ita", "ane", "ene", "yne", "ys",
];
const LAST_A: [&str; 30] = [
    "Al", "Bar", "Cas", "Del", "Esc", "Fer", "Gal", "Hol", "Ib", "Jan", "Kov", "Lind", "Mar",
    "Nor", "Ost", "Pal", "Quin", "Ros", "Sch", "Tor", "Ul", "Val", "Wes", "Yam", "Zel", "Mül",
    "Øst", "Çel", "Brä", "Sán",
];
const LAST_B: [&str; 24] = [
    "a", "e", "i", "o", "u", "an", "en", "in", "on", "ar", "er", "or", "al", "el", "il", "ad",
    "ed", "am", "em", "ov", "av", "ig", "og", "ul",
];
/// Ten endings, each on about a tenth of the last names.
pub(crate) const LAST_C: [&str; 10] = [
    "berg", "sson", "ski", "mann", "ez", "ova", "ini", "ton", "ard", "ley",
];
const CITY_A: [&str; 60] = [
    "Spring", "River", "Oak", "Maple", "Cedar", "Pine", "Elm", "Ash", "Birch", "Willow", "Stone",
    "Clear", "Fair", "Green", "High", "Lake", "Mill", "New", "North", "South", "East", "West",
    "Red", "White", "Black", "Silver", "Gold", "Iron", "Rock", "Sand", "Sun", "Moon", "Star",
    "Bright", "Deer", "Fox", "Wolf", "Bear", "Eagle", "Hawk", "Crow", "Swan", "Glen", "Brook",
    "Ridge", "Hill", "Vale", "Marsh", "Bay", "Port", "Castle", "King", "Queen", "Prince", "Saint",
    "Mount", "Fort", "Bridge", "Ferry", "Harbor",
];
const CITY_B: [&str; 40] = [
    "field",
    "ton",
    "ville",
    "burg",
    "port",
    "dale",
    "wood",
    "ford",
    "haven",
    "land",
    "mouth",
    "view",
    "side",
    "stead",
    "wick",
    "worth",
    "bury",
    "by",
    "chester",
    "mont",
    "crest",
    "gate",
    "hurst",
    "ley",
    "more",
    "ridge",
    "shire",
    "water",
    "well",
    "wood Falls",
    "ton Springs",
    " Heights",
    " Junction",
    " Park",
    " Grove",
    " Point",
    " City",
    " Center",
    " Creek",
    " Hollow",
];
const DOMAIN_WORDS: [&str; 50] = [
    "mail", "post", "inbox", "letter", "note", "wire", "link", "net", "cloud", "box", "send",
    "relay", "pigeon", "courier", "signal", "beacon", "harbor", "anchor", "summit", "valley",
    "prairie", "canyon", "delta", "fjord", "tundra", "meadow", "orchard", "quarry", "foundry",
    "atelier", "studio", "works", "labs", "forge", "mill", "yard", "market", "bazaar", "plaza",
    "corner", "tower", "bridge", "garden", "grove", "river", "ocean", "island", "coast", "bay",
    "peak",
];
const TLDS: [&str; 5] = ["com", "net", "org", "io", "co"];
const AREA_CODES: [&str; 8] = ["212", "312", "415", "617", "713", "206", "305", "404"];

/// splitmix64: a well-mixed hash of `n`.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(list: &[&'a str], h: u64, salt: u32) -> &'a str {
    let i = (h.rotate_left(salt) % list.len() as u64) as usize;
    list[i]
}

/// The ASCII letters of `s`, lowercased (for email local parts and usernames).
fn ascii(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Person number `n`'s last name.
pub(crate) fn last_name(n: u32) -> String {
    let h = mix(u64::from(n));
    format!(
        "{}{}{}",
        pick(&LAST_A, h, 7),
        pick(&LAST_B, h, 19),
        pick(&LAST_C, h, 31)
    )
}

/// Person number `n` (unique email, username and SSN up to 594 million).
pub(crate) fn person(n: u32) -> RawNewUser {
    let h = mix(u64::from(n));
    let first = format!("{}{}", pick(&FIRST_A, h, 41), pick(&FIRST_B, h, 53));
    let last = last_name(n);
    let city = format!("{}{}", pick(&CITY_A, h, 3), pick(&CITY_B, h, 11));
    let domain = format!(
        "{}{}.{}",
        pick(&DOMAIN_WORDS, h, 23),
        (h >> 40) % 100,
        pick(&TLDS, h, 37)
    );
    let email = format!("{}.{}{n}@{domain}", ascii(&first), ascii(&last));
    let username = format!("{}{n}", ascii(&first));
    let phone = format!(
        "+1{}{:07}",
        pick(&AREA_CODES, h, 47),
        2_000_000 + (h >> 20) % 8_000_000
    );
    SeedUser::new(n)
        .last_name(last)
        .email(email)
        .username(username)
        .ssn(format!(
            "{:03}{:02}{:04}",
            1 + n % 600,
            1 + (n / 600) % 99,
            1 + (n / 59_400) % 9_999
        ))
        .without_meta_data()
        .meta("ref", format!("c-{n}"))
        .with(|u| {
            u.first_name = Some(first);
            u.city = Some(city);
            u.phone_number = Some(phone);
            u.middle_name = None;
            u.address_two = None;
        })
        .raw()
}
