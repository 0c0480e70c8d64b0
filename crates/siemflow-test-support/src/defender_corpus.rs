//! A generated corpus of Defender streaming records: every table the streaming API carries in
//! 2026, each with its documented ActionType values and any others a caller asks for, with
//! every column typed as Microsoft's schema docs type it (`siemflow_defender_mapping::catalog::
//! schema`, written from `shared/reference/defender-apis.md` sections 5 and 9).
//!
//! It is generated from the documented schema, not from the mapping's fields, so that a mapping
//! is checked against records it was not written from. Each (table, ActionType) gets rows in four shapes:
//! ordinary values; awkward values (separators, escapes, non-ASCII text, long strings);
//! sparse rows where only the columns Defender always fills are set and the others are null,
//! empty or absent; and the alternative spellings real records use (numbers as strings, JSON
//! columns as text, IPv6 addresses). Generation is seeded: one seed, one corpus.

use serde_json::{Map, Value, json};

use siemflow_defender_mapping::catalog::schema::{ColumnType, SCHEMAS, TableSchema};

use crate::server::Dice;

/// The four shapes a row is generated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Every column with an ordinary value.
    Ordinary,
    /// Every column, strings with separators, escapes, non-ASCII text and length.
    Awkward,
    /// Only the columns Defender always fills; the others null, empty or absent.
    Sparse,
    /// Every column in the other spellings real records use.
    Alternative,
}

const SHAPES: [Shape; 4] = [
    Shape::Ordinary,
    Shape::Awkward,
    Shape::Sparse,
    Shape::Alternative,
];

/// The corpus: for every table, every ActionType (documented, plus `extra_actions(table)`,
/// plus one no schema lists), `rows` records (at least one of each shape), as streaming
/// records (`{"time", "tenantId", "category": "AdvancedHunting-<T>", "properties"}`).
pub fn corpus(extra_actions: impl Fn(&str) -> Vec<String>, rows: usize, seed: u64) -> Vec<Value> {
    let mut rng = Dice::new(seed);
    let mut records = Vec::new();
    for table in SCHEMAS {
        let actions: Vec<Option<String>> = if table.action_column().is_some() {
            let mut actions: Vec<String> = table.actions.iter().map(|a| a.to_string()).collect();
            for action in extra_actions(table.name) {
                if action != "*" && !action.is_empty() && !actions.contains(&action) {
                    actions.push(action);
                }
            }
            actions.push("FutureActionType2027".to_string());
            actions.into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        for action in &actions {
            for row in 0..rows.max(SHAPES.len()) {
                let shape = SHAPES[row % SHAPES.len()];
                records.push(record(table, action.as_deref(), shape, &mut rng));
            }
        }
    }
    records
}

/// One streaming record of a table.
pub fn record(table: &TableSchema, action: Option<&str>, shape: Shape, rng: &mut Dice) -> Value {
    let mut properties = Map::new();
    let timestamp = time(rng);
    let action_column = table.action_column();
    for (name, kind, always) in table.columns() {
        let value = if Some(name.as_str()) == action_column {
            action.map_or(Value::Null, |action| json!(action))
        } else if name == "Timestamp" {
            json!(timestamp)
        } else if shape == Shape::Sparse && !always {
            match rng.below(3) {
                0 => continue,
                1 => Value::Null,
                _ if kind == ColumnType::String => json!(""),
                _ => Value::Null,
            }
        } else if name == "Protocol" && table.name == "DeviceNetworkEvents" {
            // The transport, as Defender spells it (the identity tables' `Protocol` is
            // Kerberos, NTLM...).
            json!(["Tcp", "Udp", "Icmp", "TcpV4", "TcpV6", "UdpV4", "IcmpV6"][rng.below(7)])
        } else if name == "AdditionalFields" && table.name == "DeviceEvents" {
            let details = device_event_details(action.unwrap_or_default(), rng);
            match shape {
                Shape::Alternative => details,
                _ => json!(details.to_string()),
            }
        } else {
            value(&name, kind, shape, rng)
        };
        properties.insert(name, value);
    }
    json!({
        "time": time(rng),
        "tenantId": "4f6d8a2e-1c3b-4d5e-9a7f-0b1c2d3e4f50",
        "operationName": "Publish",
        "category": format!("AdvancedHunting-{}", table.name),
        "_TimeReceivedBySvc": timestamp.trim_end_matches('Z'),
        "properties": properties,
        "Tenant": "DefaultTenant",
    })
}

/// A column's value, typed as the docs type it and shaped by the column's name.
fn value(name: &str, kind: ColumnType, shape: Shape, rng: &mut Dice) -> Value {
    let alternative = shape == Shape::Alternative;
    match kind {
        ColumnType::DateTime => json!(time(rng)),
        ColumnType::Long | ColumnType::Int => {
            let number = number(name, rng);
            if alternative && kind == ColumnType::Long {
                json!(number.to_string())
            } else {
                json!(number)
            }
        }
        ColumnType::Bool => json!(rng.below(2) == 0),
        ColumnType::Dynamic => {
            let value = dynamic(name, rng);
            if alternative {
                json!(value.to_string())
            } else {
                value
            }
        }
        ColumnType::JsonText => json!(dynamic(name, rng).to_string()),
        ColumnType::String => json!(text(name, shape, rng)),
    }
}

/// DeviceEvents' `AdditionalFields` per ActionType, with the keys Defender documents for it.
fn device_event_details(action: &str, rng: &mut Dice) -> Value {
    match action {
        "ScheduledTaskCreated"
        | "ScheduledTaskUpdated"
        | "ScheduledTaskDeleted"
        | "ScheduledTaskEnabled"
        | "ScheduledTaskDisabled" => json!({
            "TaskName": (["\\Microsoft\\Windows\\Mise à jour", "\\Contoso\\Backup|x=y"][rng.below(2)]),
            "TaskContent": "<?xml version=\"1.0\"?><Task><Actions><Exec><Command>C:\\Temp\\a.exe</Command></Exec></Actions></Task>"
        }),
        "ServiceInstalled" => json!({
            "ServiceName": (["ContosoAgent", "Sérvice «x»"][rng.below(2)]),
            "ServiceAccount": "LocalSystem",
            "ServiceStartType": rng.below(5),
            "ServiceType": ([16, 32, 1, 2][rng.below(4)])
        }),
        "PowerShellCommand" => json!({
            "Command": (["Invoke-WebRequest", "Get-Item a=b | Out-File c:\\t.txt"][rng.below(2)])
        }),
        "UserAccountAddedToLocalGroup" => json!({
            "GroupName": (["Administrateurs", "Remote Desktop Users"][rng.below(2)]),
            "GroupDomainName": "BUILTIN",
            "GroupSid": "S-1-5-32-544"
        }),
        "AntivirusDetection" | "AntivirusReport" => json!({
            "ThreatName": "Trojan:Win32/Wacatac.B!ml",
            "WasRemediated": rng.below(2) == 0,
            "Action": "quarantine"
        }),
        _ => json!({"Détail": "valeur «é»", "Count": rng.below(10)}),
    }
}

fn number(name: &str, rng: &mut Dice) -> i64 {
    if name.ends_with("Port") {
        [443, 445, 3389, 53, 88, 389, 8080, 49_731][rng.below(8)]
    } else if name.ends_with("ProcessId") || name.ends_with("ParentId") || name == "ProcessId" {
        4 + rng.below(60_000) as i64 * 4
    } else if name == "ReportId" {
        rng.below(1 << 40) as i64
    } else if name.contains("Size") || name.contains("Length") {
        rng.below(1 << 33) as i64
    } else {
        rng.below(100_000) as i64
    }
}

fn dynamic(name: &str, rng: &mut Dice) -> Value {
    match name {
        "AttackTechniques" => json!(
            [
                "OS Credential Dumping (T1003)",
                "LSASS Memory (T1003.001)",
                "Phishing (T1566)"
            ][..1 + rng.below(3)]
        ),
        "Categories" => json!(["CredentialAccess", "Execution"][..1 + rng.below(2)]),
        "DataSources" => json!(["Microsoft Defender for Cloud Apps", "Microsoft Entra ID"]),
        "LoggedOnUsers" => {
            json!([{"UserName": "jdupont", "DomainName": "CONTOSO", "Sid": sid(rng)}])
        }
        "IPAddresses" => {
            json!([{"IPAddress": ipv4(rng), "SubnetPrefix": 24, "AddressType": "Private"}])
        }
        "DnsAddresses" | "DefaultGateways" => json!([ipv4(rng)]),
        "ConnectedNetworks" => {
            json!([{"Name": "contoso.example", "Category": "Domain", "IsConnectedToInternet": true}])
        }
        "CrlDistributionPointUrls" => json!(["http://crl.contoso.example/root.crl"]),
        "RecipientDetails" => json!([{
            "RecipientSmtpAddress": "équipe@contoso.example",
            "RecipientDisplayName": "Équipe finance",
            "RecipientType": "User",
            "RecipientObjectId": guid(rng)
        }]),
        "IPTags" | "Tags" | "AssignedRoles" | "PrivilegedEntraPimRoles" => {
            json!(["Global Administrator", "Tag «α»"][..rng.below(3).min(2)])
        }
        "SourceProviders" => json!(["ActiveDirectory", "EntraID"]),
        "UserAgentTags" => json!(["Native client"]),
        "OperationNamesList" => json!(["GetBlob", "ListBlobs"]),
        "HashReputationMd5List" => json!([hex(rng, 32)]),
        "DetectionMethods" => json!({"Phish": ["URL detonation"]}),
        "ConfidenceLevel" => json!({"Phish": "High"}),
        "LastSeenForUser" => json!({"ActionType": "0", "ISP": "-1"}),
        "UncommonForUser" => json!(["ISP"]),
        "RawEventData" => {
            json!({"Operation": "Set-Mailbox", "ResultStatus": "Succeeded", "Nested": {"a|b": "x=y"}})
        }
        "ActivityObjects" => {
            json!([{"Type": "User", "Name": "jdupont@contoso.example", "Role": "Actor"}])
        }
        _ => json!({"Key": "valeur «é»", "Count": rng.below(10), "Flag": true}),
    }
}

fn text(name: &str, shape: Shape, rng: &mut Dice) -> String {
    let awkward = shape == Shape::Awkward;
    let alternative = shape == Shape::Alternative;
    let lower = name.to_ascii_lowercase();
    if lower.ends_with("ipv4") {
        return ipv4(rng);
    }
    if lower.ends_with("ipv6") {
        return ipv6(rng);
    }
    if lower.ends_with("ip")
        || lower.ends_with("ipaddress")
        || lower.ends_with("sessionip")
        || lower == "publicip"
        || lower.ends_with("dhcp")
    {
        return if alternative { ipv6(rng) } else { ipv4(rng) };
    }
    if lower.ends_with("iptype") {
        return (["Public", "Private", "Loopback", "FourToSixMapping"][rng.below(4)]).into();
    }
    if lower.ends_with("sha256") || lower == "signerhash" || lower == "issuerhash" {
        return hex(rng, 64);
    }
    if lower.ends_with("sha1") {
        return hex(rng, 40);
    }
    if lower.ends_with("md5") {
        return hex(rng, 32);
    }
    if lower.ends_with("processid") {
        return (4 + rng.below(60_000) * 4).to_string();
    }
    if lower.ends_with("sid") {
        return sid(rng);
    }
    if lower.ends_with("upn")
        || lower.ends_with("emailaddress")
        || lower.ends_with("fromaddress")
        || lower == "sipproxyaddress"
    {
        return if awkward {
            "équipe-finance@contoso.example".into()
        } else {
            format!("user{}@contoso.example", rng.below(1000))
        };
    }
    if lower.ends_with("domain") && !lower.starts_with("url") {
        return if lower.contains("sender") {
            "contoso.example".into()
        } else {
            "CONTOSO".into()
        };
    }
    if lower.ends_with("url") || lower == "urlchain" {
        return if awkward {
            "https://intranet.contoso.example/chemin/é?q=a|b&x=1=2".into()
        } else {
            format!("https://login.contoso.example/path/{}", rng.below(100))
        };
    }
    if lower == "urldomain" || lower == "remotedevicename" && alternative {
        return "login.contoso.example".into();
    }
    if lower.ends_with("objectid")
        || lower.ends_with("deviceid")
        || lower.ends_with("guid")
        || lower == "behaviorid"
        || lower == "networkmessageid"
        || lower == "teamsmessageid"
        || lower == "appguardcontainerid"
        || lower == "subscriptionid"
        || lower == "tenantid"
        || lower == "accountapplicationid"
    {
        return guid(rng);
    }
    if lower == "alertid" {
        return format!("da{}_{}", rng.below(1 << 40), rng.below(1 << 30));
    }
    if lower == "reportid" {
        return format!("{}-{}", guid(rng), rng.below(10));
    }
    if lower == "internetmessageid" {
        return format!("<{}@mail.contoso.example>", guid(rng));
    }
    if lower == "macaddress" {
        return (0..6)
            .map(|_| format!("{:02X}", rng.below(256)))
            .collect::<Vec<_>>()
            .join(if alternative { ":" } else { "-" });
    }
    if lower == "severity" {
        return (["High", "Medium", "Low", "Informational", "UnSpecified"][rng.below(5)]).into();
    }
    if lower == "protocol" || lower == "requestprotocol" {
        return (["Tcp", "Udp", "Icmp", "Kerberos", "Ntlm", "Smb"][rng.below(6)]).into();
    }
    if lower == "logontype" {
        return (["Interactive", "Network", "RemoteInteractive", "Unlock"][rng.below(4)]).into();
    }
    if lower == "registrykey" || lower == "previousregistrykey" {
        return if awkward {
            "HKEY_CURRENT_USER\\S-1-5-21\\Software\\Éditeur|x=y\\Run".into()
        } else {
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run".into()
        };
    }
    if lower == "registryvaluetype" {
        return (["String", "Dword", "Binary", "ExpandString", "MultiString"][rng.below(5)]).into();
    }
    if lower.ends_with("folderpath") || lower == "processcurrentworkingdirectory" {
        return if awkward {
            "C:\\Users\\Zoë\\AppData\\Local\\Temp\\a=b|c".into()
        } else {
            "C:\\Windows\\System32".into()
        };
    }
    if lower.ends_with("filename") || lower == "processname" || lower == "parentprocessname" {
        return [
            "powershell.exe",
            "rundll32.exe",
            "résumé.docx",
            "svchost.exe",
        ][rng.below(4)]
        .into();
    }
    if lower.ends_with("commandline") {
        return if awkward {
            "powershell.exe -enc \"SQBFAFgA\" -c 'Write-Host a=b | c\\d'\nsecond line".into()
        } else {
            "\"C:\\Windows\\System32\\rundll32.exe\" comsvcs.dll, MiniDump 624 out.dmp full".into()
        };
    }
    if lower.ends_with("integritylevel") {
        return (["High", "Medium", "System", "Low"][rng.below(4)]).into();
    }
    if lower.ends_with("tokenelevation") {
        return (["TokenElevationTypeFull", "TokenElevationTypeDefault"][rng.below(2)]).into();
    }
    if lower == "emaildirection" {
        return (["Inbound", "Outbound", "Intra-org"][rng.below(3)]).into();
    }
    if lower == "deliveryaction" {
        return (["Delivered", "Blocked", "Junked", "Replaced"][rng.below(4)]).into();
    }
    if lower == "action" {
        return (["Moved to quarantine", "Soft delete", "Blocked"][rng.below(3)]).into();
    }
    if lower == "threattypes" {
        return (["Phish", "Malware", "Spam", ""][rng.below(4)]).into();
    }
    if lower == "ostype" || lower == "osplatform" {
        return (["Windows11", "WindowsServer2022", "Linux", "macOS"][rng.below(4)]).into();
    }
    if lower == "servicesource" {
        return "Microsoft Defender for Endpoint".into();
    }
    if lower == "entitytype" {
        return [
            "File",
            "Process",
            "User",
            "Ip",
            "Url",
            "Machine",
            "MailMessage",
        ][rng.below(7)]
        .into();
    }
    if lower == "evidencerole" || lower == "entityrole" {
        return (["Impacted", "Related"][rng.below(2)]).into();
    }
    if lower == "countrycode" {
        return (["FR", "US", "DE"][rng.below(3)]).into();
    }
    if lower == "datasource" {
        return (["Azure", "AWS", "GCP", "Kubernetes Audit"][rng.below(4)]).into();
    }
    if lower == "operationname" {
        return "Microsoft.Compute/virtualMachines/write".into();
    }
    if lower == "authenticationtype" {
        return (["AccountKey", "SAS", "Oauth", "Anonymous"][rng.below(4)]).into();
    }
    if lower == "servicetype" {
        return (["Blob", "ADLS Gen2", "Files.REST", "Files.SMB"][rng.below(4)]).into();
    }
    if lower == "lasteditedtime" {
        return time(rng);
    }
    if lower == "additionalfields" {
        return json!({"TaskName": "\\Microsoft\\Update «x»", "Count": 2}).to_string();
    }
    let base = format!("{name} {}", rng.below(1000));
    if awkward {
        format!(
            "{base} «é» a=b | c\\d \"q\" '{}'",
            "x".repeat(rng.below(300))
        )
    } else {
        base
    }
}

fn ipv4(rng: &mut Dice) -> String {
    format!(
        "10.{}.{}.{}",
        rng.below(256),
        rng.below(256),
        1 + rng.below(254)
    )
}

fn ipv6(rng: &mut Dice) -> String {
    format!("2001:db8::{:x}:{:x}", rng.below(65_536), rng.below(65_536))
}

fn hex(rng: &mut Dice, digits: usize) -> String {
    (0..digits)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16)]))
        .collect()
}

fn guid(rng: &mut Dice) -> String {
    let h = hex(rng, 32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn sid(rng: &mut Dice) -> String {
    format!(
        "S-1-5-21-{}-{}-{}-{}",
        rng.below(1 << 31),
        rng.below(1 << 31),
        rng.below(1 << 31),
        1000 + rng.below(9000)
    )
}

/// A time in November 2026 with Defender's seven fractional digits.
fn time(rng: &mut Dice) -> String {
    format!(
        "2026-11-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        1 + rng.below(30),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(10_000_000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_of_the_2026_list_is_generated_with_every_shape() {
        assert_eq!(SCHEMAS.len(), 30, "21 GA tables and 9 more");
        let records = corpus(|_| vec!["ExtraAction".into()], 4, 7);
        for table in SCHEMAS {
            let category = format!("AdvancedHunting-{}", table.name);
            let rows: Vec<&Value> = records
                .iter()
                .filter(|record| record["category"] == category.as_str())
                .collect();
            let actions = if table.action_column().is_some() {
                table.actions.len() + 2
            } else {
                1
            };
            assert_eq!(rows.len(), actions * 4, "{}", table.name);
            for row in rows {
                assert!(row["properties"]["Timestamp"].is_string());
            }
        }
    }

    #[test]
    fn one_seed_gives_one_corpus() {
        assert_eq!(corpus(|_| Vec::new(), 4, 3), corpus(|_| Vec::new(), 4, 3));
        assert_ne!(corpus(|_| Vec::new(), 4, 3), corpus(|_| Vec::new(), 4, 4));
    }
}
