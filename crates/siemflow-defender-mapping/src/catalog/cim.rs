//! Splunk CIM: the datasets the `defender-splunk` events land in, and the conversions that give
//! CIM's own spellings.
//!
//! A CIM data model selects events by tags, which only a Splunk add-on can give (event types
//! and tags are search-time knowledge; HEC cannot send them). `siemflow mappings splunk-addon`
//! writes that add-on from [`dataset_of`]: one event type per table, tagged with its dataset's
//! full tag set. The HEC events carry the fields each dataset requires, in CIM's values: the
//! conversions are [`CimValue`] (per field) and [`CimDataset::defaults`] (per dataset).
//!
//! Facts from Splunk CIM 8.5 and pytest-splunk-addon's data model definitions, as summarized in
//! the project's reference notes.

/// A CIM dataset siemflow tags events for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CimDataset {
    /// `Model` or `Model.Dataset`, as the tables' `cim_model` names it.
    pub name: &'static str,
    /// The tags its constraint selects on, its parents' included.
    pub tags: &'static [&'static str],
    /// Whether only events with a CIM `action` belong (the dataset requires one with
    /// prescribed values, and an event type without one is not of this kind: a network
    /// table's `NetworkSignatureInspected` is not a connection).
    pub needs_action: bool,
    /// Fields set when the event has none.
    pub defaults: &'static [(&'static str, CimDefault)],
}

/// A value a dataset gives an event that lacks the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CimDefault {
    /// This text.
    Text(&'static str),
    /// The value of another field of the event.
    Field(&'static str),
    /// The seconds from one time field of the event to another (RFC 3339 both).
    SecondsBetween(&'static str, &'static str),
}

/// The datasets, with their tags.
pub const CIM_DATASETS: &[CimDataset] = &[
    CimDataset {
        name: "Alerts",
        tags: &["alert"],
        needs_action: false,
        defaults: &[
            ("type", CimDefault::Text("alert")),
            ("app", CimDefault::Field("vendor_product")),
        ],
    },
    CimDataset {
        name: "Endpoint.Processes",
        tags: &["process", "report"],
        needs_action: true,
        defaults: &[],
    },
    CimDataset {
        name: "Endpoint.Filesystem",
        tags: &["endpoint", "filesystem"],
        needs_action: true,
        defaults: &[],
    },
    CimDataset {
        name: "Endpoint.Registry",
        tags: &["endpoint", "registry"],
        needs_action: true,
        // Defender records registry changes that happened.
        defaults: &[("status", CimDefault::Text("success"))],
    },
    CimDataset {
        name: "Network_Traffic",
        tags: &["network", "communicate"],
        needs_action: true,
        defaults: &[],
    },
    CimDataset {
        name: "Authentication",
        tags: &["authentication"],
        needs_action: true,
        defaults: &[("app", CimDefault::Field("vendor_product"))],
    },
    CimDataset {
        name: "Change.Account_Management",
        tags: &["change", "account"],
        needs_action: true,
        // Defender records directory changes that happened, to user accounts.
        defaults: &[
            ("status", CimDefault::Text("success")),
            ("change_type", CimDefault::Text("AAA")),
            ("object_category", CimDefault::Text("user")),
        ],
    },
    CimDataset {
        name: "Malware.Malware_Attacks",
        tags: &["malware", "attack"],
        needs_action: true,
        defaults: &[],
    },
    CimDataset {
        name: "Inventory.OS",
        tags: &["inventory", "system", "version"],
        needs_action: false,
        defaults: &[],
    },
    CimDataset {
        name: "Inventory.Network",
        tags: &["inventory", "network"],
        needs_action: false,
        defaults: &[],
    },
    CimDataset {
        name: "Inventory.User",
        tags: &["inventory", "user"],
        needs_action: false,
        defaults: &[],
    },
    CimDataset {
        name: "Certificates",
        tags: &["certificate"],
        needs_action: false,
        defaults: &[(
            "ssl_validity_window",
            CimDefault::SecondsBetween("ssl_start_time", "ssl_end_time"),
        )],
    },
    CimDataset {
        name: "Email",
        tags: &["email"],
        needs_action: true,
        // Exchange Online transport: the messages EmailEvents describes travel by SMTP.
        defaults: &[("protocol", CimDefault::Text("smtp"))],
    },
    CimDataset {
        name: "Email.Content",
        tags: &["email", "content"],
        // A message's attachments and URLs: what it carried, not what became of it (the
        // delivery action is in its EmailEvents row).
        needs_action: false,
        defaults: &[("protocol", CimDefault::Text("smtp"))],
    },
    CimDataset {
        name: "Change",
        tags: &["change"],
        needs_action: true,
        defaults: &[],
    },
    CimDataset {
        name: "Web",
        tags: &["web"],
        needs_action: true,
        defaults: &[],
    },
    CimDataset {
        name: "Network_Resolution",
        tags: &["network", "resolution", "dns"],
        needs_action: false,
        // Defender for Identity records the queries clients send to domain controllers.
        defaults: &[("message_type", CimDefault::Text("Query"))],
    },
];

/// The dataset a table's events are tagged for, if siemflow tags it into one (the tables of
/// other models carry CIM field names but no tags yet: docs/mappings.md says which).
pub fn dataset_of(cim_model: &str) -> Option<&'static CimDataset> {
    CIM_DATASETS
        .iter()
        .find(|dataset| dataset.name == cim_model)
}

/// The dataset of an event type: its own ([`Action::cim_dataset`]), else its table's.
pub fn dataset_for(table: &Table, action: &Action) -> Option<&'static CimDataset> {
    dataset_of(action.cim_dataset.unwrap_or(table.cim_model))
}

use super::model::{Action, Table};

/// How a column's value is written in CIM's spelling (Splunk only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CimValue {
    /// Lower case (`Tcp` is `tcp`).
    Lower,
    /// A value from a list of `(Defender spelling, CIM value)`, any case; a value the list
    /// lacks is not written (the column stays in `unmapped`).
    OneOf(&'static [(&'static str, &'static str)]),
    /// The hive of a registry path in CIM's spelling (`HKEY_LOCAL_MACHINE\Software`).
    RegistryHive,
    /// The last element of a path with this separator: a registry key's own name (`\\`), a
    /// cloud resource's name (`/`).
    LastPathElement(char),
    /// The host of a URL, lower case (`https://Login.Contoso.example:8443/a` is
    /// `login.contoso.example`).
    UrlHost,
    /// MITRE ATT&CK technique ids, a list: `T1003` and `T1003.001` as they are, the id in a
    /// `Name (T1003)` item; from a JSON array, its text, or one string.
    TechniqueIds,
    /// The domain of an e-mail address, lower case.
    EmailDomain,
    /// How many values: 1, or the length of a list.
    Count,
    /// A MAC address in lower case with colons (`00-15-5D-0A-01-02` is `00:15:5d:0a:01:02`).
    Mac,
    /// The values of a list (a JSON array or its text): strings as they are, and from objects
    /// the value of this key (`IPAddresses`' `IPAddress`); `None` for a list of strings.
    Values(Option<&'static str>),
}

/// CIM's registry hives and the path prefixes Defender writes for them.
const HIVES: &[(&str, &str)] = &[
    ("HKEY_LOCAL_MACHINE\\SAM", "HKEY_LOCAL_MACHINE\\SAM"),
    (
        "HKEY_LOCAL_MACHINE\\SECURITY",
        "HKEY_LOCAL_MACHINE\\Security",
    ),
    (
        "HKEY_LOCAL_MACHINE\\SOFTWARE",
        "HKEY_LOCAL_MACHINE\\Software",
    ),
    ("HKEY_LOCAL_MACHINE\\SYSTEM", "HKEY_LOCAL_MACHINE\\System"),
    ("HKEY_USERS\\.DEFAULT", "HKEY_USERS\\.DEFAULT"),
    ("HKEY_CURRENT_USER", "HKEY_CURRENT_USER"),
    ("HKEY_CURRENT_CONFIG", "HKEY_CURRENT_CONFIG"),
    ("HKLM\\SAM", "HKEY_LOCAL_MACHINE\\SAM"),
    ("HKLM\\SECURITY", "HKEY_LOCAL_MACHINE\\Security"),
    ("HKLM\\SOFTWARE", "HKEY_LOCAL_MACHINE\\Software"),
    ("HKLM\\SYSTEM", "HKEY_LOCAL_MACHINE\\System"),
    ("HKCU", "HKEY_CURRENT_USER"),
];

impl CimValue {
    /// Whether the value is a JSON list (a multivalue field, `field{}` to Splunk's JSON
    /// extraction).
    pub const fn is_list(self) -> bool {
        matches!(self, CimValue::TechniqueIds | CimValue::Values(_))
    }

    /// The CIM value of a column's value (`json` its JSON value), if it has one.
    pub fn convert(self, json: &serde_json::Value) -> Option<serde_json::Value> {
        use serde_json::Value;
        let text = || match json {
            Value::String(text) => Some(text.trim().to_string()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        };
        match self {
            CimValue::Lower => text().map(|text| Value::from(text.to_lowercase())),
            CimValue::OneOf(pairs) => {
                let text = text()?;
                pairs
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&text))
                    .map(|(_, value)| Value::from(*value))
            }
            CimValue::RegistryHive => {
                let path = text()?;
                HIVES
                    .iter()
                    .find(|(prefix, _)| {
                        path.len() >= prefix.len()
                            && path.is_char_boundary(prefix.len())
                            && path[..prefix.len()].eq_ignore_ascii_case(prefix)
                            && path[prefix.len()..]
                                .chars()
                                .next()
                                .is_none_or(|c| c == '\\')
                    })
                    .map(|(_, hive)| Value::from(*hive))
            }
            CimValue::LastPathElement(separator) => {
                let path = text()?;
                let name = path.trim_end_matches(separator).rsplit(separator).next()?;
                (!name.is_empty()).then(|| Value::from(name))
            }
            CimValue::UrlHost => {
                let url = text()?;
                let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
                let authority = rest.split(['/', '?', '#']).next()?;
                let host = authority
                    .rsplit_once('@')
                    .map_or(authority, |(_, host)| host);
                let host = match host.strip_prefix('[') {
                    Some(bracketed) => bracketed.split(']').next()?,
                    None => host.split(':').next()?,
                };
                (!host.is_empty()).then(|| Value::from(host.to_lowercase()))
            }
            CimValue::TechniqueIds => {
                let items = match json {
                    Value::Array(items) => items.clone(),
                    Value::String(text) if text.trim_start().starts_with('[') => {
                        serde_json::from_str::<Vec<Value>>(text).ok()?
                    }
                    Value::String(_) => vec![json.clone()],
                    _ => return None,
                };
                let ids: Vec<Value> = items
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(technique_id)
                    .map(Value::from)
                    .collect();
                (!ids.is_empty()).then_some(Value::Array(ids))
            }
            CimValue::EmailDomain => {
                let address = text()?;
                let (_, domain) = address.rsplit_once('@')?;
                let domain = domain.trim_end_matches('>').to_lowercase();
                (!domain.is_empty()).then(|| Value::from(domain))
            }
            CimValue::Mac => {
                let mac = text()?;
                let digits: Vec<char> = mac
                    .chars()
                    .filter(|c| !matches!(c, '-' | ':' | '.'))
                    .collect();
                if digits.len() != 12 || !digits.iter().all(char::is_ascii_hexdigit) {
                    return None;
                }
                let pairs: Vec<String> = digits
                    .chunks(2)
                    .map(|pair| pair.iter().collect::<String>().to_ascii_lowercase())
                    .collect();
                Some(Value::from(pairs.join(":")))
            }
            CimValue::Values(key) => {
                let items = match json {
                    Value::Array(items) => items.clone(),
                    Value::String(text) => serde_json::from_str::<Vec<Value>>(text).ok()?,
                    _ => return None,
                };
                let values: Vec<Value> = items
                    .iter()
                    .filter_map(|item| match key {
                        Some(key) => item.get(key),
                        None => Some(item),
                    })
                    .filter_map(Value::as_str)
                    .filter(|text| !text.trim().is_empty())
                    .map(Value::from)
                    .collect();
                (!values.is_empty()).then_some(Value::Array(values))
            }
            CimValue::Count => match json {
                Value::Array(items) => Some(Value::from(items.len())),
                Value::Null => None,
                Value::String(text) if text.trim().is_empty() => None,
                _ => Some(Value::from(1)),
            },
        }
    }
}

/// The ATT&CK id of a technique item: `T1003`, `T1003.001`, or the id in `Name (T1003.001)`.
fn technique_id(item: &str) -> Option<String> {
    let item = item.trim();
    let candidate = match item.strip_suffix(')') {
        Some(rest) => rest.rsplit_once('(')?.1.trim(),
        None => item,
    };
    is_technique_id(candidate).then(|| candidate.to_string())
}

/// `T` and four digits, optionally `.` and three digits.
fn is_technique_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: &[u8]| range.iter().all(u8::is_ascii_digit);
    match bytes {
        [b'T', rest @ ..] if rest.len() == 4 => digits(rest),
        [b'T', rest @ ..] if rest.len() == 8 => {
            digits(&rest[..4]) && rest[4] == b'.' && digits(&rest[5..])
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::CimValue;

    #[test]
    fn technique_ids_are_bare_attack_ids_from_any_spelling() {
        let from = |value| CimValue::TechniqueIds.convert(&value);
        assert_eq!(
            from(json!(
                "[\"OS Credential Dumping (T1003)\",\"LSASS Memory (T1003.001)\",\"Odd\"]"
            )),
            Some(json!(["T1003", "T1003.001"]))
        );
        assert_eq!(from(json!(["T1564.001"])), Some(json!(["T1564.001"])));
        assert_eq!(from(json!("T1078")), Some(json!(["T1078"])));
        assert_eq!(from(json!("[]")), None);
        assert_eq!(from(json!("T10781")), None);
    }

    #[test]
    fn registry_paths_give_cim_hives_and_key_names() {
        let hive = |path: &str| CimValue::RegistryHive.convert(&json!(path));
        assert_eq!(
            hive("HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows"),
            Some(json!("HKEY_LOCAL_MACHINE\\Software"))
        );
        assert_eq!(
            hive("hkey_current_user\\S-1-5-21\\Run"),
            Some(json!("HKEY_CURRENT_USER"))
        );
        assert_eq!(hive("HKEY_LOCAL_MACHINE\\SOFTWAREX\\a"), None);
        assert_eq!(hive("HKEY_CLASSES_ROOT\\.txt"), None);
        assert_eq!(
            CimValue::LastPathElement('\\').convert(&json!("HKEY_CURRENT_USER\\Software\\Run\\")),
            Some(json!("Run"))
        );
        assert_eq!(
            CimValue::LastPathElement('/').convert(&json!(
                "/subscriptions/1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-01"
            )),
            Some(json!("vm-01"))
        );
        assert_eq!(CimValue::LastPathElement('/').convert(&json!("///")), None);
    }

    #[test]
    fn macs_and_lists_take_cim_shapes() {
        assert_eq!(
            CimValue::Mac.convert(&json!("00-15-5D-0A-01-FF")),
            Some(json!("00:15:5d:0a:01:ff"))
        );
        assert_eq!(CimValue::Mac.convert(&json!("00-15-5D")), None);
        assert_eq!(
            CimValue::Values(Some("IPAddress")).convert(&json!(
                "[{\"IPAddress\":\"10.0.0.1\"},{\"IPAddress\":\"fe80::1\"}]"
            )),
            Some(json!(["10.0.0.1", "fe80::1"]))
        );
        assert_eq!(
            CimValue::Values(None).convert(&json!(["10.0.0.53"])),
            Some(json!(["10.0.0.53"]))
        );
    }

    #[test]
    fn addresses_give_domains_and_lists_counts() {
        assert_eq!(
            CimValue::EmailDomain.convert(&json!("Équipe@Contoso.Example")),
            Some(json!("contoso.example"))
        );
        assert_eq!(CimValue::EmailDomain.convert(&json!("nobody")), None);
        assert_eq!(CimValue::Count.convert(&json!("a@b")), Some(json!(1)));
        assert_eq!(CimValue::Count.convert(&json!(["a", "b"])), Some(json!(2)));
    }

    #[test]
    fn urls_give_their_host() {
        let host = |url: &str| CimValue::UrlHost.convert(&json!(url));
        assert_eq!(
            host("https://user:pw@Login.Contoso.example:8443/chemin/é?q=a|b"),
            Some(json!("login.contoso.example"))
        );
        assert_eq!(host("http://[2001:db8::1]:80/"), Some(json!("2001:db8::1")));
        assert_eq!(
            host("intranet.contoso.example/a"),
            Some(json!("intranet.contoso.example"))
        );
        assert_eq!(host("https:///nothing"), None);
    }
}
