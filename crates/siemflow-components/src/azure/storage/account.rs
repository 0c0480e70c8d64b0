//! A storage account and how requests to it are authorized.
//!
//! Connection strings are the Azure portal's `Key=Value;...` form: `AccountName`, `AccountKey`,
//! `DefaultEndpointsProtocol`, `EndpointSuffix`, `BlobEndpoint`, `SharedAccessSignature`, and
//! `UseDevelopmentStorage=true` (Azurite's well-known account on 127.0.0.1:10000).

use std::collections::HashMap;

use base64::Engine;
use reqwest::Url;
use siemflow_core::secret::SecretString;

use crate::azure::credentials::{EntraAppBlock, EntraAppConfig};
use crate::azure::token::TokenProvider;

/// Azurite's account name.
pub const DEVELOPMENT_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's published account key.
pub const DEVELOPMENT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// How requests are authorized.
#[derive(Clone)]
pub enum StorageAuth {
    /// SharedKey: HMAC-SHA256 with the account key.
    SharedKey {
        /// The decoded key.
        key: Vec<u8>,
    },
    /// A SAS token appended to every URL (without the leading `?`).
    Sas(SecretString),
    /// An Entra token for `https://storage.azure.com`.
    Bearer(TokenProvider),
}

impl std::fmt::Debug for StorageAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::SharedKey { .. } => "SharedKey",
            Self::Sas(_) => "Sas",
            Self::Bearer(_) => "Bearer",
        })
    }
}

/// An account's blob endpoint and credentials.
#[derive(Debug, Clone)]
pub struct StorageAccount {
    /// The account name (signs SharedKey requests).
    pub name: String,
    /// `https://<account>.blob.core.windows.net` or a path-style emulator URL, no trailing `/`.
    pub blob_endpoint: Url,
    /// How to authorize.
    pub auth: StorageAuth,
}

impl StorageAccount {
    /// Parses a connection string.
    pub fn from_connection_string(text: &str) -> Result<Self, String> {
        let mut fields: HashMap<String, String> = HashMap::new();
        for part in text
            .split(';')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let (key, value) = part
                .split_once('=')
                .ok_or("the connection string is not `Key=Value;...`")?;
            fields.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
        let get = |name: &str| fields.get(&name.to_ascii_lowercase()).cloned();
        if get("UseDevelopmentStorage").is_some_and(|value| value.eq_ignore_ascii_case("true")) {
            let proxy = get("DevelopmentStorageProxyUri")
                .unwrap_or_else(|| "http://127.0.0.1:10000".to_string());
            return Self::shared_key(
                DEVELOPMENT_ACCOUNT,
                DEVELOPMENT_KEY,
                &format!("{}/{DEVELOPMENT_ACCOUNT}", proxy.trim_end_matches('/')),
            );
        }
        let name = get("AccountName");
        let endpoint = match (get("BlobEndpoint"), &name) {
            (Some(endpoint), _) => endpoint,
            (None, Some(name)) => format!(
                "{}://{name}.blob.{}",
                get("DefaultEndpointsProtocol").unwrap_or_else(|| "https".into()),
                get("EndpointSuffix").unwrap_or_else(|| "core.windows.net".into())
            ),
            (None, None) => {
                return Err(
                    "the connection string has neither `AccountName` nor `BlobEndpoint`".into(),
                );
            }
        };
        match (get("AccountKey"), get("SharedAccessSignature")) {
            (Some(key), _) => {
                let name =
                    name.ok_or("the connection string has `AccountKey` but no `AccountName`")?;
                Self::shared_key(&name, &key, &endpoint)
            }
            (None, Some(sas)) => Self::with_sas(&endpoint, &sas),
            (None, None) => Err(
                "the connection string has neither `AccountKey` nor `SharedAccessSignature`".into(),
            ),
        }
    }

    /// An account authorized by its key.
    pub fn shared_key(name: &str, key: &str, endpoint: &str) -> Result<Self, String> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| "`AccountKey` is not base64".to_string())?;
        Ok(Self {
            name: name.to_string(),
            blob_endpoint: endpoint_url(endpoint)?,
            auth: StorageAuth::SharedKey { key },
        })
    }

    /// An account reached with a SAS token (`sv=...&sig=...`, with or without `?`).
    pub fn with_sas(endpoint: &str, sas: &str) -> Result<Self, String> {
        let url = endpoint_url(endpoint)?;
        Ok(Self {
            name: account_of(&url),
            blob_endpoint: url,
            auth: StorageAuth::Sas(SecretString::new(sas.trim().trim_start_matches('?'))),
        })
    }

    /// An account reached with Entra tokens.
    pub fn with_tokens(endpoint: &str, tokens: TokenProvider) -> Result<Self, String> {
        let url = endpoint_url(endpoint)?;
        Ok(Self {
            name: account_of(&url),
            blob_endpoint: url,
            auth: StorageAuth::Bearer(tokens),
        })
    }

    /// The account of a component's options: `connection_string`, or `account_url` with
    /// `sas_token` or `entra` (whose tokens `http` fetches). What every component that reaches
    /// a storage account takes.
    pub fn from_options(
        connection_string: Option<&SecretString>,
        account_url: Option<&str>,
        sas_token: Option<&SecretString>,
        entra: Option<&EntraAppBlock>,
        http: &reqwest::Client,
    ) -> Result<Self, String> {
        match AccountOptions::choose(connection_string, account_url, sas_token, entra)? {
            AccountOptions::ConnectionString(text) => Self::from_connection_string(text)
                .map_err(|error| format!("`connection_string`: {error}")),
            AccountOptions::Sas { url, sas } => Self::with_sas(url, sas),
            AccountOptions::Entra { url, app } => {
                let tokens = app
                    .provider(http.clone())
                    .map_err(|error| format!("`entra`: {error}"))?;
                Self::with_tokens(url, tokens)
            }
        }
    }

    /// Checks the same options without building a client or reading a certificate file.
    pub fn check_options(
        connection_string: Option<&SecretString>,
        account_url: Option<&str>,
        sas_token: Option<&SecretString>,
        entra: Option<&EntraAppBlock>,
    ) -> Result<(), String> {
        match AccountOptions::choose(connection_string, account_url, sas_token, entra)? {
            AccountOptions::ConnectionString(text) => Self::from_connection_string(text)
                .map(drop)
                .map_err(|error| format!("`connection_string`: {error}")),
            AccountOptions::Sas { url, sas } => Self::with_sas(url, sas).map(drop),
            AccountOptions::Entra { url, app } => {
                app.check().map_err(|error| format!("`entra`: {error}"))?;
                endpoint_url(url).map(drop)
            }
        }
    }
}

/// Which of the ways to reach an account the options choose.
enum AccountOptions<'a> {
    ConnectionString(&'a str),
    Sas {
        url: &'a str,
        sas: &'a str,
    },
    Entra {
        url: &'a str,
        app: &'a EntraAppConfig,
    },
}

impl<'a> AccountOptions<'a> {
    fn choose(
        connection_string: Option<&'a SecretString>,
        account_url: Option<&'a str>,
        sas_token: Option<&'a SecretString>,
        entra: Option<&'a EntraAppBlock>,
    ) -> Result<Self, String> {
        let entra = entra.map(|block| &block.app);
        match (connection_string, account_url, sas_token, entra) {
            (Some(text), None, None, None) => Ok(Self::ConnectionString(text.expose())),
            (None, Some(url), Some(sas), None) => Ok(Self::Sas {
                url,
                sas: sas.expose(),
            }),
            (None, Some(url), None, Some(app)) => Ok(Self::Entra { url, app }),
            (None, Some(_), Some(_), Some(_)) => Err("set `sas_token` or `entra`, not both".into()),
            (None, Some(_), None, None) => Err("`account_url` needs `sas_token` or `entra`".into()),
            (None, None, sas, entra) if sas.is_some() || entra.is_some() => {
                Err("`sas_token` and `entra` need `account_url`".into())
            }
            (Some(_), _, _, _) => Err(
                "set `connection_string`, or `account_url` with `sas_token` or `entra`, not both"
                    .into(),
            ),
            (None, None, _, _) => {
                Err("set `connection_string`, or `account_url` and `sas_token` or `entra`".into())
            }
        }
    }
}

fn endpoint_url(endpoint: &str) -> Result<Url, String> {
    crate::http_client::parse_endpoint(endpoint.trim_end_matches('/'))
        .map_err(|error| error.replace("`endpoint`", "the blob endpoint"))
}

/// The account name of `https://<account>.blob...` or a path-style `http://host:port/<account>`.
fn account_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match host.split_once(".blob.") {
        Some((account, _)) => account.to_string(),
        None => url
            .path_segments()
            .and_then(|mut segments| segments.next())
            .unwrap_or_default()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_of_the_portal_and_azurite() {
        let azurite = StorageAccount::from_connection_string("UseDevelopmentStorage=true").unwrap();
        assert_eq!(azurite.name, DEVELOPMENT_ACCOUNT);
        assert_eq!(
            azurite.blob_endpoint.as_str(),
            "http://127.0.0.1:10000/devstoreaccount1"
        );
        let portal = StorageAccount::from_connection_string(
            "DefaultEndpointsProtocol=https;AccountName=contosologs;AccountKey=a2V5;EndpointSuffix=core.usgovcloudapi.net",
        )
        .unwrap();
        assert_eq!(
            portal.blob_endpoint.as_str(),
            "https://contosologs.blob.core.usgovcloudapi.net/"
        );
        let sas = StorageAccount::from_connection_string(
            "BlobEndpoint=https://contosologs.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sig=x",
        )
        .unwrap();
        assert_eq!(sas.name, "contosologs");
        assert!(matches!(sas.auth, StorageAuth::Sas(_)));
        assert!(StorageAccount::from_connection_string("AccountName=x").is_err());
        assert!(StorageAccount::from_connection_string("garbage").is_err());
    }
}
