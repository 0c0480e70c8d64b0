//! The Event Hubs connection string, as the portal and the emulator print it:
//! `Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=<rule>;
//! SharedAccessKey=<key>;EntityPath=<hub>`, optionally `UseDevelopmentEmulator=true` (plain
//! AMQP on 5672, as the emulator speaks) or `SharedAccessSignature=<token>` instead of the key.

use siemflow_core::secret::SecretString;

/// How a connection string authorizes.
#[derive(Debug, Clone)]
pub enum SharedAccess {
    /// A key, to sign SAS tokens with.
    Key {
        /// The policy (rule) name.
        name: String,
        /// The key, used as-is as the HMAC key.
        key: SecretString,
    },
    /// A ready-made SAS token (`SharedAccessSignature sr=...`).
    Signature(SecretString),
}

/// A parsed connection string.
#[derive(Debug, Clone)]
pub struct ConnectionString {
    /// The namespace host, e.g. `contoso.servicebus.windows.net` (with `:port` when given).
    pub host: String,
    /// An explicit port from the endpoint.
    pub port: Option<u16>,
    /// The hub, from `EntityPath`.
    pub hub: Option<String>,
    /// The credentials.
    pub access: SharedAccess,
    /// `UseDevelopmentEmulator=true`: plain TCP, no TLS.
    pub development_emulator: bool,
}

impl ConnectionString {
    /// Parses `text`; errors never repeat the key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut endpoint = None;
        let mut key_name = None;
        let mut key = None;
        let mut signature = None;
        let mut hub = None;
        let mut development_emulator = false;
        for part in text
            .split(';')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| "a connection string part is not `Name=value`".to_string())?;
            match name.to_ascii_lowercase().as_str() {
                "endpoint" => endpoint = Some(value.to_string()),
                "sharedaccesskeyname" => key_name = Some(value.to_string()),
                "sharedaccesskey" => key = Some(value.to_string()),
                "sharedaccesssignature" => signature = Some(value.to_string()),
                "entitypath" => hub = Some(value.to_string()).filter(|hub| !hub.is_empty()),
                "usedevelopmentemulator" => {
                    development_emulator = value.eq_ignore_ascii_case("true");
                }
                _ => {}
            }
        }
        let endpoint = endpoint.ok_or("the connection string has no `Endpoint=`")?;
        let authority = endpoint
            .split_once("://")
            .map_or(endpoint.as_str(), |(_, rest)| rest)
            .trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!(
                "`Endpoint={endpoint}` is not `sb://<namespace host>/`"
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host.to_string(),
                Some(
                    port.parse::<u16>()
                        .map_err(|_| format!("`Endpoint={endpoint}` has a bad port"))?,
                ),
            ),
            None => (authority.to_string(), None),
        };
        let access = match (key_name, key, signature) {
            (Some(name), Some(key), None) => SharedAccess::Key {
                name,
                key: SecretString::new(key),
            },
            (_, None, Some(signature)) => SharedAccess::Signature(SecretString::new(signature)),
            (_, Some(_), Some(_)) => {
                return Err(
                    "the connection string has both `SharedAccessKey` and `SharedAccessSignature`"
                        .into(),
                );
            }
            (None, Some(_), None) => {
                return Err("the connection string has no `SharedAccessKeyName=`".into());
            }
            (_, None, None) => {
                return Err(
                    "the connection string has no `SharedAccessKey=` or `SharedAccessSignature=`"
                        .into(),
                );
            }
        };
        Ok(Self {
            host,
            port,
            hub,
            access,
            development_emulator,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_portal_and_emulator_forms() {
        let portal = ConnectionString::parse(
            "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=a2V5PQ==;EntityPath=defender",
        )
        .unwrap();
        assert_eq!(portal.host, "contoso.servicebus.windows.net");
        assert_eq!(portal.port, None);
        assert_eq!(portal.hub.as_deref(), Some("defender"));
        assert!(!portal.development_emulator);
        match portal.access {
            SharedAccess::Key { name, key } => {
                assert_eq!(name, "listen");
                assert_eq!(key.expose(), "a2V5PQ==");
            }
            other => panic!("{other:?}"),
        }

        let emulator = ConnectionString::parse(
            "Endpoint=sb://127.0.0.1:5673;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;",
        )
        .unwrap();
        assert_eq!(
            (emulator.host.as_str(), emulator.port),
            ("127.0.0.1", Some(5673))
        );
        assert_eq!(emulator.hub, None);
        assert!(emulator.development_emulator);
    }

    #[test]
    fn names_what_is_missing_without_repeating_the_key() {
        for (text, message) in [
            (
                "SharedAccessKeyName=a;SharedAccessKey=SECRET",
                "no `Endpoint=`",
            ),
            (
                "Endpoint=sb://h/;SharedAccessKey=SECRET",
                "no `SharedAccessKeyName=`",
            ),
            (
                "Endpoint=sb://h/;SharedAccessKeyName=a",
                "no `SharedAccessKey=`",
            ),
            (
                "Endpoint=sb://h/path;SharedAccessKeyName=a;SharedAccessKey=SECRET",
                "not `sb://",
            ),
            ("Endpoint=sb://h/;SECRET", "not `Name=value`"),
        ] {
            let error = ConnectionString::parse(text).unwrap_err();
            assert!(error.contains(message), "{text}: {error}");
            assert!(!error.contains("SECRET"), "{error}");
        }
    }
}
