"""Sends one fixed sequence of signed requests to an onboard server and prints each answer
(status, the headers that matter, the body with generated ids and times masked), so that two
builds can be compared byte for byte (see README.md)."""
import base64, hashlib, hmac, json, re, sys, time, uuid, urllib.request, email.utils, http.client

def sign_headers(path, body, user, secret, api_key, extra=None, names=None, date=None):
    h = {"x-date": email.utils.formatdate(date or time.time(), usegmt=True),
         "content-type": "application/json",
         "content-sha512": base64.b64encode(hashlib.sha512(body).digest()).decode(),
         "content-length": str(len(body)),
         "x-request-id": str(uuid.uuid4())}
    if api_key is not None:
        h["api_key"] = api_key
    for k, v in (extra or {}).items():
        h[k] = v
    names = names or ["request-line", "x-date", "content-type", "content-sha512", "content-length", "x-request-id"] + (["api_key"] if api_key else [])
    lines = ["POST %s HTTP/1.1" % path] + ["%s: %s" % (n, h[n]) for n in names if n != "request-line"]
    sig = base64.b64encode(hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha512).digest()).decode()
    h["authorization"] = 'hmac username="%s", algorithm="hmac-sha512", headers="%s", signature="%s"' % (user, " ".join(names), sig)
    return h

def send(port, method, path, body, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    keep = {k.lower(): v for k, v in r.getheaders() if k.lower() in ("content-type", "idempotent-replayed", "retry-after", "allow")}
    return r.status, keep, data.decode()

ID = re.compile(r'(user|buss|bcus|prog)-[0-9a-f-]{36}')
UU = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
TS = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z')
def norm(s):
    return UU.sub("<uuid>", TS.sub("<ts>", ID.sub(lambda m: m.group(1) + "-<id>", s)))

def run(port, creds, out):
    user, secret, key = creds
    ids = {}
    def call(path, obj, extra=None, raw=None, names=None, api_key=key, method="POST", replay_of=None, label=""):
        body = raw if raw is not None else json.dumps(obj).encode()
        if replay_of is not None:
            h = replay_of
        else:
            h = sign_headers(path, body, user, secret, api_key, extra, names)
        st, hd, data = send(port, method, path, body, h)
        out.append("%s %s %s %s %s" % (label or path, st, json.dumps(hd, sort_keys=True), norm(data), ""))
        return st, data, h
    seed = {"first_name": "Alex", "middle_name": "", "last_name": "Rivera", "email": "jane.doe@example.com",
            "phone_number": "+15555551234", "address_one": "100 Innovation Way", "address_two": "Suite 100",
            "city": "Anytown", "state": "TX", "country": "US", "postal_code": "30044", "username": "janedoe",
            "date_of_birth": "1980-04-20", "ssn": "123-45-6789", "terms_accepted": True,
            "meta_data": [{"name": "external_ref", "value": "customer-001"}]}
    st, data, h = call("/api/v3/user/create", seed, label="create")
    uid = json.loads(data)["data"]["items"][0]["id"]
    call("/api/v3/user/create", seed, replay_of=h, label="create-replay")
    bad = dict(seed, email="nope", postal_code="1", state="ZZ", phone_number="123", ssn="000-00-0000", date_of_birth="2020-01-01")
    st, data, hbad = call("/api/v3/user/create", bad, label="create-invalid")
    call("/api/v3/user/create", bad, replay_of=hbad, label="create-invalid-replay")
    call("/api/v3/user/create", dict(seed, first_name=5, terms_accepted="yes"), label="create-types")
    call("/api/v3/user/create", dict(seed, email="x@example.com", username="xxx1", ssn="123-45-6780", color="red"), label="create-unknown")
    call("/api/v3/user/create", dict(seed, username="other", ssn="123-45-6781"), label="create-dup-email")
    call("/api/v3/user/create", dict(seed, email="b@example.com", username="bbbb", ssn="123-45-6782", business_id="buss-" + str(uuid.uuid4())), label="create-missing-business")
    call("/api/v3/user/create", dict(seed, email="b@example.com", username="bbbb", ssn="123-45-6782", business_id="nope"), label="create-bad-business-id")
    k = {"idempotency-key": "key-1"}
    s2 = dict(seed, email="k@example.com", username="kkkk", ssn="223-45-6789")
    call("/api/v4/user/create", s2, extra=k, label="idem-1")
    call("/api/v3/user/create", s2, extra=k, label="idem-2")
    call("/api/v3/user/create", dict(s2, city="Other"), extra=k, label="idem-mismatch")
    call("/api/v3/user/create", s2, extra={"idempotency-key": ""}, label="idem-empty")
    call("/api/v3/user/create", dict(seed, email="e@example.com", username="eeee", ssn="323-45-6789", postal_code="x"), extra={"idempotency-key": "key-err"}, label="idem-err-1")
    call("/api/v3/user/create", dict(seed, email="e@example.com", username="eeee", ssn="323-45-6789", postal_code="x"), extra={"idempotency-key": "key-err"}, label="idem-err-2")
    call("/api/v3/user/get", {"user_id": uid}, label="get")
    st, data, hg = call("/api/v3/user/get", {"user_id": "user-" + str(uuid.uuid4())}, label="get-missing")
    call("/api/v3/user/get", {"user_id": "user-" + str(uuid.uuid4())}, replay_of=hg, label="get-replay")
    call("/api/v3/user/get", {"user_id": "x", "extra": 1}, label="get-bad")
    call("/api/v3/user/get", {}, label="get-empty")
    call("/api/v3/user/get-all", {"page": 1, "per_page": 5, "search": "rivera", "sort": "last_name:asc"}, label="list")
    call("/api/v3/user/get-all", {"page": 0, "per_page": 5000, "status": "x", "sort": "y"}, label="list-bad")
    st, data, hb = call("/api/v3/user/block", {"user_id": uid, "reason": "chargeback"}, label="block")
    call("/api/v3/user/block", {"user_id": uid, "reason": "chargeback"}, replay_of=hb, label="block-replay")
    call("/api/v3/user/block", {"user_id": uid}, label="block-again")
    call("/api/v3/user/block", {"user_id": "user-" + str(uuid.uuid4())}, label="block-missing")
    call("/api/v3/user/block", {"user_id": uid, "reason": "x" * 300}, label="block-reason")
    call("/api/v3/user/unblock", {"user_id": uid}, label="unblock")
    call("/api/v3/user/unblock", {"user_id": uid, "reason": "r"}, label="unblock-reason-unknown")
    call("/api/v3/user/update", {"user_id": uid, "city": "Springfield", "middle_name": "Lee"}, label="update")
    call("/api/v3/user/update", {"user_id": uid, "email": "z@example.com", "postal_code": "1"}, label="update-bad")
    call("/api/v3/user/update", {"user_id": "user-" + str(uuid.uuid4()), "city": "X"}, label="update-missing")
    call("/api/v3/user/update", {"user_id": uid, "username": "kkkk"}, label="update-dup")
    call("/api/v3/user/update", {"user_id": uid, "city": "Shelbyville"}, extra={"idempotency-key": "upd"}, label="update-idem")
    call("/api/v3/user/update", {"user_id": uid, "city": "Shelbyville"}, extra={"idempotency-key": "upd"}, label="update-idem-2")
    call("/api/v3/user/send-verification-request", {"user_id": uid}, label="kyc")
    call("/api/v3/user/send-verification-request", {"user_id": uid}, label="kyc-again")
    call("/api/v3/user/update", {"user_id": uid, "last_name": "Other"}, label="update-locked")
    bare = dict(seed, email="bare@example.com", username="bare")
    del bare["ssn"]; del bare["date_of_birth"]; bare["terms_accepted"] = False
    st, data, _ = call("/api/v3/user/create", bare, label="create-bare")
    bid_user = json.loads(data)["data"]["items"][0]["id"]
    call("/api/v3/user/send-verification-request", {"user_id": bid_user}, label="kyc-missing")
    biz = {"business_name": "Acme LLC", "email": "ops@acme.example", "phone_number": "+12125551234",
           "business_address": "1 Main St", "city": "Austin", "state": "TX", "zipcode": "73301", "country": "US",
           "ein": "12-3456789", "business_type": "llc", "incorporated_date": "2015-06-01", "incorporated_state": "DE"}
    st, data, _ = call("/api/v3/business/create", biz, label="biz")
    bid = json.loads(data)["data"]["items"][0]["id"]
    call("/api/v3/business/create", biz, label="biz-dup")
    call("/api/v3/business/create", dict(biz, ein="1", zipcode="z", business_type="LLC"), label="biz-bad")
    call("/api/v3/business/create", dict(biz, ein="98-7654321"), extra={"idempotency-key": "b1"}, label="biz-idem")
    call("/api/v3/business/create", dict(biz, ein="98-7654321"), extra={"idempotency-key": "b1"}, label="biz-idem-2")
    call("/api/v3/user/create", dict(seed, email="c@example.com", username="cccc", ssn="423-45-6789", business_id=bid), label="create-linked")
    call("/api/v3/user/create", dict(seed, email="v@example.com", username="vvvv", ssn="523-45-6789", business_id=bid, is_vendor=True), label="create-vendor")
    call("/api/v3/business/get", {"business_id": bid}, label="biz-get")
    call("/api/v3/business/get", {"business_id": "buss-" + str(uuid.uuid4())}, label="biz-get-missing")
    call("/api/v3/business/customers/get-all", {"business_id": bid}, label="biz-contacts")
    call("/api/v3/business/customers/get-all", {"business_id": bid, "type": "vendors", "page": 1}, label="biz-contacts-v")
    call("/api/v3/business/customers/get-all", {"business_id": "buss-" + str(uuid.uuid4())}, label="biz-contacts-missing")
    call("/api/v3/user/create", None, raw=b"{not json", label="malformed")
    call("/api/v3/user/create", None, raw=b"[1,2]", label="not-object")
    call("/api/v3/user/create", seed, extra={"content-type": "text/plain"}, label="media")
    call("/api/v3/user/create", seed, api_key=None, label="no-api-key")
    call("/api/v3/user/create", seed, api_key="wrong", label="bad-api-key")
    call("/api/v3/user/create", dict(seed, api_key=key, email="ak@example.com", username="akak", ssn="623-45-6789"), api_key=None, label="body-api-key")
    call("/api/v3/user/nope", {}, label="route-404")
    send_h = sign_headers("/api/v3/user/get", b"", user, secret, key)
    st, hd, data = send(port, "GET", "/api/v3/user/get", b"", send_h)
    out.append("GET %s %s %s" % (st, json.dumps(hd, sort_keys=True), norm(data)))

if __name__ == "__main__":
    port = int(sys.argv[1]); creds = sys.argv[2:5]
    out = []
    run(port, creds, out)
    print("\n".join(out))
