//! Runs the `onboard` binary as an operator would, against a test database, with the keys
//! the test generated (shared by the CLI tests).

use std::process::Command;

/// `onboard ARGS` with `url` as its database and `keys` (data key, blind-index key) as its
/// keyring; `user`: the OS user it records as the actor (`None`: none set). Answers
/// (success, stdout, stderr).
pub(crate) fn onboard(
    url: &str,
    keys: &(String, String),
    user: Option<&str>,
    args: &[&str],
) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_onboard"));
    command
        .args(args)
        .env("DATABASE_URL", url)
        .env("ONBOARD_DATA_KEYS", &keys.0)
        .env("ONBOARD_ACTIVE_KEY", "k1")
        .env("ONBOARD_BLIND_INDEX_KEY", &keys.1)
        .env("ONBOARD_LOG_FORMAT", "json")
        .env_remove("LOGNAME");
    match user {
        Some(user) => command.env("USER", user),
        None => command.env_remove("USER"),
    };
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
