//! Where a tenant lives: the login host and the Defender and Graph API hosts of each cloud.
//!
//! One option (`cloud:`) picks all of them, so a GCC High tenant cannot end up with a commercial
//! login host and a US Government API host. GCC uses the commercial login and Graph hosts but its
//! own `.us` Defender hosts (`shared/reference/defender-apis.md`, sovereign clouds table).

use serde::Deserialize;

/// A Microsoft cloud.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    /// Worldwide (commercial) Microsoft 365.
    #[default]
    #[serde(alias = "public", alias = "global")]
    Commercial,
    /// US Government Community Cloud.
    Gcc,
    /// US Government GCC High.
    GccHigh,
    /// US Department of Defense.
    Dod,
}

/// A Microsoft API siemflow calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Defender for Endpoint (`/api/alerts`).
    Endpoint,
    /// Defender XDR (`/api/incidents`).
    Xdr,
    /// Microsoft Graph (`/v1.0/security/...`).
    Graph,
}

impl Cloud {
    /// The Entra ID token host.
    pub fn authority_host(self) -> &'static str {
        match self {
            Self::Commercial | Self::Gcc => "https://login.microsoftonline.com",
            Self::GccHigh | Self::Dod => "https://login.microsoftonline.us",
        }
    }

    /// The base URL of `service`, which is also its token resource (audience).
    pub fn api_host(self, service: Service) -> &'static str {
        match (self, service) {
            (Self::Commercial, Service::Endpoint) => "https://api.securitycenter.microsoft.com",
            (Self::Gcc, Service::Endpoint) => "https://api-gcc.securitycenter.microsoft.us",
            (Self::GccHigh | Self::Dod, Service::Endpoint) => {
                "https://api-gov.securitycenter.microsoft.us"
            }
            (Self::Commercial, Service::Xdr) => "https://api.security.microsoft.com",
            (Self::Gcc, Service::Xdr) => "https://api-gcc.security.microsoft.us",
            (Self::GccHigh | Self::Dod, Service::Xdr) => "https://api-gov.security.microsoft.us",
            (Self::Commercial | Self::Gcc, Service::Graph) => "https://graph.microsoft.com",
            (Self::GccHigh, Service::Graph) => "https://graph.microsoft.us",
            (Self::Dod, Service::Graph) => "https://dod-graph.microsoft.us",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcc_mixes_commercial_login_with_us_defender_hosts() {
        assert_eq!(
            Cloud::Gcc.authority_host(),
            "https://login.microsoftonline.com"
        );
        assert_eq!(
            Cloud::Gcc.api_host(Service::Endpoint),
            "https://api-gcc.securitycenter.microsoft.us"
        );
        assert_eq!(
            Cloud::Gcc.api_host(Service::Graph),
            "https://graph.microsoft.com"
        );
        assert_eq!(
            Cloud::GccHigh.authority_host(),
            "https://login.microsoftonline.us"
        );
        assert_eq!(
            Cloud::Dod.api_host(Service::Graph),
            "https://dod-graph.microsoft.us"
        );
    }
}
