#!/usr/bin/env bash
# A fixed fuzzing budget (issue 15, item 7; docs/fuzzing.md): builds the cargo-fuzz targets of
# fuzz/ and runs each for FUZZ_SECONDS (default 20) from its committed seeds plus the corpus
# kept in fuzz/corpus/ between runs. Fails on the first crash, panic, timeout or OOM; the input
# is left in fuzz/artifacts/<target>/.
#
#   bash .ci/fuzz.sh                 # every target, 20 s each
#   FUZZ_SECONDS=600 bash .ci/fuzz.sh body x_date
#
# Only stable Rust exists here: with the sanitizer off (-s none) cargo-fuzz passes stable -C flags
# only; RUSTC_BOOTSTRAP=1 is set as in every recorded run (docs/fuzzing.md). The crates forbid
# unsafe code, so AddressSanitizer would only slow the search down. -a keeps debug assertions and
# overflow checks on.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${FUZZ_SECONDS:-20}"
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=(authorization x_date body domain_user business queries)
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
FLAGS=(--sanitizer none --debug-assertions)

dict_of() {
  case "$1" in
    body | business | queries) echo "-dict=fuzz/dict/json.dict" ;;
    authorization) echo "-dict=fuzz/dict/authorization.dict" ;;
    x_date) echo "-dict=fuzz/dict/x_date.dict" ;;
    *) echo "" ;;
  esac
}

start=$(date +%s)
cargo fuzz build "${FLAGS[@]}"
echo "fuzz: built in $(($(date +%s) - start)) s"

for target in "${TARGETS[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  dict=$(dict_of "$target")
  echo "fuzz: $target for ${SECONDS_EACH} s"
  log="fuzz/artifacts/$target.log"
  mkdir -p fuzz/artifacts
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: over 2 GiB is a leak.
  status=0
  cargo fuzz run "${FLAGS[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    ${dict:+"$dict"} >"$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  if [ "$status" -ne 0 ]; then
    grep -v -E '^(#[0-9]+|INFO:|WARNING:)' "$log" | tail -40 >&2
    echo "fuzz: $target FAILED (exit $status); the input is in fuzz/artifacts/$target/, the log in $log" >&2
    exit 1
  fi
done
echo "fuzz: ${#TARGETS[@]} targets, ${SECONDS_EACH} s each, no crash; $(($(date +%s) - start)) s in all"
