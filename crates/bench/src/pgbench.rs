//! PostgreSQL's own rate, from `pgbench` in a separate process, for the statements the
//! service runs (issue 17, item 5): the one-row insert of the limit, a create's whole
//! transaction as the service issues it, and a get's select. The service's figures are judged
//! against these, at the same connection count and in the same run.
//!
//! The statements are those PostgreSQL logs (`log_statement = 'all'`) for a create without
//! `Idempotency-Key` and for a get by id, with the same columns, the same joins and the same
//! order; only the values differ (made by pgbench: ids of a UUID's form, one `meta_data`
//! entry, an event body of the service's size). A create's transaction:
//!
//! ```text
//! BEGIN;
//! WITH INSERT seen_signatures, INSERT users (30 columns),
//!      upsert program_user_counts (one of 16 shards), INSERT user_meta_data, INSERT events
//!   SELECT the program's enabled webhook endpoints;
//! COMMIT
//! ```
//!
//! (the statements of a batch of creates, `storage`'s `users/fold.rs`, with one create). It
//! is one create per commit: the service commits a batch of the creates waiting at once
//! (`storage::group`), so it can pass this figure; that is the point of the batching.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Row as _};

use crate::report::Row;
use crate::stats::{CpuMark, Summary};

/// Where pgbench is, if installed.
pub(crate) const PGBENCH: &str = "/usr/bin/pgbench";

/// pgbench's figures.
pub(crate) struct Pgbench {
    pub(crate) tps: f64,
    pub(crate) latency_avg_ms: f64,
    pub(crate) failed: u64,
    pub(crate) machine_busy: Option<f64>,
}

/// A script and the variables it needs (`-D name=value`).
pub(crate) struct Script {
    pub(crate) name: &'static str,
    pub(crate) text: String,
    pub(crate) defines: Vec<(String, String)>,
}

/// The columns of `users` in the order the service inserts and selects them.
const USER_COLUMNS: [&str; 30] = [
    "id",
    "program_id",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "email_key",
    "phone_number",
    "address_one",
    "address_two",
    "city",
    "state",
    "country",
    "postal_code",
    "username",
    "username_key",
    "date_of_birth",
    "ssn_ciphertext",
    "ssn_key_id",
    "ssn_blind_index",
    "ssn_last_4",
    "terms_accepted_at",
    "status",
    "kyc_status",
    "created_at",
    "updated_at",
    "search_text",
    "first_name_folded",
    "last_name_folded",
    "screening_status",
];

/// The limit's one-row insert into `bench_limit` (autocommit).
pub(crate) fn one_row_insert(program: &str) -> Script {
    Script {
        name: "insert",
        text: format!(
            "INSERT INTO bench_limit (id, program_id, first_name, last_name, email_key, phone_number, created_at) \
             VALUES (gen_random_uuid()::text, '{program}', 'Alex', 'Rivera', gen_random_uuid()::text || '@example.com', \
             '+15555551234', (extract(epoch from clock_timestamp()) * 1000)::bigint);\n"
        ),
        defines: Vec::new(),
    }
}

/// A create's transaction for `program` (a program of the service's database), numbering its
/// users 1, 2, … per client in ids of a UUID's form ([`uuid_shaped`]; `run` keeps the runs of
/// one benchmark apart).
pub(crate) fn create_transaction(program: &str, run: usize) -> Script {
    let now = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
    let uid = uuid_shaped("8", ":client_id");
    let email =
        "'pgb' || :run::text || '-' || :client_id::text || '-' || :i::text || '@example.com'";
    let username = "'pgb' || :run::text || 'x' || :client_id::text || 'x' || :i::text";
    // The event body the service writes for the bench's users is about 1 KiB of JSON.
    let body = format!(
        r#"{{"actor":"api_key:0123456789abcdef","created_at":"2026-11-30T00:00:00.000Z","data":{{"object":{{"address_one":"100 Innovation Way","address_two":"Suite 100","city":"Anytown","country":"US","created_at":"2026-11-30T00:00:00.000Z","date_of_birth":"1980-04-20","email":"pgb@example.com","first_name":"Alex","id":"user-00000000-0000-0000-0000-000000000000","kyc_status":"not_started","last_name":"Rivera","meta_data":[{{"name":"external_ref","value":"customer-1"}}],"middle_name":null,"phone_number":"+15555551234","postal_code":"30044","ssn_last_4":"6789","state":"TX","status":"active","terms_accepted":true,"updated_at":"2026-11-30T00:00:00.000Z","username":"pgb","uuid":"00000000-0000-0000-0000-000000000000"}},"previous":{{}}}},"id":"evt-00000000-0000-0000-0000-000000000000","program_id":"{program}","request":{{"id":"00000000-0000-0000-0000-000000000000","idempotency_key":null}},"sequence":1,"type":"user.created"}}"#
    );
    let values = user_values(&uid, email, username, now);
    let user: Vec<(&str, &str)> = USER_COLUMNS
        .iter()
        .zip(&values)
        .map(|(c, v)| (*c, v.as_str()))
        .collect();
    let signature = "'pgs-' || :run::text || '-' || :client_id::text || '-' || :i::text";
    let expires = format!("{now} + 360000");
    let meta_value = "'customer-' || :i::text";
    let event = uuid_shaped("9", ":client_id");
    let writes = [
        recordset(
            "seen_signatures",
            &[
                ("signature_digest", signature),
                ("program_id", ":program"),
                ("expires_at", &expires),
            ],
            "",
        ),
        recordset("users", &user, ""),
        recordset(
            "program_user_counts",
            &[
                ("program_id", ":program"),
                ("shard", ":shard"),
                ("users", "1"),
            ],
            " ON CONFLICT (\"program_id\", \"shard\") DO UPDATE SET \"users\" = \"program_user_counts\".\"users\" + EXCLUDED.\"users\"",
        ),
        recordset(
            "user_meta_data",
            &[
                ("user_id", &uid),
                ("position", "0"),
                ("name", "'external_ref'"),
                ("value", meta_value),
            ],
            "",
        ),
        recordset(
            "events",
            &[
                ("id", &event),
                ("program_id", ":program"),
                ("entity_type", "'user'"),
                ("entity_id", &uid),
                ("sequence", "1"),
                ("event_type", "'user.created'"),
                ("body", ":body"),
                ("created_at", now),
            ],
            "",
        ),
    ];
    let mut text = String::from("\\set i :i + 1\n\\set shard random(0, 15)\nBEGIN;\nWITH ");
    for (n, write) in writes.iter().enumerate() {
        if n > 0 {
            text.push_str(", ");
        }
        let _ = write!(text, "w{n} AS ({write})");
    }
    text.push_str(
        " SELECT \"webhook_endpoints\".\"id\", \"webhook_endpoints\".\"program_id\", \"webhook_endpoints\".\"event_types\" \
         FROM \"webhook_endpoints\" WHERE \"webhook_endpoints\".\"program_id\" IN (:program) AND \"webhook_endpoints\".\"status\" = 'enabled';\n",
    );
    text.push_str("COMMIT;\n");
    Script {
        name: "create",
        text,
        defines: vec![
            ("program".into(), program.into()),
            ("run".into(), run.to_string()),
            ("i".into(), "0".into()),
            // A parameter, as the service sends it (pgbench would read `:00` in it as a variable).
            ("body".into(), body),
        ],
    }
}

/// The values of a user row of [`create_transaction`], in [`USER_COLUMNS`]' order.
fn user_values(uid: &str, email: &str, username: &str, now: &str) -> [String; USER_COLUMNS.len()] {
    [
        uid.to_owned(),
        ":program".to_owned(),
        "'Alex'".to_owned(),
        "NULL".to_owned(),
        "'Rivera'".to_owned(),
        email.to_owned(),
        email.to_owned(),
        "'+15555551234'".to_owned(),
        "'100 Innovation Way'".to_owned(),
        "'Suite 100'".to_owned(),
        "'Anytown'".to_owned(),
        "'TX'".to_owned(),
        "'US'".to_owned(),
        "'30044'".to_owned(),
        username.to_owned(),
        username.to_owned(),
        "'1980-04-20'".to_owned(),
        // A ciphertext of the service's size (49 bytes).
        "'a910a9e74fa9ca9fdfedc9f9ae89742aaf6cd1907fc0be0dd369819ba6237d82dbb4f9bac5a91e44beb07efb49c3ddece7'"
            .to_owned(),
        "'kb10b7517'".to_owned(),
        "md5(:run::text || '-' || :client_id::text || '-' || :i::text) || md5(:i::text || '-' || :client_id::text)".to_owned(),
        "'6789'".to_owned(),
        now.to_owned(),
        "'active'".to_owned(),
        "'not_started'".to_owned(),
        now.to_owned(),
        now.to_owned(),
        format!("'alexrivera' || {email} || {username} || '+15555551234'"),
        "'alex'".to_owned(),
        "'rivera'".to_owned(),
        "'not_screened'".to_owned(),
    ]
}

/// A one-row insert into `table` as the service writes a batch's rows (storage's
/// `recordset.rs`): the rows one JSON array, read by `json_to_recordset`. The array is built
/// by the statement here (pgbench has no JSON of its own); the service sends it as a
/// parameter. `columns`: name and SQL value; `rest`: a conflict clause.
fn recordset(table: &str, columns: &[(&str, &str)], rest: &str) -> String {
    let names = columns
        .iter()
        .map(|(c, _)| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let read = columns
        .iter()
        .map(|(c, _)| match *c {
            "ssn_ciphertext" => format!("decode(r.\"{c}\", 'hex')"),
            _ => format!("r.\"{c}\""),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let object = columns
        .iter()
        .map(|(c, v)| format!("'{c}', ({v})::{}", record_type(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let types = columns
        .iter()
        .map(|(c, _)| format!("\"{c}\" {}", record_type(c)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO \"{table}\" ({names}) SELECT {read} FROM \
         json_to_recordset(json_build_array(json_build_object({object}))) AS r({types}){rest}"
    )
}

/// The type a column of [`create_transaction`] is read as from its JSON.
fn record_type(column: &str) -> &'static str {
    match column {
        "expires_at" | "terms_accepted_at" | "created_at" | "updated_at" | "users" | "sequence" => {
            "bigint"
        }
        "shard" | "position" => "integer",
        _ => "text",
    }
}

/// A get's select of a random user among the first `per_client` of each of `clients` clients
/// of [`create_transaction`]'s `run`.
pub(crate) fn get_select(program: &str, run: usize, clients: usize, per_client: u64) -> Script {
    let mut columns: Vec<String> = USER_COLUMNS
        .iter()
        .map(|c| format!("\"users\".\"{c}\" AS \"A_{c}\""))
        .collect();
    columns.extend(
        ["user_id", "position", "name", "value"]
            .iter()
            .map(|c| format!("\"user_meta_data\".\"{c}\" AS \"B_{c}\"")),
    );
    let text = format!(
        "\\set c random(0, {})\n\\set i random(1, {})\n\
         SELECT {} FROM \"users\" LEFT JOIN \"user_meta_data\" ON \"user_meta_data\".\"user_id\" = \"users\".\"id\" \
         WHERE \"users\".\"id\" = {} AND \"users\".\"program_id\" = :program \
         ORDER BY \"user_meta_data\".\"position\" ASC;\n",
        clients.max(1) - 1,
        per_client.max(1),
        columns.join(", "),
        uuid_shaped("8", ":c")
    );
    Script {
        name: "get",
        text,
        defines: vec![
            ("program".into(), program.into()),
            ("run".into(), run.to_string()),
        ],
    }
}

/// An id in the form of a UUID (what the service's readers parse) built from the run, the
/// client and its counter: `RRRRRRRR-0000-7000-{kind}CCC-IIIIIIIIIIII`, all decimal digits, so
/// a get can name a user the create transaction inserted. `kind` keeps users (8) and events
/// (9) apart.
fn uuid_shaped(kind: &str, client: &str) -> String {
    format!(
        "lpad(:run::text, 8, '0') || '-0000-7000-{kind}' || lpad({client}::text, 3, '0') || '-' || lpad(:i::text, 12, '0')"
    )
}

/// The users [`create_transaction`]'s `run` inserted with `clients` clients: the fewest any
/// client inserted (each client numbers its own from 1), 0 if a client inserted none.
pub(crate) async fn created_per_client(url: &str, run: usize, clients: usize) -> Result<u64> {
    let mut db = PgConnection::connect(url).await?;
    let row = sqlx::query(
        "SELECT COUNT(*), COALESCE(MIN(n), 0) FROM (SELECT substr(id, 21, 3) AS c, COUNT(*) AS n \
         FROM users WHERE id LIKE $1 GROUP BY 1) t",
    )
    .bind(format!("{run:08}-0000-7000-8%"))
    .fetch_one(&mut db)
    .await?;
    let (groups, fewest): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    if usize::try_from(groups).unwrap_or(0) < clients {
        return Ok(0);
    }
    Ok(u64::try_from(fewest).unwrap_or(0))
}

/// The program pgbench's create transaction writes into (created by the bench, not the
/// measured program, whose listings must hold only the service's own users).
pub(crate) const PROGRAM_NAME: &str = "pgbench";

/// The id of the program called `name` in the service's database.
pub(crate) async fn program_id(url: &str, name: &str) -> Result<String> {
    let mut db = PgConnection::connect(url).await?;
    sqlx::query("SELECT id FROM programs WHERE name = $1 ORDER BY created_at LIMIT 1")
        .bind(name)
        .fetch_one(&mut db)
        .await?
        .try_get(0)
        .with_context(|| format!("no program {name} in the benchmark's database"))
}

/// `pgbench -n -M prepared -c N -j 2 -T secs -f <script>` against `url`.
pub(crate) fn run(
    url: &str,
    dir: &Path,
    script: &Script,
    connections: usize,
    secs: u64,
) -> Result<Pgbench> {
    let file = dir.join(format!("pgbench-{}.sql", script.name));
    std::fs::write(&file, &script.text)?;
    let threads = connections.min(2);
    let start = CpuMark::now(None);
    let mut command = std::process::Command::new(PGBENCH);
    command
        .args(["-n", "-M", "prepared"])
        .args(["-c", &connections.to_string(), "-j", &threads.to_string()])
        .args(["-T", &secs.max(1).to_string()]);
    for (name, value) in &script.defines {
        command.arg("-D").arg(format!("{name}={value}"));
    }
    let out = command
        .arg("-f")
        .arg(&file)
        .arg(url)
        .output()
        .context("running pgbench")?;
    let mut busy = Summary::default();
    start.apply(CpuMark::now(None), &mut busy);
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench ({}) failed: {}{}",
            script.name,
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let number_after = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    Ok(Pgbench {
        tps: number_after("tps = ").context("no tps in pgbench's output")?,
        latency_avg_ms: number_after("latency average = ").unwrap_or(0.0),
        failed: number_after("number of failed transactions: ").map_or(0, |f| f as u64),
        machine_busy: busy.machine_busy,
    })
}

/// Whether pgbench is installed.
pub(crate) fn available() -> bool {
    Path::new(PGBENCH).exists()
}

/// pgbench's figures as a row of the report (`secs` of measurement).
pub(crate) fn row(db: &str, scenario: &str, connections: usize, p: &Pgbench, secs: u64) -> Row {
    let mut summary = Summary {
        per_second: p.tps,
        machine_busy: p.machine_busy,
        requests: (p.tps * secs as f64) as u64,
        ..Summary::default()
    };
    if p.failed > 0 {
        summary.statuses.insert(500, p.failed);
    }
    Row {
        db: db.into(),
        scenario: scenario.into(),
        connections,
        summary,
        rss: None,
        note: format!(
            "pgbench -j 2 -M prepared; latency avg {:.2} ms",
            p.latency_avg_ms
        ),
    }
}
