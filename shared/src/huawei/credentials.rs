//! The Huawei application's credentials: the app key names us in every `UsernameToken`, the app secret keys its
//! digest.

use secrecy::SecretString;

/// The app key and app secret of the Huawei application (docs/huawei-protocol.md, "Signing our requests: X-AKSK").
#[derive(Debug, Clone)]
pub struct AppCredentials {
    pub app_key: String,
    pub app_secret: SecretString,
}
