//! What a server says about its configuration as it starts.

use storage::testing::Backend;

/// The `sandbox` verifier decides KYC cases by test rules that verify almost everyone: a
/// server started with it says so in a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_verifier_is_announced_with_a_warning() {
    // The test settings use the sandbox verifier.
    let app = tests::spawn_app(Backend::Sqlite).await.unwrap();
    assert!(tests::logs_contain(
        "KYC cases are decided by test rules that verify almost everyone"
    ));
    assert!(tests::logs_contain("\"level\":\"WARN\""));
    app.cleanup().await;
}
