//! The deployment's secret: 32 bytes kept outside the database (in a file or the
//! environment), from which the keys that protect credentials at rest are derived. A copy
//! of the database alone can neither look a credential up nor read one back.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Keys derived from the deployment's secret, one per use.
#[derive(Clone)]
pub struct Secret {
    /// Keyed hashes that credentials are looked up by (the HMAC keyed once, cloned per use).
    lookup: Hmac<Sha256>,
    /// Authenticated encryption of what must be shown again (license keys).
    seal: XChaCha20Poly1305,
    /// The audit chain's MAC: without the secret, no one can write a link that verifies.
    audit: Hmac<Sha256>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

fn derive(master: &[u8; 32], purpose: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Secret {
    /// The keys derived from `master`.
    pub fn from_bytes(master: [u8; 32]) -> Secret {
        Secret {
            lookup: <Hmac<Sha256> as Mac>::new_from_slice(&derive(&master, "tessera credential lookup v1"))
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length")),
            seal: XChaCha20Poly1305::new(&derive(&master, "tessera credential seal v1").into()),
            audit: <Hmac<Sha256> as Mac>::new_from_slice(&derive(&master, "tessera audit chain v1"))
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length")),
        }
    }

    /// A fresh random secret (a new deployment's, or a test's).
    pub fn generate() -> [u8; 32] {
        use rand::RngCore;
        let mut master = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut master);
        master
    }

    /// Reads a secret written as 64 hex digits (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Secret, String> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the secret must be 64 hex digits (32 bytes)".into());
        }
        let mut master = [0u8; 32];
        for (i, byte) in master.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
        }
        Ok(Secret::from_bytes(master))
    }

    /// `master` written as [`parse`](Secret::parse) reads it.
    pub fn to_hex(master: &[u8; 32]) -> String {
        crate::engine::licensing::hex(master)
    }

    /// The keyed hash of `credential`, hex: what a credential is stored and found by.
    pub fn lookup(&self, credential: &[u8]) -> String {
        let mut mac = self.lookup.clone();
        mac.update(credential);
        crate::engine::licensing::hex(&mac.finalize().into_bytes())
    }

    /// A fresh MAC of the audit chain, keyed under this secret.
    pub fn audit_mac(&self) -> Hmac<Sha256> {
        self.audit.clone()
    }

    /// `plaintext` encrypted and authenticated (XChaCha20-Poly1305, random nonce), as
    /// base64url of nonce and ciphertext.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        use rand::RngCore;
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self.seal.encrypt(XNonce::from_slice(&nonce), plaintext).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        B64.encode(out)
    }

    /// What [`seal`](Secret::seal) sealed; `None` when it was sealed under another secret
    /// or altered.
    pub fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        let raw = B64.decode(sealed).ok()?;
        if raw.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(24);
        self.seal.decrypt(XNonce::from_slice(nonce), ciphertext).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn sealed_text_opens_under_its_secret_only() {
        let master = Secret::generate();
        let secret = Secret::parse(&Secret::to_hex(&master)).unwrap_or_else(|e| panic!("{e}"));
        let sealed = secret.seal(b"TLK-1");
        assert_ne!(sealed, secret.seal(b"TLK-1"), "a fresh nonce each time");
        assert_eq!(secret.open(&sealed).as_deref(), Some(&b"TLK-1"[..]));
        assert_eq!(Secret::from_bytes(Secret::generate()).open(&sealed), None);
        let mut altered = sealed.into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(secret.open(&String::from_utf8(altered).unwrap_or_default()), None);
        assert_eq!(secret.lookup(b"x"), Secret::from_bytes(master).lookup(b"x"));
        assert_ne!(secret.lookup(b"x"), Secret::from_bytes(Secret::generate()).lookup(b"x"));
        assert!(Secret::parse("abc").is_err());
    }
}
