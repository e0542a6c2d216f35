//! Revocation (RFC 7009): tell the server, then delete here.

use super::*;

impl Session {
    /// Revokes the tokens at the server (RFC 7009) when it has a revocation endpoint, then
    /// deletes them here. Returns whether the server was told.
    pub fn revoke(&mut self) -> Result<bool> {
        let mut told = false;
        if let Some(endpoint) = self.state.revocation_endpoint.clone() {
            let tokens = [
                (self.refresh.clone(), "refresh_token"),
                (self.access.clone(), "access_token"),
            ];
            for (token, hint) in tokens {
                let Some(token) = token else { continue };
                let form = vec![
                    ("token", token.expose().to_string()),
                    ("token_type_hint", hint.to_string()),
                ];
                let resp = self.token_request(&endpoint, form)?;
                if !resp.ok() {
                    let status = resp.status;
                    let detail = error_detail(resp);
                    return Err(Error::failed(
                        format!(
                            "{}: the server refused to revoke the {hint} (HTTP {status}{detail}); nothing was deleted",
                            self.label()
                        ),
                        match &self.name {
                            Some(n) => format!("to delete the tokens here anyway: crux mcp auth --revoke {n} --local"),
                            None => String::new(),
                        },
                    ));
                }
                told = true;
            }
        }
        self.forget_tokens()?;
        Ok(told)
    }
}
