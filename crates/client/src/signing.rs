//! HMAC-SHA512 request signing (SPEC §2.1), shared by the client and the server's verifier.
//!
//! Everything here is pure: no clock, no IO. The caller passes the date.

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha512};

/// The only algorithm this signer produces.
pub const ALGORITHM: &str = "hmac-sha512";

/// The pseudo-header that stands for `<METHOD> <path and query> HTTP/1.1`.
pub const REQUEST_LINE: &str = "request-line";

/// The default signed headers of a request with a non-empty body, in this order.
pub const DEFAULT_SIGNED: [&str; 5] = [
    REQUEST_LINE,
    "x-date",
    "content-type",
    "content-sha512",
    "content-length",
];

/// The default signed headers of a request with an empty body.
pub const DEFAULT_SIGNED_EMPTY_BODY: [&str; 2] = [REQUEST_LINE, "x-date"];

/// What can go wrong while signing or parsing a signature.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// A header named in the signed list is not in the request.
    #[error("the signed header {0} is missing from the request")]
    MissingHeader(String),
    /// The Authorization header does not have the documented shape.
    #[error("the Authorization header is malformed")]
    Malformed,
}

/// Standard Base64 (with padding) of the raw 64-byte SHA-512 of the exact body bytes.
pub fn content_sha512(body: &[u8]) -> String {
    B64.encode(Sha512::digest(body))
}

/// The default signed headers for a body: [`DEFAULT_SIGNED`] when it is non-empty,
/// [`DEFAULT_SIGNED_EMPTY_BODY`] otherwise.
pub fn default_signed_headers(body: &[u8]) -> &'static [&'static str] {
    if body.is_empty() {
        &DEFAULT_SIGNED_EMPTY_BODY
    } else {
        &DEFAULT_SIGNED
    }
}

/// The signing string: for each name of `signed_headers` in order, `request-line` gives
/// `<METHOD> <path and query> HTTP/1.1` and any other name `<name>: <value>`, the value
/// coming from `header_value` (called with the lowercase name). Lines are joined with `\n`,
/// with no trailing newline.
pub fn signing_string(
    method: &str,
    path_and_query: &str,
    signed_headers: &[&str],
    header_value: impl Fn(&str) -> Option<String>,
) -> Result<String, SigningError> {
    let mut lines = Vec::with_capacity(signed_headers.len());
    for name in signed_headers {
        let name = name.to_ascii_lowercase();
        if name == REQUEST_LINE {
            lines.push(format!("{method} {path_and_query} HTTP/1.1"));
        } else {
            let value =
                header_value(&name).ok_or_else(|| SigningError::MissingHeader(name.clone()))?;
            lines.push(format!("{name}: {value}"));
        }
    }
    Ok(lines.join("\n"))
}

fn mac(secret: &[u8], signing_string: &str) -> Hmac<Sha512> {
    // HMAC hashes long keys and pads short ones: every length is accepted.
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(secret) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(signing_string.as_bytes());
    mac
}

/// Standard Base64 (with padding) of HMAC-SHA512(secret, signing string).
pub fn sign(secret: &[u8], signing_string: &str) -> String {
    B64.encode(mac(secret, signing_string).finalize().into_bytes())
}

/// Whether `signature_b64` is the signature of `signing_string` under `secret`. The
/// comparison is constant-time; a signature that is not valid Base64 is simply wrong.
pub fn verify(secret: &[u8], signing_string: &str, signature_b64: &str) -> bool {
    let Ok(signature) = B64.decode(signature_b64) else {
        return false;
    };
    mac(secret, signing_string).verify_slice(&signature).is_ok()
}

/// `hmac username="…", algorithm="hmac-sha512", headers="a b c", signature="…"`.
pub fn authorization_header(username: &str, signed_headers: &[&str], signature: &str) -> String {
    format!(
        "hmac username=\"{username}\", algorithm=\"{ALGORITHM}\", headers=\"{}\", signature=\"{signature}\"",
        signed_headers.join(" ")
    )
}

/// A parsed `Authorization: hmac …` header. `Debug` hides the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    /// HMAC username.
    pub username: String,
    /// The algorithm as sent (the server decides whether it is supported).
    pub algorithm: String,
    /// The signed header names, in order, as sent.
    pub headers: Vec<String>,
    /// The Base64 signature.
    pub signature: String,
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("username", &self.username)
            .field("algorithm", &self.algorithm)
            .field("headers", &self.headers)
            .field("signature", &"[redacted]")
            .finish()
    }
}

impl Authorization {
    /// Parses `hmac key="value", key="value", …`: the scheme `hmac` (any case), then the
    /// four parameters `username`, `algorithm`, `headers` and `signature`, each exactly
    /// once, non-empty, double-quoted, in any order, separated by commas with optional
    /// spaces. Anything else is [`SigningError::Malformed`].
    pub fn parse(header: &str) -> Result<Self, SigningError> {
        const KEYS: [&str; 4] = ["username", "algorithm", "headers", "signature"];
        let header = header.trim();
        let split = header.find([' ', '\t']).ok_or(SigningError::Malformed)?;
        let (scheme, rest) = header.split_at(split);
        if !scheme.eq_ignore_ascii_case("hmac") {
            return Err(SigningError::Malformed);
        }
        let mut values: [Option<&str>; 4] = [None; 4];
        let mut rest = rest.trim_start();
        loop {
            let (key, after) = rest.split_once('=').ok_or(SigningError::Malformed)?;
            let slot = KEYS
                .iter()
                .position(|k| *k == key.trim_end())
                .ok_or(SigningError::Malformed)?;
            let quoted = after
                .trim_start()
                .strip_prefix('"')
                .ok_or(SigningError::Malformed)?;
            let (value, after) = quoted.split_once('"').ok_or(SigningError::Malformed)?;
            if value.is_empty() || values[slot].replace(value).is_some() {
                return Err(SigningError::Malformed);
            }
            let after = after.trim_start();
            if after.is_empty() {
                break;
            }
            rest = after
                .strip_prefix(',')
                .ok_or(SigningError::Malformed)?
                .trim_start();
        }
        let [
            Some(username),
            Some(algorithm),
            Some(headers),
            Some(signature),
        ] = values
        else {
            return Err(SigningError::Malformed);
        };
        Ok(Self {
            username: username.to_owned(),
            algorithm: algorithm.to_owned(),
            headers: headers.split_whitespace().map(str::to_owned).collect(),
            signature: signature.to_owned(),
        })
    }
}

/// The RFC 1123 GMT date for `X-Date`, e.g. `Fri, 17 Jan 2020 19:59:29 GMT`.
pub fn x_date(now: SystemTime) -> String {
    httpdate::fmt_http_date(now)
}

/// Parses an `X-Date` (RFC 1123; httpdate also takes the obsolete RFC 850 and asctime forms).
pub fn parse_x_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s.trim()).ok()
}

/// Builds every header of a signed request.
///
/// The generated headers are `x-date`, `content-type: application/json` (when the body is
/// non-empty, or when `content-type` is in the signed list), `content-sha512` and
/// `content-length`; then the extra headers (an extra with the name of a generated header
/// replaces it); then `authorization`, last. The signed list defaults to
/// [`default_signed_headers`] of the body. `Debug` hides the secret and the extra values.
#[derive(Clone)]
pub struct SignedRequest<'a> {
    method: &'a str,
    path_and_query: &'a str,
    body: &'a [u8],
    username: &'a str,
    secret: &'a [u8],
    date: SystemTime,
    signed: Option<&'a [&'a str]>,
    extra: Vec<(&'a str, &'a str)>,
}

impl fmt::Debug for SignedRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extra: Vec<&str> = self.extra.iter().map(|(k, _)| *k).collect();
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("path_and_query", &self.path_and_query)
            .field("body_len", &self.body.len())
            .field("username", &self.username)
            .field("secret", &"[redacted]")
            .field("date", &x_date(self.date))
            .field("signed", &self.signed_list())
            .field("extra_names", &extra)
            .finish()
    }
}

impl<'a> SignedRequest<'a> {
    /// A request to sign; `path_and_query` is exactly what goes on the request line.
    pub fn new(
        method: &'a str,
        path_and_query: &'a str,
        body: &'a [u8],
        username: &'a str,
        secret: &'a [u8],
        date: SystemTime,
    ) -> Self {
        Self {
            method,
            path_and_query,
            body,
            username,
            secret,
            date,
            signed: None,
            extra: Vec::new(),
        }
    }

    /// Signs these header names, in this order, instead of the default list.
    #[must_use]
    pub fn signed_headers(mut self, names: &'a [&'a str]) -> Self {
        self.signed = Some(names);
        self
    }

    /// Sends (and, if listed, signs) one more header, e.g. `api_key`.
    #[must_use]
    pub fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.extra.push((name, value));
        self
    }

    fn signed_list(&self) -> &'a [&'a str] {
        self.signed
            .unwrap_or_else(|| default_signed_headers(self.body))
    }

    /// Every header to send, with lowercase names, `authorization` last.
    pub fn build(&self) -> Result<SignedHeaders, SigningError> {
        let signed: Vec<String> = self
            .signed_list()
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect();
        let signed: Vec<&str> = signed.iter().map(String::as_str).collect();

        let mut headers = vec![("x-date".to_owned(), x_date(self.date))];
        if !self.body.is_empty() || signed.contains(&"content-type") {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
        }
        headers.push(("content-sha512".to_owned(), content_sha512(self.body)));
        headers.push(("content-length".to_owned(), self.body.len().to_string()));
        for (name, value) in &self.extra {
            let name = name.to_ascii_lowercase();
            match headers.iter_mut().find(|(k, _)| *k == name) {
                Some(slot) => (*value).clone_into(&mut slot.1),
                None => headers.push((name, (*value).to_owned())),
            }
        }
        // The computed Authorization is the only one sent.
        headers.retain(|(k, _)| k != "authorization");

        let text = signing_string(self.method, self.path_and_query, &signed, |n| {
            headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
        })?;
        let signature = sign(self.secret, &text);
        headers.push((
            "authorization".to_owned(),
            authorization_header(self.username, &signed, &signature),
        ));
        Ok(SignedHeaders(headers))
    }
}

/// The headers of a signed request (lowercase names, `authorization` last). `Debug`
/// shows only the names: the values include the signature and possibly the API key.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders(Vec<(String, String)>);

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SignedHeaders")
            .field(&self.0.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

impl SignedHeaders {
    /// The value of a header (name in any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All `(name, value)` pairs, in sending order.
    pub fn as_slice(&self) -> &[(String, String)] {
        &self.0
    }

    /// All `(name, value)` pairs, in sending order.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GOOD: &str = "hmac username=\"u\", algorithm=\"hmac-sha512\", headers=\"request-line x-date\", signature=\"c2ln\"";

    fn malformed(header: &str) {
        assert_eq!(
            Authorization::parse(header),
            Err(SigningError::Malformed),
            "{header}"
        );
    }

    #[test]
    fn parse_accepts_the_documented_shape() {
        let a = Authorization::parse(GOOD).unwrap();
        assert_eq!(a.username, "u");
        assert_eq!(a.algorithm, "hmac-sha512");
        assert_eq!(a.headers, ["request-line", "x-date"]);
        assert_eq!(a.signature, "c2ln");
    }

    #[test]
    fn parse_accepts_any_order_any_scheme_case_and_optional_spaces() {
        let a = Authorization::parse(
            "  HMAC signature=\"c2ln\",headers=\"request-line  x-date\" ,  algorithm = \"hmac-sha512\",username=\"u\"  ",
        )
        .unwrap();
        assert_eq!(a, Authorization::parse(GOOD).unwrap());
    }

    #[test]
    fn parse_keeps_commas_and_spaces_inside_quotes() {
        let a = Authorization::parse(
            "hmac username=\"a, b\", algorithm=\"x\", headers=\"h\", signature=\"s=\"",
        )
        .unwrap();
        assert_eq!(a.username, "a, b");
        assert_eq!(a.signature, "s=");
    }

    #[test]
    fn parse_rejects_a_missing_parameter() {
        malformed("hmac username=\"u\", algorithm=\"hmac-sha512\", headers=\"x-date\"");
        malformed("hmac username=\"u\", algorithm=\"hmac-sha512\", signature=\"c2ln\"");
        malformed("hmac algorithm=\"hmac-sha512\", headers=\"x-date\", signature=\"c2ln\"");
        malformed("hmac username=\"u\", headers=\"x-date\", signature=\"c2ln\"");
        malformed("hmac");
        malformed("hmac ");
        malformed("");
    }

    #[test]
    fn parse_rejects_a_wrong_scheme() {
        malformed("Basic dXNlcjpwYXNz");
        malformed("Bearer abc");
        malformed(&GOOD.replacen("hmac", "Signature", 1));
        malformed(&GOOD.replacen("hmac ", "hmac-sha512 ", 1));
        malformed(&GOOD.replacen("hmac ", "", 1));
    }

    #[test]
    fn parse_rejects_a_duplicate_parameter() {
        malformed(&format!("{GOOD}, username=\"v\""));
        malformed(&format!("{GOOD}, signature=\"c2ln\""));
    }

    #[test]
    fn parse_rejects_unquoted_or_badly_quoted_values() {
        malformed(
            "hmac username=u, algorithm=\"hmac-sha512\", headers=\"x-date\", signature=\"c2ln\"",
        );
        malformed(
            "hmac username=\"u, algorithm=\"hmac-sha512\", headers=\"x-date\", signature=\"c2ln\"",
        );
        malformed(
            "hmac username='u', algorithm=\"hmac-sha512\", headers=\"x-date\", signature=\"c2ln\"",
        );
        malformed(&GOOD.replace("signature=\"c2ln\"", "signature=\"c2ln"));
    }

    #[test]
    fn parse_rejects_other_shapes() {
        // Unknown parameter, empty value, missing comma, trailing comma, missing `=`.
        malformed(&format!("{GOOD}, extra=\"1\""));
        malformed(&GOOD.replace("username=\"u\"", "username=\"\""));
        malformed(&GOOD.replace("\", algorithm", "\" algorithm"));
        malformed(&format!("{GOOD},"));
        malformed(&GOOD.replace("username=\"u\"", "username"));
        malformed(&GOOD.replace("username", "Username"));
        malformed(&format!("{GOOD} x"));
    }

    #[test]
    fn debug_hides_the_signature() {
        let a = Authorization::parse(&GOOD.replace("c2ln", "SECRETSIG")).unwrap();
        assert!(!format!("{a:?}").contains("SECRETSIG"));
    }

    #[test]
    fn verify_is_constant_time_and_false_for_garbage() {
        let sig = sign(b"k", "s");
        assert!(verify(b"k", "s", &sig));
        assert!(!verify(b"k", "t", &sig));
        assert!(!verify(b"K", "s", &sig));
        assert!(!verify(b"k", "s", "not base64!"));
        assert!(!verify(b"k", "s", ""));
        // A truncated signature is rejected, not compared on its prefix.
        let short = B64.encode(&B64.decode(&sig).unwrap()[..32]);
        assert!(!verify(b"k", "s", &short));
    }

    #[test]
    fn signing_string_reports_the_missing_header() {
        let err = signing_string("POST", "/p", &["request-line", "X-Date"], |_| None);
        assert_eq!(err, Err(SigningError::MissingHeader("x-date".into())));
        let ok = signing_string("POST", "/p?q=1", &["request-line"], |_| None);
        assert_eq!(ok.unwrap(), "POST /p?q=1 HTTP/1.1");
    }

    #[test]
    fn x_date_round_trips() {
        let s = "Fri, 17 Jan 2020 19:59:29 GMT";
        assert_eq!(x_date(parse_x_date(s).unwrap()), s);
        assert_eq!(parse_x_date("yesterday"), None);
    }

    #[test]
    fn the_builder_defaults_to_the_body_dependent_list() {
        let date = parse_x_date("Fri, 17 Jan 2020 19:59:29 GMT").unwrap();
        let empty = SignedRequest::new("POST", "/p", b"", "u", b"k", date)
            .build()
            .unwrap();
        let names: Vec<&str> = empty.as_slice().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "x-date",
                "content-sha512",
                "content-length",
                "authorization"
            ]
        );
        let auth = Authorization::parse(empty.get("Authorization").unwrap()).unwrap();
        assert_eq!(auth.headers, DEFAULT_SIGNED_EMPTY_BODY);

        let full = SignedRequest::new("POST", "/p", b"{}", "u", b"k", date)
            .build()
            .unwrap();
        assert_eq!(full.get("content-type"), Some("application/json"));
        let auth = Authorization::parse(full.get("authorization").unwrap()).unwrap();
        assert_eq!(auth.headers, DEFAULT_SIGNED);
    }

    #[test]
    fn the_builder_signs_extras_and_lets_them_replace_generated_headers() {
        let date = parse_x_date("Fri, 17 Jan 2020 19:59:29 GMT").unwrap();
        let names = ["request-line", "x-date", "API_KEY"];
        let headers = SignedRequest::new("POST", "/p", b"{}", "u", b"k", date)
            .signed_headers(&names)
            .header("Api_Key", "ak_1")
            .header("x-date", "Sat, 28 Nov 2026 12:00:00 GMT")
            .header("authorization", "forged")
            .build()
            .unwrap();
        assert_eq!(headers.get("api_key"), Some("ak_1"));
        assert_eq!(headers.get("x-date"), Some("Sat, 28 Nov 2026 12:00:00 GMT"));
        let all = headers.as_slice();
        assert_eq!(all.iter().filter(|(k, _)| k == "authorization").count(), 1);
        assert_eq!(all.last().map(|(k, _)| k.as_str()), Some("authorization"));
        let auth = Authorization::parse(headers.get("authorization").unwrap()).unwrap();
        assert_eq!(auth.headers, ["request-line", "x-date", "api_key"]);
        let text = "POST /p HTTP/1.1\nx-date: Sat, 28 Nov 2026 12:00:00 GMT\napi_key: ak_1";
        assert!(verify(b"k", text, &auth.signature));

        let missing = SignedRequest::new("POST", "/p", b"{}", "u", b"k", date)
            .signed_headers(&names)
            .build();
        assert_eq!(missing, Err(SigningError::MissingHeader("api_key".into())));
    }

    #[test]
    fn debug_hides_secrets_of_the_builder_and_its_output() {
        let date = parse_x_date("Fri, 17 Jan 2020 19:59:29 GMT").unwrap();
        let req = SignedRequest::new("POST", "/p", b"{}", "u", b"TOPSECRET", date)
            .signed_headers(&["request-line", "x-date", "api_key"])
            .header("api_key", "APIKEY123");
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("TOPSECRET") && !shown.contains("APIKEY123"),
            "{shown}"
        );
        let headers = req.build().unwrap();
        let signature = Authorization::parse(headers.get("authorization").unwrap())
            .unwrap()
            .signature;
        let shown = format!("{headers:?}");
        assert!(
            !shown.contains("APIKEY123") && !shown.contains(&signature),
            "{shown}"
        );
    }
}
