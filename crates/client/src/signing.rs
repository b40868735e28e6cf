//! HMAC-SHA512 request signing (SPEC §2.1), shared by the client and the server's verifier.

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha512};

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

/// Standard Base64 (with padding) of the SHA-512 of the exact body bytes.
pub fn content_sha512(body: &[u8]) -> String {
    B64.encode(Sha512::digest(body))
}

/// The signing string: for each name of `signed_headers` in order, `request-line` gives
/// `<METHOD> <path and query> HTTP/1.1` and any other name `<name>: <value>`; lines are
/// joined with `\n`, with no trailing newline.
pub fn signing_string(
    method: &str,
    path_and_query: &str,
    signed_headers: &[&str],
    header_value: impl Fn(&str) -> Option<String>,
) -> Result<String, SigningError> {
    let mut lines = Vec::with_capacity(signed_headers.len());
    for name in signed_headers {
        let name = name.to_ascii_lowercase();
        if name == "request-line" {
            lines.push(format!("{method} {path_and_query} HTTP/1.1"));
        } else {
            let value =
                header_value(&name).ok_or_else(|| SigningError::MissingHeader(name.clone()))?;
            lines.push(format!("{name}: {value}"));
        }
    }
    Ok(lines.join("\n"))
}

fn mac(secret: &[u8]) -> Hmac<Sha512> {
    // HMAC takes keys of any length.
    match Hmac::<Sha512>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// Standard Base64 of HMAC-SHA512(secret, signing string).
pub fn sign(secret: &[u8], signing_string: &str) -> String {
    let mut m = mac(secret);
    m.update(signing_string.as_bytes());
    B64.encode(m.finalize().into_bytes())
}

/// Whether `signature_b64` is the signature of `signing_string`; constant-time.
pub fn verify(secret: &[u8], signing_string: &str, signature_b64: &str) -> bool {
    let Ok(signature) = B64.decode(signature_b64) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(signing_string.as_bytes());
    m.verify_slice(&signature).is_ok()
}

/// `hmac username="…", algorithm="hmac-sha512", headers="a b c", signature="…"`.
pub fn authorization_header(username: &str, signed_headers: &[&str], signature: &str) -> String {
    format!(
        "hmac username=\"{username}\", algorithm=\"hmac-sha512\", headers=\"{}\", signature=\"{signature}\"",
        signed_headers.join(" ")
    )
}

/// A parsed Authorization header.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    /// HMAC username.
    pub username: String,
    /// Algorithm as sent.
    pub algorithm: String,
    /// The signed header names, in order.
    pub headers: Vec<String>,
    /// Base64 signature.
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
    /// Parses `hmac k="v", k="v", …` with exactly the four parameters, in any order.
    pub fn parse(header: &str) -> Result<Self, SigningError> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').ok_or(SigningError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("hmac") {
            return Err(SigningError::Malformed);
        }
        let (mut username, mut algorithm, mut headers, mut signature) = (None, None, None, None);
        let mut rest = rest.trim_start();
        while !rest.is_empty() {
            let (key, after) = rest.split_once('=').ok_or(SigningError::Malformed)?;
            let after = after.strip_prefix('"').ok_or(SigningError::Malformed)?;
            let (value, after) = after.split_once('"').ok_or(SigningError::Malformed)?;
            let slot = match key.trim() {
                "username" => &mut username,
                "algorithm" => &mut algorithm,
                "headers" => &mut headers,
                "signature" => &mut signature,
                _ => return Err(SigningError::Malformed),
            };
            if slot.replace(value.to_owned()).is_some() {
                return Err(SigningError::Malformed);
            }
            let after = after.trim_start();
            rest = match after.strip_prefix(',') {
                Some(r) => r.trim_start(),
                None if after.is_empty() => after,
                None => return Err(SigningError::Malformed),
            };
        }
        match (username, algorithm, headers, signature) {
            (Some(username), Some(algorithm), Some(headers), Some(signature))
                if !username.is_empty() && !signature.is_empty() =>
            {
                Ok(Self {
                    username,
                    algorithm,
                    headers: headers.split_whitespace().map(str::to_owned).collect(),
                    signature,
                })
            }
            _ => Err(SigningError::Malformed),
        }
    }
}

/// RFC 1123 GMT date for `X-Date`.
pub fn x_date(now: SystemTime) -> String {
    httpdate::fmt_http_date(now)
}

/// Parses an `X-Date`.
pub fn parse_x_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s.trim()).ok()
}

/// The default signed headers of a request with a body.
pub const DEFAULT_SIGNED: [&str; 5] = [
    "request-line",
    "x-date",
    "content-type",
    "content-sha512",
    "content-length",
];

/// What to sign.
#[derive(Clone, Copy, Debug)]
pub struct RequestToSign<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path and query as sent.
    pub path_and_query: &'a str,
    /// Body bytes.
    pub body: &'a [u8],
    /// HMAC username.
    pub username: &'a str,
    /// HMAC secret.
    pub secret: &'a [u8],
    /// X-Date.
    pub date: SystemTime,
    /// Names of the signed headers, in order.
    pub signed: &'a [&'a str],
    /// Further headers to send (and possibly sign), e.g. `api_key`.
    pub extra: &'a [(&'a str, &'a str)],
}

/// Every header of a signed request, Authorization last.
pub fn signed_headers(req: &RequestToSign<'_>) -> Result<Vec<(String, String)>, SigningError> {
    let mut headers = vec![("x-date".to_owned(), x_date(req.date))];
    if !req.body.is_empty() {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    headers.push(("content-sha512".to_owned(), content_sha512(req.body)));
    headers.push(("content-length".to_owned(), req.body.len().to_string()));
    for (k, v) in req.extra {
        headers.push(((*k).to_ascii_lowercase(), (*v).to_owned()));
    }
    let lookup = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let text = signing_string(req.method, req.path_and_query, req.signed, lookup)?;
    let signature = sign(req.secret, &text);
    headers.push((
        "authorization".to_owned(),
        authorization_header(req.username, req.signed, &signature),
    ));
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_parse_rejects_bad_shapes() {
        for bad in [
            "",
            "hmac",
            "Basic dXNlcjpwYXNz",
            "hmac username=\"a\", algorithm=\"hmac-sha512\", headers=\"x\"",
            "hmac username=\"a\", username=\"b\", algorithm=\"x\", headers=\"x\", signature=\"s\"",
            "hmac username=a, algorithm=\"x\", headers=\"x\", signature=\"s\"",
            "hmac username=\"a\" algorithm=\"x\", headers=\"x\", signature=\"s\"",
            "hmac username=\"a\", algorithm=\"x\", headers=\"x\", signature=\"s\", extra=\"1\"",
        ] {
            assert_eq!(
                Authorization::parse(bad),
                Err(SigningError::Malformed),
                "{bad}"
            );
        }
        let ok = Authorization::parse(
            "HMAC signature=\"s\",headers=\"a b\", algorithm=\"hmac-sha512\",username=\"u\"",
        );
        assert_eq!(
            ok.map(|a| a.headers),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn debug_hides_the_signature() {
        let a = Authorization::parse(
            "hmac username=\"u\", algorithm=\"a\", headers=\"h\", signature=\"SECRETSIG\"",
        );
        assert!(a.is_ok_and(|a| !format!("{a:?}").contains("SECRETSIG")));
    }

    #[test]
    fn verify_is_false_for_garbage() {
        assert!(!verify(b"k", "s", "not base64!"));
        let sig = sign(b"k", "s");
        assert!(verify(b"k", "s", &sig));
        assert!(!verify(b"k", "t", &sig));
    }
}
