//! The credential-lifecycle operator commands (`onboard program rotate-hmac|revoke-hmac|
//! disable|enable`), who runs an operator command, and overlap durations.

use chrono::{DateTime, Duration, Utc};
use domain::ProgramId;
use storage::{OperatorAction, ProgramRepository as _, SqlStore};

/// The operator recorded with an action: `--actor`, else the OS user (`$USER`, `$LOGNAME`),
/// else `unknown`.
pub fn actor(flag: Option<&str>) -> String {
    flag.map(str::to_owned)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Parses an overlap such as `24h`, `90m`, `1h30m`, `7d` or `0` (units `s`, `m`, `h`, `d`).
pub fn parse_overlap(text: &str) -> Result<Duration, String> {
    const HELP: &str = "expected a duration such as 24h, 90m, 1h30m, 7d or 0";
    if text.trim() == "0" {
        return Ok(Duration::zero());
    }
    let mut total = Duration::zero();
    let mut parts = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| HELP.to_owned())?;
        let part = match c {
            's' => Duration::try_seconds(n),
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            _ => None,
        }
        .ok_or_else(|| HELP.to_owned())?;
        total = total.checked_add(&part).ok_or_else(|| HELP.to_owned())?;
        parts += 1;
        digits.clear();
    }
    if !digits.is_empty() || parts == 0 {
        return Err(HELP.to_owned());
    }
    Ok(total)
}

fn program(text: &str) -> Result<ProgramId, String> {
    ProgramId::parse(text).map_err(|v| format!("PROGRAM {v}"))
}

/// `program rotate-hmac PROGRAM [--overlap D] [--json]`: prints the new credential once.
#[allow(clippy::print_stdout)]
pub async fn rotate_hmac(
    store: &SqlStore,
    by: &OperatorAction,
    program_text: &str,
    overlap: Duration,
    json: bool,
    now: DateTime<Utc>,
) -> Result<(), Box<dyn std::error::Error>> {
    let program = program(program_text)?;
    let rotated = store.rotate_hmac(program, overlap, now, by).await?;
    let until = crate::views::timestamp(rotated.old_valid_until);
    if json {
        let out = serde_json::json!({
            "program_id": program.to_string(),
            "hmac_username": rotated.username,
            "hmac_secret": rotated.secret.expose(),
            "retiring": rotated.retiring,
            "old_valid_until": until,
        });
        println!("{out}");
        return Ok(());
    }
    println!("new HMAC credential issued for {program}.");
    if rotated.retiring.is_empty() {
        println!("The program had no other valid HMAC credential.");
    } else {
        println!(
            "{} stay(s) valid until {until}, then stop.",
            rotated.retiring.join(", ")
        );
    }
    println!("Store these now; they are shown only once.");
    println!("export ONBOARD_HMAC_USERNAME={}", rotated.username);
    println!("export ONBOARD_HMAC_SECRET={}", rotated.secret.expose());
    Ok(())
}

/// `program revoke-hmac USERNAME`.
#[allow(clippy::print_stdout)]
pub async fn revoke_hmac(
    store: &SqlStore,
    by: &OperatorAction,
    username: &str,
    cache_secs: u64,
    now: DateTime<Utc>,
) -> Result<(), Box<dyn std::error::Error>> {
    store.revoke_hmac(username, now, by).await?;
    println!(
        "HMAC credential {username} revoked (running servers stop accepting it within {cache_secs} s)"
    );
    Ok(())
}

/// `program disable PROGRAM` (`disabled`) or `program enable PROGRAM`.
#[allow(clippy::print_stdout)]
pub async fn set_disabled(
    store: &SqlStore,
    by: &OperatorAction,
    program_text: &str,
    disabled: bool,
    cache_secs: u64,
    now: DateTime<Utc>,
) -> Result<(), Box<dyn std::error::Error>> {
    let program = program(program_text)?;
    let changed = store
        .set_program_disabled(program, disabled, now, by)
        .await?;
    let state = if disabled { "disabled" } else { "enabled" };
    if changed {
        println!(
            "program {program} {state} (running servers follow within {cache_secs} s: a disabled program's requests answer 401)"
        );
    } else {
        println!("program {program} was already {state}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_parse_with_units() {
        assert_eq!(parse_overlap("24h"), Ok(Duration::hours(24)));
        assert_eq!(parse_overlap("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_overlap("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_overlap("45s"), Ok(Duration::seconds(45)));
        assert_eq!(parse_overlap("0"), Ok(Duration::zero()));
        assert_eq!(parse_overlap("0h"), Ok(Duration::zero()));
        for bad in ["", "h", "24", "24x", "-1h", "1.5h", "99999999999999999d"] {
            assert!(parse_overlap(bad).is_err(), "{bad}");
        }
    }
}
