"""Schemathesis hooks for Onboard: sign every generated request like the Rust client does.

Loaded by `.ci/schemathesis/run.sh` through `SCHEMATHESIS_HOOKS`. Each request that
schemathesis sends is signed as `crates/client` signs it (SPEC §2.1 and §2.2): a fresh
`X-Date` (RFC 7231 IMF-fixdate), a fresh UUIDv4 `x-request-id`, the program's `api_key`
header, `Content-SHA512` and `Content-Length` of the exact body bytes that go on the wire,
and `Authorization: hmac …` over `request-line x-date content-type content-sha512
content-length api_key x-request-id` (`client::http::CLIENT_SIGNED`). The signature is
computed by a `requests` auth handler, which runs after `requests` has serialised the body,
so whatever schemathesis generates (non-JSON bodies, no body, odd content types) is signed
as sent. A `content-type` that the request does not carry, or that is not visible ASCII
(which the server cannot read), is left out of the signed list, so that the server judges
the request itself (415) instead of its signature.

Credentials: ONBOARD_API_KEY, ONBOARD_HMAC_USERNAME, ONBOARD_HMAC_SECRET.

`python3 hooks.py --self-test` reproduces every vector of the shared signing vectors with
the same functions (no schemathesis needed); `python3 hooks.py --probe BASE_URL` sends one
signed request and fails unless the server accepts it; `python3 hooks.py --seed-data
BASE_URL FILE` creates a business and users and writes their ids to FILE, which the hook
reads from ONBOARD_ST_IDS (see "Real ids" below). With ONBOARD_ST_STATS set to a file name,
the hook writes the number of requests it signed and their response statuses there when the
process exits.
"""

from __future__ import annotations

import atexit
import base64
import collections
import email.utils
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import uuid
from pathlib import Path
from typing import Callable, Iterable, Mapping, MutableMapping

ALGORITHM = "hmac-sha512"
REQUEST_LINE = "request-line"
# `client::http::CLIENT_SIGNED`, in this order.
CLIENT_SIGNED = (
    REQUEST_LINE,
    "x-date",
    "content-type",
    "content-sha512",
    "content-length",
    "api_key",
    "x-request-id",
)
# Guards the statistics and the ids seen, which the schemathesis workers (threads) share.
_stats_lock = threading.Lock()
# Where the shared vectors live, relative to the repository root (`../shared` beside it).
VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "hmac-signing.json"


# --- The signing functions (SPEC §2.1), mirroring crates/client/src/signing.rs ---------------


def content_sha512(body: bytes) -> str:
    """Standard Base64 (with padding) of the raw 64-byte SHA-512 of the exact body bytes."""
    return base64.b64encode(hashlib.sha512(body).digest()).decode("ascii")


def x_date(timestamp: float | None = None) -> str:
    """The RFC 7231 IMF-fixdate (RFC 1123, GMT), e.g. `Fri, 17 Jan 2020 19:59:29 GMT`."""
    return email.utils.formatdate(timestamp, usegmt=True)


def signing_string(
    method: str, path_and_query: str, signed: Iterable[str], headers: Mapping[str, str]
) -> str:
    """`request-line` gives `<METHOD> <path and query> HTTP/1.1`, any other name
    `<name>: <value>` (from `headers`, keyed by lowercase name); joined with `\\n`, no
    trailing newline. A signed header missing from `headers` is an error."""
    lines = []
    for name in signed:
        name = name.lower()
        if name == REQUEST_LINE:
            lines.append(f"{method} {path_and_query} HTTP/1.1")
        elif name in headers:
            lines.append(f"{name}: {headers[name]}")
        else:
            raise KeyError(f"the signed header {name} is missing from the request")
    return "\n".join(lines)


def sign(secret: bytes, text: str) -> str:
    """Standard Base64 (with padding) of HMAC-SHA512(secret, signing string)."""
    return base64.b64encode(hmac.new(secret, text.encode("utf-8"), hashlib.sha512).digest()).decode(
        "ascii"
    )


def authorization(username: str, signed: Iterable[str], signature: str) -> str:
    signed = " ".join(n.lower() for n in signed)
    return (
        f'hmac username="{username}", algorithm="{ALGORITHM}", '
        f'headers="{signed}", signature="{signature}"'
    )


def sign_request(
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    signed: Iterable[str],
    username: str,
    secret: bytes,
) -> tuple[str, str]:
    """The signing string and the Authorization value of a request with these headers."""
    signed = [n.lower() for n in signed]
    text = signing_string(method, path_and_query, signed, headers)
    return text, authorization(username, signed, sign(secret, text))


# --- Signing what schemathesis sends --------------------------------------------------------


def _readable(value: str) -> bool:
    """Whether the server can read this header value (actix `HeaderValue::to_str`: visible
    ASCII, space and tab)."""
    return all(c == "\t" or " " <= c <= "~" for c in value)


class Credentials:
    def __init__(self, api_key: str, username: str, secret: str) -> None:
        self.api_key = api_key
        self.username = username
        self.secret = secret.encode("utf-8")

    @classmethod
    def from_env(cls) -> "Credentials":
        names = ("ONBOARD_API_KEY", "ONBOARD_HMAC_USERNAME", "ONBOARD_HMAC_SECRET")
        missing = [n for n in names if not os.environ.get(n)]
        if missing:
            raise RuntimeError(f"schemathesis hooks: {', '.join(missing)} not set")
        return cls(*(os.environ[n] for n in names))

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, api_key=[redacted], secret=[redacted])"


class OnboardSigner:
    """A `requests` auth handler: called with the `PreparedRequest` once its body is final.

    `signed`, `now` and `request_id` exist for the self-test; by default the signer signs
    CLIENT_SIGNED with the current time and a fresh UUIDv4.
    """

    def __init__(
        self,
        credentials: Credentials,
        signed: Iterable[str] = CLIENT_SIGNED,
        now: Callable[[], float | None] = lambda: None,
        request_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.credentials = credentials
        self.signed = tuple(n.lower() for n in signed)
        self.now = now
        self.request_id = request_id

    def __call__(self, request):  # requests.PreparedRequest
        body = request.body
        if body is None:
            body = b""
        elif isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, (bytes, bytearray)):
            # A stream or file: read it, so that the bytes signed are the bytes sent.
            body = body.read() if hasattr(body, "read") else b"".join(body)
            if isinstance(body, str):
                body = body.encode("utf-8")
        body = bytes(body)
        request.body = body
        # Never chunked: the server hashes the bytes it receives, and needs their length.
        request.headers.pop("Transfer-Encoding", None)

        creds = self.credentials
        # Generated headers replace any that schemathesis produced under the same names.
        for name in ("Authorization", "X-Date", "Content-SHA512", "api_key", "x-request-id"):
            request.headers.pop(name, None)
        request.headers["X-Date"] = x_date(self.now())
        request.headers["Content-SHA512"] = content_sha512(body)
        request.headers["Content-Length"] = str(len(body))
        request.headers["api_key"] = creds.api_key
        request.headers["x-request-id"] = self.request_id()

        sent: dict[str, str] = {}
        for name, value in list(request.headers.items()):
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            # An HTTP parser drops surrounding spaces and tabs: sign and send the value as
            # the server will read it.
            value = value.strip(" \t")
            request.headers[name] = value
            sent[name.lower()] = value
        signed = [
            n
            for n in self.signed
            if n == REQUEST_LINE or (n in sent and _readable(sent[n]))
        ]
        _, auth = sign_request(
            request.method, request.path_url, sent, signed, creds.username, creds.secret
        )
        request.headers["Authorization"] = auth
        return request


# --- Real ids -------------------------------------------------------------------------------
#
# Ids drawn from their pattern almost never exist, so every operation on one would only ever
# answer 404. Most well-formed `user_id` and `business_id` values in generated bodies are
# therefore swapped for ids of users and businesses that `--seed-data` created before the run.
# A well-formed id is swapped for another well-formed id (its surrounding whitespace kept),
# so a case stays exactly as valid or invalid against the schema as it was generated; ids
# that do not match the pattern are never touched. The choice is a function of the generated
# value, so a seeded run stays reproducible; one in four is left alone to keep the 404 path.
# Ids that the server handed out (in any answer) are real already and are kept, so that the
# stateful phase, which follows the document's links, works on the entities it created.

ID_PATTERN = r"(user|buss)-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_ID_FIELD = {"user_id": "user", "business_id": "buss"}


def load_ids(path: str | None) -> dict[str, list[str]]:
    if not path:
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {"user": data.get("user_ids", []), "buss": data.get("business_ids", [])}


_seen_ids: set[str] = set()


def remember_ids(content: bytes) -> None:
    """Remembers the ids of the items of a success envelope."""
    try:
        items = json.loads(content)["data"]["items"]
    except (ValueError, KeyError, TypeError):
        return
    if isinstance(items, list):
        found = {v for i in items if isinstance(i, dict) for k, v in i.items()
                 if k in ("id", "user_id") and isinstance(v, str)}
        with _stats_lock:
            _seen_ids.update(found)


def swap_ids(body, ids: Mapping[str, list[str]]) -> bool:
    """Swaps well-formed ids in a body (a dict) for real ones; whether anything changed."""
    if not isinstance(body, MutableMapping):
        return False
    changed = False
    for field, prefix in _ID_FIELD.items():
        value = body.get(field)
        if not isinstance(value, str) or not ids.get(prefix):
            continue
        m = re.fullmatch(r"(\s*)(" + ID_PATTERN + r")(\s*)", value)
        if not m or m.group(3) != prefix:
            continue
        with _stats_lock:
            if m.group(2).lower() in _seen_ids:
                continue
        digest = hashlib.sha256(value.encode("utf-8")).digest()
        if digest[0] % 4 == 0:
            continue
        real = ids[prefix][int.from_bytes(digest[1:5], "big") % len(ids[prefix])]
        new = m.group(1) + real + m.group(4)
        if new != value:
            body[field] = new
            changed = True
    return changed


# Hypothesis draws the same few Idempotency-Key values over and over ("0", "00", …), and keys
# are scoped to the program, not the endpoint, so most changes would only ever meet 422
# `idempotency_key_reused`. Fifteen in sixteen keys that match the documented pattern are
# made distinct per endpoint and body: the same key with the same body to the same endpoint
# still maps to the same key (the replay path), another body to another key. The new key
# matches the pattern too, so validity is unchanged; keys that do not match it are never
# touched.
_KEY_HEADER = "idempotency-key"


def vary_idempotency_key(headers, body, endpoint: str = "") -> bool:
    if not isinstance(headers, MutableMapping):
        return False
    for name, value in list(headers.items()):
        if name.lower() != _KEY_HEADER or not isinstance(value, str):
            continue
        if not re.fullmatch(r"[ -~]{1,255}", value):
            continue
        sent = json.dumps(body, sort_keys=True, default=repr)
        digest = hashlib.sha256("\0".join((endpoint, value, sent)).encode("utf-8")).hexdigest()
        if int(digest[:2], 16) % 16 == 0:
            continue
        headers[name] = f"{value[:200]}~{digest[:32]}"
        return True
    return False


def seed_data(base_url: str, out: str) -> int:
    """Creates a business and three users (one ready for KYC and the business's customer,
    one its vendor, one blocked) and writes their ids to `out` as JSON."""
    import requests

    signer = OnboardSigner(Credentials.from_env())

    def post(path: str, body: dict) -> dict:
        url = base_url.rstrip("/") + "/api/v3" + path
        response = requests.post(
            url,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            auth=signer,
            timeout=30,
        )
        if response.status_code != 200:
            raise RuntimeError(f"seed: POST {path} answered {response.status_code}: {response.text}")
        return response.json()["data"]["items"][0]

    business = post("/business/create", {
        "business_name": "Seed Widgets LLC", "email": "ops@seed.example",
        "phone_number": "+15125550100", "business_address": "1 Commerce St", "city": "Austin",
        "state": "TX", "zipcode": "73301", "country": "US", "ein": "12-3456789",
        "business_type": "llc", "incorporated_date": "2015-06-01", "incorporated_state": "DE",
    })

    def user(n: int, **extra) -> dict:
        return post("/user/create", {
            "email": f"seed{n}@example.com", "first_name": "Seed", "last_name": "User",
            "phone_number": "+15125550101", "postal_code": "73301", "country": "US",
            "state": "TX", "city": "Austin", "address_one": f"{n} Main St",
            "username": f"seed{n}", **extra,
        })

    users = [
        user(1, date_of_birth="1980-04-20", ssn="123-45-6789", terms_accepted=True,
             business_id=business["id"], meta_data=[{"name": "ref", "value": "seed-1"}]),
        user(2, business_id=business["id"], is_vendor=True),
        user(3, date_of_birth="1990-01-02", ssn="234-56-7890", terms_accepted=True),
    ]
    post("/user/block", {"user_id": users[2]["id"], "reason": "seeded as blocked"})
    Path(out).write_text(json.dumps({
        "user_ids": [u["id"] for u in users],
        "business_ids": [business["id"]],
    }) + "\n", encoding="utf-8")
    print(f"seed: created 1 business and {len(users)} users")
    return 0


# --- Statistics -----------------------------------------------------------------------------

_statuses: collections.Counter[int] = collections.Counter()
# (operation, status, field, code) of refusals, to see which rules generated data breaks.
_refusals: collections.Counter[tuple[str, int, str, str]] = collections.Counter()


def _count(operation: str, status: int, body: bytes) -> None:
    items = []
    if status >= 400:
        try:
            items = [(e.get("field") or "", e.get("code") or "") for e in json.loads(body)["errors"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            items = [("", "?")]
    with _stats_lock:
        _statuses[status] += 1
        for field, code in items:
            # `meta_data[3].name` and `meta_data[0].name` are one rule.
            _refusals[(operation, status, re.sub(r"\[\d+\]", "[]", field), code)] += 1


def _write_stats() -> None:
    path = os.environ.get("ONBOARD_ST_STATS")
    if not path:
        return
    with _stats_lock:
        data = {
            "requests": sum(_statuses.values()),
            "statuses": {str(k): v for k, v in sorted(_statuses.items())},
            "refusals": [
                {"operation": op, "status": st, "field": f, "code": c, "count": n}
                for (op, st, f, c), n in _refusals.most_common()
            ],
        }
    Path(path).write_text(json.dumps(data) + "\n", encoding="utf-8")


# --- The schemathesis hooks -----------------------------------------------------------------


def _register_hooks() -> None:
    import schemathesis

    signer = OnboardSigner(Credentials.from_env())
    ids = load_ids(os.environ.get("ONBOARD_ST_IDS"))

    @schemathesis.hook
    def before_call(context, case, kwargs):
        swap_ids(case.body, ids)
        vary_idempotency_key(case.headers, case.body, case.operation.path)
        # `kwargs` go to `requests.Session.request`: its `auth` handler runs on the prepared
        # request, after the body is serialised and before it is sent.
        kwargs["auth"] = signer

    @schemathesis.hook
    def after_call(context, case, response):
        _count(case.operation.label, response.status_code, response.content or b"")
        if response.status_code == 200:
            remember_ids(response.content or b"")

    atexit.register(_write_stats)


# --- Self-test and probe --------------------------------------------------------------------


def self_test(vectors_path: Path = VECTORS) -> int:
    """Reproduces every vector with the functions above, both directly and through the
    signer on a `requests.PreparedRequest`. Returns the number of failures."""
    vectors = json.loads(vectors_path.read_text(encoding="utf-8"))["vectors"]
    failures = 0

    def check(name: str, what: str, got: str, expected: str) -> None:
        nonlocal failures
        if got != expected:
            failures += 1
            print(f"FAIL {name}: {what}\n  got:      {got!r}\n  expected: {expected!r}")

    for v in vectors:
        name = v["name"]
        body = v["body"].encode("utf-8")
        headers = {
            "x-date": v["x_date"],
            "content-type": "application/json",
            "content-sha512": content_sha512(body),
            "content-length": str(len(body)),
        }
        headers.update({k.lower(): val for k, val in v["extra_headers"].items()})
        check(name, "content-sha512", headers["content-sha512"], v["expected_content_sha512"])
        text, auth = sign_request(
            v["method"], v["path"], headers, v["signed_headers"], v["username"],
            v["secret"].encode("utf-8"),
        )
        check(name, "signing string", text, v["expected_signing_string"])
        check(name, "authorization", auth, v["expected_authorization"])

        # The same vector through the signer, as schemathesis's requests go.
        try:
            import requests
        except ImportError:
            continue
        api_key = v["extra_headers"].get("api_key", "unused")
        signer = OnboardSigner(
            Credentials(api_key, v["username"], v["secret"]),
            signed=v["signed_headers"],
            now=lambda d=v["x_date"]: email.utils.parsedate_to_datetime(d).timestamp(),
        )
        prepared = requests.Request(
            v["method"],
            "http://127.0.0.1:1" + v["path"],
            data=body,
            headers={"Content-Type": "application/json"},
            auth=signer,
        ).prepare()
        check(name, "signer: authorization", prepared.headers["Authorization"],
              v["expected_authorization"])
        check(name, "signer: body", prepared.body, body)

    # The signer signs CLIENT_SIGNED, drops an absent content-type, and signs an empty body.
    try:
        import requests
    except ImportError:
        print("note: requests is not installed; the signer was not tested")
    else:
        creds = Credentials("ak", "u", "k")
        prepared = requests.Request(
            "POST", "http://127.0.0.1:1/api/v3/user/get?x=1", data=b"", auth=OnboardSigner(creds)
        ).prepare()
        h = {k.lower(): v for k, v in prepared.headers.items()}
        expected_list = [n for n in CLIENT_SIGNED if n != "content-type"]
        text = signing_string("POST", "/api/v3/user/get?x=1", expected_list, h)
        check("signer-empty-body", "authorization", h["authorization"],
              authorization("u", expected_list, sign(b"k", text)))
        check("signer-empty-body", "content-length", h["content-length"], "0")
        check("signer-empty-body", "content-sha512", h["content-sha512"], content_sha512(b""))
        uuid.UUID(h["x-request-id"])
        email.utils.parsedate_to_datetime(h["x-date"])

    print(f"self-test: {len(vectors)} vectors, {failures} failure(s)")
    return failures


def probe(base_url: str) -> int:
    """One signed request the server must accept (200): proves the signer before a run."""
    import requests

    url = base_url.rstrip("/") + "/api/v3/user/get-all"
    response = requests.post(
        url,
        data=b'{"per_page":1}',
        headers={"Content-Type": "application/json"},
        auth=OnboardSigner(Credentials.from_env()),
        timeout=30,
    )
    if response.status_code != 200:
        print(f"probe: POST {url} answered {response.status_code}: {response.text}")
        return 1
    print(f"probe: a signed POST {url} answered 200")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--self-test"]:
        path = Path(sys.argv[2]) if len(sys.argv) > 2 else VECTORS
        sys.exit(1 if self_test(path) else 0)
    if sys.argv[1:2] == ["--probe"] and len(sys.argv) == 3:
        sys.exit(probe(sys.argv[2]))
    if sys.argv[1:2] == ["--seed-data"] and len(sys.argv) == 4:
        sys.exit(seed_data(sys.argv[2], sys.argv[3]))
    print(__doc__)
    sys.exit(2)
else:
    _register_hooks()
