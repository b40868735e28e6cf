//! One delivery attempt over HTTP: the Standard Webhooks headers and signature, a 15 s
//! timeout, no redirects, and the address rules — every address a target's name resolves
//! to is checked by the client's own resolver, before any connection, against loopback,
//! private, link-local and other non-public ranges (an address literal in the URL is checked
//! before the request is made). `webhook_allow_private_targets` lifts the rules (and allows
//! `http://`) for development and tests.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac as _};
use sha2::Sha256;
use storage::SecretString;

/// How long one attempt may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// The `webhook-signature` of one secret: `v1,` and the base64 HMAC-SHA256 under the secret's
/// bytes (the base64 after `whsec_`) of `{id}.{timestamp}.{body}`. `None` for a secret that
/// is not `whsec_` and base64.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether `ip` is a public unicast address (not loopback, private, link-local, shared,
/// documentation, benchmarking, multicast, reserved or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: an IPv4 address inside
                || s[..6] == [0; 6]) // IPv4-compatible and other reserved
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// A name resolved to addresses (the system's resolver; a fixed table in tests).
pub trait Lookup: Send + Sync + std::fmt::Debug {
    /// The addresses of `host` (ports are those of the URL).
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// The system's resolver.
#[derive(Debug)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// A target refused by the address rules (never connected to).
#[derive(Debug, thiserror::Error)]
#[error("refused: {0} is not a public address")]
pub struct Refused(IpAddr);

/// The client's resolver: resolves, then refuses a name with any non-public address.
#[derive(Debug, Clone)]
struct Guarded {
    lookup: Arc<dyn Lookup>,
    allow_private: bool,
}

impl reqwest::dns::Resolve for Guarded {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (lookup, allow_private) = (self.lookup.clone(), self.allow_private);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let ips = lookup.lookup(host).await?;
            if !allow_private && let Some(ip) = ips.iter().find(|ip| !is_public(**ip)) {
                return Err(Box::new(Refused(*ip)) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Vec<SocketAddr> = ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What an attempt got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The endpoint answered with this status.
    Status(u16),
    /// No answer within the timeout.
    Timeout,
    /// Refused by the address rules, before any connection.
    Refused(String),
    /// Could not connect or send (the cause, never the body).
    Failed(String),
}

impl Answer {
    /// A label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Status(s) if (200..300).contains(s) => "delivered",
            Self::Status(410) => "gone",
            Self::Status(s) if (300..400).contains(s) => "redirect",
            Self::Status(s) if (400..500).contains(s) => "http_4xx",
            Self::Status(_) => "http_5xx",
            Self::Timeout => "timeout",
            Self::Refused(_) => "refused",
            Self::Failed(_) => "connection_error",
        }
    }
}

/// Sends deliveries.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    /// A sender resolving names with `lookup`.
    pub fn new(allow_private: bool, lookup: Arc<dyn Lookup>) -> Result<Self, reqwest::Error> {
        let builder = reqwest::Client::builder()
            .tls_backend_preconfigured(client::tls_config())
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("Onboard-Webhooks/1")
            .dns_resolver(Arc::new(Guarded {
                lookup,
                allow_private,
            }));
        Ok(Self {
            client: builder.build()?,
            allow_private,
        })
    }

    /// Posts `body` to `url` as event `id`, signed with each of `secrets` at `timestamp`.
    pub async fn send(
        &self,
        url: &str,
        id: &str,
        timestamp: i64,
        body: &str,
        secrets: &[SecretString],
    ) -> (Answer, Duration) {
        let started = Instant::now();
        if let Err(refused) = self.check_url(url) {
            return (refused, started.elapsed());
        }
        let signatures: Vec<String> = secrets
            .iter()
            .filter_map(|s| signature(s.expose(), id, timestamp, body))
            .collect();
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body.to_owned())
            .send()
            .await;
        let answer = match sent {
            Ok(response) => Answer::Status(response.status().as_u16()),
            Err(e) if e.is_timeout() => Answer::Timeout,
            Err(e) => match refusal(&e) {
                Some(refused) => Answer::Refused(refused),
                None => Answer::Failed(cause(&e)),
            },
        };
        (answer, started.elapsed())
    }

    /// The scheme and an address literal, checked before anything is sent.
    fn check_url(&self, url: &str) -> Result<(), Answer> {
        let parsed =
            reqwest::Url::parse(url).map_err(|_| Answer::Failed("not a URL".to_owned()))?;
        if self.allow_private {
            return Ok(());
        }
        if parsed.scheme() != "https" {
            return Err(Answer::Refused("refused: not an https:// URL".to_owned()));
        }
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        match literal {
            Some(ip) if !is_public(ip) => Err(Answer::Refused(Refused(ip).to_string())),
            _ => Ok(()),
        }
    }
}

/// The resolver's refusal inside a client error, if that is what it is.
fn refusal(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<Refused>() {
            return Some(refused.to_string());
        }
        source = err.source();
    }
    None
}

/// The innermost cause of a client error (names a connection failure; never the body).
fn cause(e: &reqwest::Error) -> String {
    let mut last = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        last = err.to_string();
        source = err.source();
    }
    last.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn addresses_are_public_or_not() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    /// The Standard Webhooks specification's own example.
    #[test]
    fn the_specification_vector_is_reproduced() {
        assert_eq!(
            signature(
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                r#"{"email":"test@example.com","username":"test_user"}"#
            )
            .as_deref(),
            Some("v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=")
        );
    }

    /// Names resolved from a fixed table, recording each lookup.
    #[derive(Debug, Default)]
    struct Table(std::sync::Mutex<Vec<String>>);

    impl Lookup for Table {
        fn lookup(
            &self,
            host: String,
        ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
            self.0.lock().unwrap().push(host.clone());
            let ip: IpAddr = match host.as_str() {
                "internal.test" => "10.0.0.7".parse().unwrap(),
                "metadata.test" => "169.254.169.254".parse().unwrap(),
                "loopback.test" => "127.0.0.1".parse().unwrap(),
                _ => "93.184.216.34".parse().unwrap(),
            };
            Box::pin(async move { Ok(vec![ip]) })
        }
    }

    /// A name resolving to a non-public address is refused by the resolver, so no
    /// connection is ever opened; an address literal is refused before the request.
    #[tokio::test]
    async fn non_public_targets_are_refused_before_any_connection() {
        let table = Arc::new(Table::default());
        let sender = Sender::new(false, table.clone()).unwrap();
        let secrets = [SecretString::new(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        )];
        for host in ["internal.test", "metadata.test", "loopback.test"] {
            let url = format!("https://{host}/hook");
            let (answer, _) = sender.send(&url, "evt-1", 1, "{}", &secrets).await;
            let Answer::Refused(why) = answer else {
                panic!("{host}: {answer:?}")
            };
            assert!(why.starts_with("refused:"), "{why}");
        }
        assert_eq!(
            *table.0.lock().unwrap(),
            ["internal.test", "metadata.test", "loopback.test"],
            "each name was resolved, and refused on its address"
        );
        for url in [
            "https://10.1.2.3/hook",
            "https://[::1]/hook",
            "http://example.test/hook",
        ] {
            let (answer, _) = sender.send(url, "evt-1", 1, "{}", &secrets).await;
            assert!(matches!(answer, Answer::Refused(_)), "{url}: {answer:?}");
        }
        assert_eq!(
            table.0.lock().unwrap().len(),
            3,
            "literals and http:// never resolved"
        );
    }

    /// The guard lets a public address through (resolution only: nothing is connected to).
    #[tokio::test]
    async fn a_public_address_passes_the_guard() {
        use reqwest::dns::Resolve as _;
        let guard = Guarded {
            lookup: Arc::new(Table::default()),
            allow_private: false,
        };
        let addrs: Vec<SocketAddr> = guard
            .resolve("public.test".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(addrs, ["93.184.216.34:0".parse::<SocketAddr>().unwrap()]);
        assert!(
            guard
                .resolve("internal.test".parse().unwrap())
                .await
                .is_err()
        );
        let open = Guarded {
            lookup: Arc::new(Table::default()),
            allow_private: true,
        };
        assert!(open.resolve("internal.test".parse().unwrap()).await.is_ok());
    }
}
