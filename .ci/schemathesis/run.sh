#!/usr/bin/env bash
# Schemathesis against a live `onboard serve` on a fresh SQLite database. Every generated
# request, with positive and negative data, is signed with a real program's credentials by
# hooks.py (as crates/client signs), and every answer must pass not_a_server_error,
# response_schema_conformance, status_code_conformance and negative_data_rejection, plus
# content_type_conformance and response_headers_conformance. Prints the number of generated
# test cases; exits non-zero on any failure, on any 401 (a request the hook signed wrongly)
# or 5xx, and when no request at all was accepted.
#
#   bash .ci/schemathesis/run.sh            # from any directory
#
# Environment (all optional): ONBOARD_ST_MAX_EXAMPLES (per operation and phase, default
# 300), ONBOARD_ST_SEED (default 20261129), ONBOARD_ST_WORKERS (default 2),
# ONBOARD_ST_EXTRA_CHECKS (the checks beside the four required ones, comma-separated),
# ONBOARD_ST_KEEP=1 to keep the temporary directory (server log, database, statistics),
# ONBOARD_SIGNING_VECTORS (default ../shared/vectors/hmac-signing.json beside the repository).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

max_examples=${ONBOARD_ST_MAX_EXAMPLES:-300}
seed=${ONBOARD_ST_SEED:-20261129}
workers=${ONBOARD_ST_WORKERS:-2}
extra_checks=${ONBOARD_ST_EXTRA_CHECKS-content_type_conformance,response_headers_conformance,unsupported_method,allow_header_conformance,ensure_resource_availability}
vectors=${ONBOARD_SIGNING_VECTORS:-$root/../shared/vectors/hmac-signing.json}
target_dir=${CARGO_TARGET_DIR:-$root/target}
venv=$target_dir/schemathesis-venv
started=$SECONDS
# No __pycache__ beside hooks.py in the work tree.
export PYTHONDONTWRITEBYTECODE=1

say() { echo "schemathesis: $*"; }

# 1. The pinned schemathesis, in a venv rebuilt whenever requirements.txt changes.
want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null || true)" != "$want" ]; then
  say "installing $(grep -m1 '^schemathesis==' "$here/requirements.txt") into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$here/requirements.txt"
  echo "$want" >"$venv/.requirements.sha256"
fi
py=$venv/bin/python
say "$("$venv/bin/schemathesis" --version)"

# 2. The signer reproduces every shared vector.
"$py" "$here/hooks.py" --self-test "$vectors"

# 3. The server, on a fresh SQLite database in a temporary directory.
cargo build -q -p api --bin onboard
bin=$target_dir/debug/onboard

tmp=$(mktemp -d "${TMPDIR:-/tmp}/onboard-schemathesis.XXXXXX")
server_pid=
cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$tmp/server.log" ]; then
    say "last lines of the server log:"
    tail -n 20 "$tmp/server.log" >&2 || true
  fi
  if [ "${ONBOARD_ST_KEEP:-}" = 1 ]; then
    say "kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Only this run's configuration: no file, no keys from the caller's environment.
unset ONBOARD_CONFIG ONBOARD_DATA_KEYS ONBOARD_ACTIVE_KEY ONBOARD_BLIND_INDEX_KEY
export DATABASE_URL="sqlite://$tmp/onboard.sqlite?mode=rwc"
export ONBOARD_KEY_FILE=$tmp/keys.toml
export ONBOARD_BIND=127.0.0.1:0
export ONBOARD_LOG_FORMAT=json
export ONBOARD_SQLITE_SYNCHRONOUS=normal
# Never throttle the fuzzer: a 429 would hide what the request itself gets.
export ONBOARD_RATE_LIMIT_PER_SECOND=1000000
export ONBOARD_RATE_LIMIT_BURST=1000000
export ONBOARD_AUTH_FAILURES_PER_MINUTE=1000000
export ONBOARD_AUTH_FAILURES_BURST=1000000

"$bin" serve >"$tmp/server.log" 2>&1 &
server_pid=$!

# The port the server took (it binds port 0 and logs the address).
port=
for _ in $(seq 1 600); do
  port=$(grep '"onboard listening"' "$tmp/server.log" \
    | sed -n 's/.*"addr":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' | head -n1 || true)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { say "the server exited"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { say "the server did not start listening"; exit 1; }
base=http://127.0.0.1:$port
ready=
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || { say "$base/readyz never answered 200"; exit 1; }
say "server ready at $base"

# 4. A program whose credentials sign every request (they are never printed), a probe that
# the server accepts the hook's signature, and users and a business for the operations that
# need existing ids (hooks.py, "Real ids").
"$bin" program create --name schemathesis --json >"$tmp/program.json" 2>>"$tmp/cli.log"
"$py" - "$tmp/program.json" >"$tmp/credentials.sh" <<'EOF'
import json, shlex, sys
p = json.load(open(sys.argv[1]))
for var, key in (("ONBOARD_API_KEY", "api_key"), ("ONBOARD_HMAC_USERNAME", "hmac_username"),
                 ("ONBOARD_HMAC_SECRET", "hmac_secret")):
    print(f"export {var}={shlex.quote(p[key])}")
EOF
# shellcheck disable=SC1091
. "$tmp/credentials.sh"
"$py" "$here/hooks.py" --probe "$base"
"$py" "$here/hooks.py" --seed-data "$base" "$tmp/ids.json"
export ONBOARD_ST_IDS=$tmp/ids.json

# 5. The run: every phase (examples, coverage, fuzzing, stateful along the document's links),
# positive and negative data.
checks=not_a_server_error,response_schema_conformance,status_code_conformance,negative_data_rejection
checks=$checks${extra_checks:+,$extra_checks}
say "mode all, checks $checks, at most $max_examples examples per operation, seed $seed"
set +e
(
  cd "$tmp"
  SCHEMATHESIS_HOOKS="$here/hooks.py" ONBOARD_ST_STATS="$tmp/stats.json" \
    "$venv/bin/schemathesis" run "$base/openapi.json" \
    --checks "$checks" \
    --mode all \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --workers "$workers" \
    --generation-with-security-parameters false \
    --generation-database none \
    --request-timeout 30 \
    --no-color
) 2>&1 | tee "$tmp/schemathesis.log"
status=${PIPESTATUS[0]}
set -e

# 6. What was sent: every request signed well (no 401), some accepted, none a 5xx.
if [ ! -f "$tmp/stats.json" ]; then
  say "the hook wrote no statistics"
  exit 1
fi
read -r requests ok unauthorized server_errors statuses < <("$py" - "$tmp/stats.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
st = {int(k): v for k, v in s["statuses"].items()}
print(s["requests"], st.get(200, 0), st.get(401, 0), sum(v for k, v in st.items() if k >= 500),
      " ".join(f"{k}:{v}" for k, v in sorted(st.items())))
EOF
)
cases=$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$tmp/schemathesis.log" | tail -n1)
say "${cases:-?} test cases generated; $requests signed requests answered $statuses; $((SECONDS - started)) s in all"
if [ "$unauthorized" -ne 0 ]; then
  say "FAILED: $unauthorized requests were refused with 401: the hook signed them wrongly"
  status=1
fi
if [ "$ok" -eq 0 ]; then
  say "FAILED: no request was accepted (200)"
  status=1
fi
if [ "$server_errors" -ne 0 ]; then
  say "FAILED: $server_errors answers were 5xx"
  status=1
fi
if [ "$status" -eq 0 ]; then
  say "passed"
else
  say "FAILED (exit $status)"
fi
exit "$status"
