//! What every handler shares.

use std::sync::Arc;

use service_kit::admin_auth::OperatorAuth;

use crate::backend::Backend;
use crate::identity::IdentityStore;

#[derive(Clone)]
pub struct AppState {
    pub identity: IdentityStore,
    pub backend: Backend,
    pub operator: OperatorAuth,
    pub settings: Arc<Settings>,
}

/// The console's public face.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where admins reach the console, e.g. `https://admin.example.com` (no trailing slash).
    pub public_url: String,
    /// The SCIM base URL ("Tenant URL") admins paste into their IdP.
    pub scim_base_url: String,
}

impl Settings {
    /// Cookies are Secure (and `__Host-` prefixed) whenever the console is served over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn sign_in_url(&self, secret: &str) -> String {
        format!("{}/signin/{secret}", self.public_url)
    }
}
