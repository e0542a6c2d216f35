//! The small cryptography OAuth needs: PKCE (RFC 7636, S256 only), random `state`, and
//! `private_key_jwt` client assertions (RFC 7523) signed with an ES256 key crux generates.

use crate::error::{Error, Result};
use crate::secret::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use p256::ecdsa::{signature::Signer, Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url: a PKCE verifier (43 characters) or a `state`.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

pub struct Pkce {
    pub verifier: Secret,
    pub challenge: String,
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

impl Pkce {
    pub fn new() -> Pkce {
        let verifier = random_token();
        let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier: Secret::new(verifier),
            challenge,
        }
    }
}

/// A new ES256 key, as PKCS#8 PEM (what the keystore holds).
pub fn generate_key() -> Result<Secret> {
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::failed(format!("cannot encode the new key: {e}"), "try again"))?;
    Ok(Secret::new(pem.as_str()))
}

fn signing_key(pem: &Secret) -> Result<SigningKey> {
    SigningKey::from_pkcs8_pem(pem.expose()).map_err(|_| {
        Error::failed(
            "the stored private key is not a valid ES256 (P-256) key",
            "delete it (crux mcp auth --delete <MCP> private_key), then create and register a new one: crux mcp auth <MCP> --show-public-key",
        )
    })
}

/// The key's RFC 7638 thumbprint, used as its `kid`.
fn thumbprint(jwk: &serde_json::Value) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
        jwk["crv"].as_str().unwrap_or_default(),
        jwk["kty"].as_str().unwrap_or_default(),
        jwk["x"].as_str().unwrap_or_default(),
        jwk["y"].as_str().unwrap_or_default()
    );
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

/// The public half as a JWK, to register with the authorization server.
pub fn public_jwk(pem: &Secret) -> Result<serde_json::Value> {
    let key = signing_key(pem)?;
    let point = key.verifying_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(Error::failed(
            "the stored key has no public point",
            "generate a new key",
        ));
    };
    let mut jwk = json!({
        "kty": "EC",
        "crv": "P-256",
        "x": B64.encode(x),
        "y": B64.encode(y),
        "use": "sig",
        "alg": "ES256",
    });
    jwk["kid"] = json!(thumbprint(&jwk));
    Ok(jwk)
}

/// A signed client assertion (RFC 7523 §3): issuer and subject the client id, audience the
/// token endpoint's issuer or URL, valid for five minutes, with a fresh `jti`.
pub fn client_assertion(pem: &Secret, client_id: &str, audience: &str) -> Result<Secret> {
    let key = signing_key(pem)?;
    let jwk = public_jwk(pem)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": jwk["kid"]});
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "jti": random_token(),
    });
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature: Signature = key.sign(signing_input.as_bytes());
    Ok(Secret::new(format!(
        "{signing_input}.{}",
        B64.encode(signature.to_bytes())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{signature::Verifier, VerifyingKey};

    #[test]
    fn pkce_is_s256_of_the_verifier() {
        let p = Pkce::new();
        assert_eq!(p.verifier.expose().len(), 43);
        assert_eq!(p.challenge, B64.encode(Sha256::digest(p.verifier.expose())));
    }

    #[test]
    fn assertions_verify_with_the_published_key() {
        let pem = generate_key().unwrap();
        let jwt = client_assertion(&pem, "client-1", "https://as.example/token").unwrap();
        let parts: Vec<&str> = jwt.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let jwk = public_jwk(&pem).unwrap();
        let mut point = vec![4u8];
        point.extend(B64.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(B64.decode(jwk["y"].as_str().unwrap()).unwrap());
        let vk = VerifyingKey::from_sec1_bytes(&point).unwrap();
        let sig = Signature::from_slice(&B64.decode(parts[2]).unwrap()).unwrap();
        vk.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["aud"], "https://as.example/token");
        assert!(
            !jwk.to_string().contains("\"d\""),
            "no private part in the JWK"
        );
    }
}
