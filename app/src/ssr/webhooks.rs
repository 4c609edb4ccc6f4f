//! What webhooks share between the console, the API and the dispatcher: an endpoint's
//! address checked once, the event types it may ask for, and the Standard Webhooks
//! signature of a delivery.

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::AppError;
use crate::store::events::EventKind;
use crate::store::webhooks::secret_key;

/// The longest address an endpoint may have.
pub const MAX_URL: usize = 2000;
/// The longest description.
pub const MAX_DESCRIPTION: usize = 200;

/// An endpoint's address: an absolute `https://` or `http://` URL without credentials or
/// fragment, at most [`MAX_URL`] characters. Unless `allow_private`, a host that is an
/// address on a loopback, private or link-local network, or `localhost`, is refused (the
/// dispatcher checks the addresses a name resolves to as well). `Invalid` on `field`.
pub fn endpoint_url(field: &str, raw: &str, allow_private: bool) -> Result<String, AppError> {
    let raw = raw.trim();
    let refuse = |why: &str| Err(AppError::invalid(field, why));
    if raw.is_empty() || raw.chars().count() > MAX_URL {
        return refuse("Give the endpoint's address, at most 2000 characters.");
    }
    let Ok(url) = openidconnect::url::Url::parse(raw) else {
        return refuse("Give an absolute address like https://hooks.example.com/tessera.");
    };
    if !matches!(url.scheme(), "https" | "http") {
        return refuse("The address must start with https:// or http://.");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("Put no user name or password in the address: the signature proves who is calling.");
    }
    if url.fragment().is_some() {
        return refuse("An address with a #fragment is not sent to the server; leave it out.");
    }
    let host = match url.host() {
        Some(openidconnect::url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
        Some(openidconnect::url::Host::Ipv4(ip)) => {
            if !allow_private && !is_public(IpAddr::V4(ip)) {
                return refuse("That address is on a loopback or private network, which this deployment does not send to.");
            }
            return Ok(url.to_string());
        }
        Some(openidconnect::url::Host::Ipv6(ip)) => {
            if !allow_private && !is_public(IpAddr::V6(ip)) {
                return refuse("That address is on a loopback or private network, which this deployment does not send to.");
            }
            return Ok(url.to_string());
        }
        None => return refuse("Give an absolute address like https://hooks.example.com/tessera."),
    };
    if !allow_private && (host == "localhost" || host.ends_with(".localhost")) {
        return refuse("That address is on a loopback or private network, which this deployment does not send to.");
    }
    Ok(url.to_string())
}

/// Whether `ip` is reachable on the public internet: not loopback, private, link-local,
/// shared (carrier-grade NAT), protocol-assignment, documentation, benchmarking, multicast,
/// broadcast or unspecified. Of IPv6 only global unicast (`2000::/3`) counts, less the
/// ranges that carry an IPv4 address or a tunnel (6to4, Teredo) and documentation; an
/// IPv4 address written as IPv6 is judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let [first, second, ..] = v6.segments();
            (first & 0xe000) == 0x2000 && first != 0x2002 && !(first == 0x2001 && (second == 0 || second == 0x0db8))
        }
    }
}

/// Event types as a form or a body sends them: names of published kinds, each once;
/// an empty list means every published type. `Invalid` on `field` for any other name.
pub fn event_types<'a>(field: &str, names: impl IntoIterator<Item = &'a str>) -> Result<Vec<EventKind>, AppError> {
    let mut kinds = Vec::new();
    for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
        let kind = EventKind::parse(name)
            .filter(|k| k.published())
            .ok_or_else(|| AppError::invalid(field, format!("{name:?} is not an event type webhooks deliver.")))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds.sort();
    Ok(kinds)
}

/// The `webhook-signature` header of message `id` sent at `timestamp` (Unix seconds) with
/// `body`: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under each secret, separated
/// by spaces (two during a rotation's overlap). A secret that is not `whsec_` base64 is
/// skipped.
pub fn signature(secrets: &[String], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|s| secret_key(s))
        .map(|key| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_specifications_example() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secrets = vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()];
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&secrets, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let two = vec![secrets[0].clone(), crate::store::webhooks::new_secret()];
        let both = signature(&two, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert!(both.starts_with("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,"), "{both}");
    }

    #[test]
    fn addresses_on_private_networks_are_refused_unless_allowed() {
        for public in
            ["https://hooks.example.com/tessera", "http://203.0.113.9.nip.io/x", "https://[2606:4700::1111]/h", "https://8.8.8.8/h"]
        {
            assert!(endpoint_url("url", public, false).is_ok(), "{public}");
        }
        for private in [
            "http://127.0.0.1:9000/h",
            "http://localhost/h",
            "http://api.localhost/h",
            "http://10.1.2.3/h",
            "http://192.168.0.1/h",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/h",
            "http://[fd00::1]/h",
            "http://[::ffff:127.0.0.1]/h",
            "http://0.0.0.0/h",
            "http://100.64.0.1/h",
            "http://192.0.0.8/h",
            "http://[::127.0.0.1]/h",
            "http://[64:ff9b::a9fe:a9fe]/h",
            "http://[2002:7f00:1::]/h",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/h",
            "http://[fec0::1]/h",
            "http://[fe80::1]/h",
            "http://2130706433/h",
            "http://0x7f.1/h",
            "http://017700000001/h",
        ] {
            assert!(endpoint_url("url", private, false).is_err(), "{private}");
            assert!(endpoint_url("url", private, true).is_ok(), "{private} when allowed");
        }
        for bad in [
            "",
            "hooks.example.com",
            "ftp://example.com/x",
            "https://user:pw@example.com/",
            "https://example.com/#x",
            "javascript:alert(1)",
        ] {
            assert!(endpoint_url("url", bad, true).is_err(), "{bad:?}");
        }
        assert!(endpoint_url("url", &format!("https://example.com/{}", "a".repeat(2000)), true).is_err());
    }

    #[test]
    fn event_types_are_published_kinds_each_once() {
        let kinds =
            event_types("types", ["seat.assigned", " seat.assigned", "entitlement.suspended", ""]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kinds, vec![EventKind::EntitlementSuspended, EventKind::SeatAssigned]);
        assert!(event_types("types", ["user.signed_in"]).is_err(), "sign-ins are not published");
        assert!(event_types("types", ["seat.stolen"]).is_err());
        assert_eq!(event_types("types", Vec::<&str>::new()).map(|k| k.len()).ok(), Some(0));
    }
}
