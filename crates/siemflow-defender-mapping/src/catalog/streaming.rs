//! The streaming API tables (Event Hubs and the storage export), one entry per table.

use super::cim::CimValue;
use super::fields::{
    ALERT_ROW, CONNECTION, CREATED_PROCESS, DEVICE, EMAIL, ENVELOPE, EVIDENCE_ROW, FILE, IDENTITY,
    IDENTITY_ACCOUNT, IDENTITY_ACTOR, INITIATOR, LOGON, PARENT, REGISTRY, TRAFFIC,
};
use super::model::{Field, Kind, Level, Origin, Table, action, from};
use super::ocsf_classes::{
    ACCOUNT_CHANGE, API_ACTIVITY, AUTHENTICATION, BASE_EVENT, DETECTION_FINDING, EMAIL_ACTIVITY,
    EMAIL_FILE_ACTIVITY, EMAIL_URL_ACTIVITY, FILE_ACTIVITY, GROUP_MANAGEMENT, INVENTORY_INFO,
    MODULE_ACTIVITY, NETWORK_ACTIVITY, PROCESS_ACTIVITY, REGISTRY_KEY_ACTIVITY,
    REGISTRY_VALUE_ACTIVITY, SCHEDULED_JOB_ACTIVITY, SCRIPT_ACTIVITY, WINDOWS_SERVICE_ACTIVITY,
};
use super::ocsf_classes::{DATASTORE_ACTIVITY, USER_INVENTORY_INFO};
use crate::catalog::alerts::ALERT_CATEGORIES;

const TIMESTAMP: &[&str] = &["Timestamp", "time"];
const MDE: &str = "Microsoft Defender for Endpoint";
const MDO: &str = "Microsoft Defender for Office 365";
const MDI: &str = "Microsoft Defender for Identity";
const MDA: &str = "Microsoft Defender for Cloud Apps";
const XDR: &str = "Microsoft Defender XDR";
const MDC: &str = "Microsoft Defender for Cloud";
const STREAMING: &str = "from Event Hubs or the storage export";

/// Every streaming table siemflow maps.
pub const TABLES: &[Table] = &[
    Table {
        name: "AlertInfo",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("Category"),
        actions: ALERT_CATEGORIES,
        fields: &[ENVELOPE, ALERT_ROW],
        severity_columns: &["Severity"],
        time_columns: TIMESTAMP,
        ocsf: DETECTION_FINDING,
        sourcetype: "ms:defender:advancedhunting:alertinfo",
        cim_model: "Alerts",
        product: XDR,
    },
    Table {
        name: "AlertEvidence",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("Categories"),
        actions: ALERT_CATEGORIES,
        fields: &[ENVELOPE, ALERT_ROW, EVIDENCE_ROW],
        severity_columns: &["Severity"],
        time_columns: TIMESTAMP,
        ocsf: DETECTION_FINDING,
        sourcetype: "ms:defender:advancedhunting:alertevidence",
        cim_model: "Alerts",
        product: XDR,
    },
    Table {
        name: "DeviceProcessEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "ProcessCreated",
                "Process created",
                "System",
                "Process Creation",
                Level::Informational,
            )
            .cim_action("allowed"),
            action(
                "*",
                "Process event",
                "System",
                "Process Event",
                Level::Informational,
            ),
        ],
        fields: &[ENVELOPE, DEVICE, CREATED_PROCESS, PARENT],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: PROCESS_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:deviceprocessevents",
        cim_model: "Endpoint.Processes",
        product: MDE,
    },
    Table {
        name: "DeviceNetworkEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "ConnectionSuccess",
                "Connection succeeded",
                "Access",
                "Firewall Permit",
                Level::Informational,
            )
            .ocsf(NETWORK_ACTIVITY.activity(1, "Open"))
            .cim_action("allowed"),
            action(
                "ConnectionFailed",
                "Connection failed",
                "Access",
                "Firewall Deny",
                Level::Low,
            )
            .ocsf(NETWORK_ACTIVITY.activity(4, "Fail"))
            .cim_action("blocked"),
            action(
                "ConnectionAttempt",
                "Connection attempted",
                "Access",
                "Connection Attempt",
                Level::Informational,
            )
            .ocsf(NETWORK_ACTIVITY.activity(1, "Open")),
            action(
                "ConnectionRequest",
                "Connection requested",
                "Access",
                "Connection Attempt",
                Level::Informational,
            )
            .ocsf(NETWORK_ACTIVITY.activity(1, "Open")),
            action(
                "InboundConnectionAccepted",
                "Inbound connection accepted",
                "Access",
                "Firewall Permit",
                Level::Informational,
            )
            .ocsf(NETWORK_ACTIVITY.activity(1, "Open"))
            .cim_action("allowed"),
            action(
                "ListeningConnectionCreated",
                "Listening port opened",
                "System",
                "Service Started",
                Level::Informational,
            )
            .ocsf(NETWORK_ACTIVITY.activity(7, "Listen")),
            action(
                "DnsConnectionInspected",
                "DNS traffic inspected",
                "Application",
                "DNS In Progress",
                Level::Informational,
            )
            .ocsf(NETWORK_ACTIVITY.activity(6, "Traffic")),
            action(
                "HttpConnectionInspected",
                "HTTP traffic inspected",
                "Application",
                "Web In Progress",
                Level::Informational,
            )
            .ocsf(NETWORK_ACTIVITY.activity(6, "Traffic")),
            action(
                "SslConnectionInspected",
                "TLS traffic inspected",
                "Application",
                "Web In Progress",
                Level::Informational,
            )
            .ocsf(NETWORK_ACTIVITY.activity(6, "Traffic")),
            action(
                "NetworkSignatureInspected",
                "Network signature matched",
                "Suspicious Activity",
                "Suspicious Packet",
                Level::Medium,
            )
            .ocsf(NETWORK_ACTIVITY.activity(6, "Traffic")),
            action(
                "*",
                "Network event",
                "Access",
                "Network Event",
                Level::Informational,
            ),
        ],
        fields: &[ENVELOPE, TRAFFIC, DEVICE, CONNECTION, INITIATOR],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: NETWORK_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:devicenetworkevents",
        cim_model: "Network_Traffic",
        product: MDE,
    },
    Table {
        name: "DeviceFileEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "FileCreated",
                "File created",
                "System",
                "File Created",
                Level::Informational,
            )
            .ocsf(FILE_ACTIVITY.activity(1, "Create"))
            .cim_action("created"),
            action(
                "FileModified",
                "File modified",
                "System",
                "File Modified",
                Level::Informational,
            )
            .ocsf(FILE_ACTIVITY.activity(3, "Update"))
            .cim_action("modified"),
            action(
                "FileDeleted",
                "File deleted",
                "System",
                "File Deleted",
                Level::Informational,
            )
            .ocsf(FILE_ACTIVITY.activity(4, "Delete"))
            .cim_action("deleted"),
            action(
                "FileRenamed",
                "File renamed",
                "System",
                "File Modified",
                Level::Informational,
            )
            .ocsf(FILE_ACTIVITY.activity(5, "Rename"))
            .cim_action("modified"),
            action(
                "*",
                "File event",
                "System",
                "File Event",
                Level::Informational,
            ),
        ],
        fields: &[ENVELOPE, DEVICE, FILE, INITIATOR, REQUEST],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: FILE_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:devicefileevents",
        cim_model: "Endpoint.Filesystem",
        product: MDE,
    },
    Table {
        name: "DeviceRegistryEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "RegistryKeyCreated",
                "Registry key created",
                "System",
                "Registry Key Created",
                Level::Informational,
            )
            .ocsf(REGISTRY_KEY_ACTIVITY.activity(1, "Create"))
            .cim_action("created"),
            action(
                "RegistryKeyDeleted",
                "Registry key deleted",
                "System",
                "Registry Key Deleted",
                Level::Informational,
            )
            .ocsf(REGISTRY_KEY_ACTIVITY.activity(4, "Delete"))
            .cim_action("deleted"),
            action(
                "RegistryKeyRenamed",
                "Registry key renamed",
                "System",
                "Registry Key Modified",
                Level::Informational,
            )
            .ocsf(REGISTRY_KEY_ACTIVITY.activity(5, "Rename"))
            .cim_action("modified"),
            action(
                "RegistryValueSet",
                "Registry value set",
                "System",
                "Registry Value Modified",
                Level::Informational,
            )
            .ocsf(REGISTRY_VALUE_ACTIVITY.activity(3, "Modify"))
            .cim_action("modified"),
            action(
                "RegistryValueDeleted",
                "Registry value deleted",
                "System",
                "Registry Value Deleted",
                Level::Informational,
            )
            .ocsf(REGISTRY_VALUE_ACTIVITY.activity(4, "Delete"))
            .cim_action("deleted"),
            action(
                "*",
                "Registry event",
                "System",
                "Registry Event",
                Level::Informational,
            ),
        ],
        fields: &[ENVELOPE, DEVICE, REGISTRY, INITIATOR],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: REGISTRY_KEY_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:deviceregistryevents",
        cim_model: "Endpoint.Registry",
        product: MDE,
    },
    Table {
        name: "DeviceLogonEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: LOGON_ACTIONS,
        fields: &[ENVELOPE, DEVICE, LOGON, INITIATOR],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: AUTHENTICATION,
        sourcetype: "ms:defender:advancedhunting:devicelogonevents",
        cim_model: "Authentication",
        product: MDE,
    },
    Table {
        name: "DeviceImageLoadEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "ImageLoaded",
                "Image loaded",
                "System",
                "Module Loaded",
                Level::Informational,
            )
            // Loading an image reads its file (Splunk's Microsoft Security add-on tags image
            // loads as file system events too).
            .cim_action("read"),
            action(
                "*",
                "Image load event",
                "System",
                "Module Event",
                Level::Informational,
            ),
        ],
        fields: &[ENVELOPE, DEVICE, MODULE, INITIATOR],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: MODULE_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:deviceimageloadevents",
        cim_model: "Endpoint.Filesystem",
        product: MDE,
    },
    Table {
        name: "DeviceEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "AntivirusDetection",
                "Antivirus detection",
                "Malware",
                "Virus Detected",
                Level::High,
            )
            .ocsf(DETECTION_FINDING)
            .cim_action("blocked")
            .cim_dataset("Malware.Malware_Attacks"),
            action(
                "AntivirusReport",
                "Antivirus report",
                "Malware",
                "Malware Report",
                Level::Medium,
            )
            .ocsf(DETECTION_FINDING),
            action(
                "AntivirusScanCompleted",
                "Antivirus scan completed",
                "Audit",
                "Scan Completed",
                Level::Informational,
            ),
            action(
                "AntivirusScanFailed",
                "Antivirus scan failed",
                "System",
                "Scan Failed",
                Level::Low,
            ),
            action(
                "AsrExecutableEmailContentBlocked",
                "ASR blocked an executable from email",
                "Malware",
                "Malware Blocked",
                Level::High,
            )
            .ocsf(DETECTION_FINDING)
            .cim_action("blocked"),
            action(
                "AsrOfficeChildProcessBlocked",
                "ASR blocked an Office child process",
                "Exploit",
                "Exploit Blocked",
                Level::High,
            )
            .ocsf(DETECTION_FINDING)
            .cim_action("blocked"),
            action(
                "AsrObfuscatedScriptBlocked",
                "ASR blocked an obfuscated script",
                "Malware",
                "Malware Blocked",
                Level::High,
            )
            .ocsf(DETECTION_FINDING)
            .cim_action("blocked"),
            action(
                "AsrLsassCredentialTheftBlocked",
                "ASR blocked credential theft from LSASS",
                "Exploit",
                "Credential Theft Blocked",
                Level::High,
            )
            .ocsf(DETECTION_FINDING)
            .cim_action("blocked"),
            action(
                "ExploitGuardNetworkProtectionBlocked",
                "Network protection blocked a connection",
                "Access",
                "Firewall Deny",
                Level::Medium,
            )
            .ocsf(NETWORK_ACTIVITY.activity(5, "Refuse"))
            .cim_action("blocked"),
            action(
                "FirewallInboundConnectionBlocked",
                "Firewall blocked an inbound connection",
                "Access",
                "Firewall Deny",
                Level::Low,
            )
            .ocsf(NETWORK_ACTIVITY.activity(5, "Refuse"))
            .cim_action("blocked"),
            action(
                "FirewallOutboundConnectionBlocked",
                "Firewall blocked an outbound connection",
                "Access",
                "Firewall Deny",
                Level::Low,
            )
            .ocsf(NETWORK_ACTIVITY.activity(5, "Refuse"))
            .cim_action("blocked"),
            action(
                "SmartScreenUrlWarning",
                "SmartScreen URL warning",
                "Suspicious Activity",
                "Suspicious URL",
                Level::Medium,
            )
            .ocsf(DETECTION_FINDING),
            action(
                "SmartScreenAppWarning",
                "SmartScreen application warning",
                "Suspicious Activity",
                "Suspicious Application",
                Level::Medium,
            )
            .ocsf(DETECTION_FINDING),
            action(
                "ScheduledTaskCreated",
                "Scheduled task created",
                "System",
                "Scheduled Task Created",
                Level::Low,
            )
            .ocsf(SCHEDULED_JOB_ACTIVITY.activity(1, "Create")),
            action(
                "ScheduledTaskUpdated",
                "Scheduled task updated",
                "System",
                "Scheduled Task Modified",
                Level::Low,
            )
            .ocsf(SCHEDULED_JOB_ACTIVITY.activity(2, "Update")),
            action(
                "ScheduledTaskDeleted",
                "Scheduled task deleted",
                "System",
                "Scheduled Task Deleted",
                Level::Low,
            )
            .ocsf(SCHEDULED_JOB_ACTIVITY.activity(3, "Delete")),
            action(
                "ServiceInstalled",
                "Service installed",
                "System",
                "Service Installed",
                Level::Low,
            )
            .ocsf(WINDOWS_SERVICE_ACTIVITY.activity(1, "Create")),
            action(
                "PowerShellCommand",
                "PowerShell command",
                "System",
                "Command Executed",
                Level::Informational,
            )
            .ocsf(SCRIPT_ACTIVITY),
            action(
                "ProcessCreatedUsingWmiQuery",
                "Process created through WMI",
                "System",
                "Process Creation",
                Level::Low,
            )
            .ocsf(PROCESS_ACTIVITY),
            action(
                "CreateRemoteThreadApiCall",
                "Remote thread created",
                "Suspicious Activity",
                "Process Injection",
                Level::Medium,
            )
            .ocsf(PROCESS_ACTIVITY.activity(4, "Inject")),
            action(
                "OpenProcessApiCall",
                "Process opened",
                "System",
                "Process Access",
                Level::Informational,
            )
            .ocsf(PROCESS_ACTIVITY.activity(3, "Open")),
            action(
                "NamedPipeEvent",
                "Named pipe event",
                "System",
                "Inter-Process Communication",
                Level::Informational,
            ),
            action(
                "LdapSearch",
                "LDAP search",
                "Recon",
                "Directory Query",
                Level::Informational,
            ),
            action(
                "DnsQueryResponse",
                "DNS query answered",
                "Application",
                "DNS In Progress",
                Level::Informational,
            ),
            action(
                "UsbDriveMounted",
                "USB drive mounted",
                "System",
                "Device Mounted",
                Level::Low,
            ),
            action(
                "UserAccountCreated",
                "Local account created",
                "Authentication",
                "User Account Added",
                Level::Medium,
            )
            .ocsf(ACCOUNT_CHANGE.activity(1, "Create")),
            action(
                "UserAccountAddedToLocalGroup",
                "Account added to a local group",
                "Authentication",
                "Group Member Added",
                Level::Medium,
            )
            .ocsf(GROUP_MANAGEMENT.activity(3, "Add User")),
            action(
                "TamperingAttempt",
                "Tampering attempt",
                "Suspicious Activity",
                "Tampering Attempt",
                Level::High,
            )
            .ocsf(DETECTION_FINDING),
            action(
                "BrowserLaunchedToOpenUrl",
                "Browser opened a URL",
                "Application",
                "Web In Progress",
                Level::Informational,
            ),
            action(
                "*",
                "Device event",
                "System",
                "Device Event",
                Level::Informational,
            ),
        ],
        fields: &[
            ENVELOPE,
            DEVICE,
            CREATED_PROCESS,
            FILE,
            CONNECTION,
            REGISTRY,
            INITIATOR,
            DEVICE_EVENT_DETAIL,
        ],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: BASE_EVENT,
        sourcetype: "ms:defender:advancedhunting:deviceevents",
        cim_model: "Endpoint",
        product: MDE,
    },
    Table {
        name: "DeviceInfo",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: None,
        actions: &[action(
            "",
            "Device inventory",
            "System",
            "Asset Inventory",
            Level::Informational,
        )],
        fields: &[ENVELOPE, DEVICE, DEVICE_INFO],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: INVENTORY_INFO,
        sourcetype: "ms:defender:advancedhunting:deviceinfo",
        cim_model: "Inventory.OS",
        product: MDE,
    },
    Table {
        name: "DeviceNetworkInfo",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: None,
        actions: &[action(
            "",
            "Device network configuration",
            "System",
            "Asset Inventory",
            Level::Informational,
        )],
        fields: &[ENVELOPE, DEVICE, NETWORK_INFO],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: INVENTORY_INFO,
        sourcetype: "ms:defender:advancedhunting:devicenetworkinfo",
        cim_model: "Inventory.Network",
        product: MDE,
    },
    Table {
        name: "DeviceFileCertificateInfo",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: None,
        actions: &[action(
            "",
            "File certificate",
            "Audit",
            "Certificate Information",
            Level::Informational,
        )],
        fields: &[ENVELOPE, DEVICE, CERTIFICATE],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: BASE_EVENT,
        sourcetype: "ms:defender:advancedhunting:devicefilecertificateinfo",
        cim_model: "Certificates",
        product: MDE,
    },
    Table {
        name: "EmailEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: None,
        actions: &[action(
            "",
            "Email delivered",
            "Application",
            "Mail",
            Level::Informational,
        )],
        fields: &[ENVELOPE, EMAIL, EMAIL_COUNTS],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: EMAIL_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:emailevents",
        cim_model: "Email",
        product: MDO,
    },
    Table {
        name: "EmailUrlInfo",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: None,
        actions: &[action(
            "",
            "URL in an email",
            "Application",
            "Mail",
            Level::Informational,
        )],
        fields: &[ENVELOPE, EMAIL, URL],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: EMAIL_URL_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:emailurlinfo",
        cim_model: "Email.Content",
        product: MDO,
    },
    Table {
        name: "EmailAttachmentInfo",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: None,
        actions: &[action(
            "",
            "Email attachment",
            "Application",
            "Mail",
            Level::Informational,
        )],
        fields: &[ENVELOPE, EMAIL, ATTACHMENT],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: EMAIL_FILE_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:emailattachmentinfo",
        cim_model: "Email.Content",
        product: MDO,
    },
    Table {
        name: "EmailPostDeliveryEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "Phish ZAP",
                "Phishing removed after delivery",
                "Malware",
                "Phishing Removed",
                Level::Medium,
            )
            .cim_action("quarantined"),
            action(
                "Malware ZAP",
                "Malware removed after delivery",
                "Malware",
                "Malware Removed",
                Level::High,
            )
            .cim_action("quarantined"),
            action(
                "Spam ZAP",
                "Spam removed after delivery",
                "Application",
                "Mail",
                Level::Low,
            )
            .cim_action("quarantined"),
            action(
                "Manual remediation",
                "Message remediated by an administrator",
                "Application",
                "Mail",
                Level::Low,
            )
            .cim_action("deleted"),
            action(
                "*",
                "Post-delivery event",
                "Application",
                "Mail",
                Level::Low,
            ),
        ],
        fields: &[ENVELOPE, EMAIL, POST_DELIVERY],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: EMAIL_ACTIVITY.activity(99, "Other"),
        sourcetype: "ms:defender:advancedhunting:emailpostdeliveryevents",
        cim_model: "Email",
        product: MDO,
    },
    Table {
        name: "UrlClickEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "ClickAllowed",
                "URL click allowed",
                "Application",
                "Web In Progress",
                Level::Informational,
            )
            .cim_action("allowed"),
            action(
                "ClickBlocked",
                "URL click blocked",
                "Access",
                "Web Deny",
                Level::Medium,
            )
            .cim_action("blocked"),
            action(
                "ClickBlockedByTenantPolicy",
                "URL click blocked by policy",
                "Access",
                "Web Deny",
                Level::Low,
            )
            .cim_action("blocked"),
            action(
                "UrlScanInProgress",
                "URL click held for scanning",
                "Application",
                "Web In Progress",
                Level::Informational,
            ),
            action(
                "UrlErrorPage",
                "URL click showed an error page",
                "Application",
                "Web In Progress",
                Level::Low,
            ),
            action(
                "*",
                "URL click",
                "Application",
                "Web In Progress",
                Level::Informational,
            ),
        ],
        fields: &[ENVELOPE, URL_CLICK],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: EMAIL_URL_ACTIVITY.activity(99, "Other"),
        sourcetype: "ms:defender:advancedhunting:urlclickevents",
        cim_model: "Web",
        product: MDO,
    },
    Table {
        name: "IdentityLogonEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: LOGON_ACTIONS,
        fields: &[ENVELOPE, IDENTITY_ACCOUNT, IDENTITY],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: AUTHENTICATION,
        sourcetype: "ms:defender:advancedhunting:identitylogonevents",
        cim_model: "Authentication",
        product: MDI,
    },
    Table {
        name: "IdentityQueryEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "LDAP query",
                "LDAP query",
                "Recon",
                "Directory Query",
                Level::Informational,
            ),
            action(
                "DNS query",
                "DNS query",
                "Application",
                "DNS In Progress",
                Level::Informational,
            )
            .cim_dataset("Network_Resolution"),
            action(
                "SAMR query",
                "SAM-R query",
                "Recon",
                "Account Enumeration",
                Level::Low,
            ),
            action(
                "*",
                "Directory query",
                "Recon",
                "Directory Query",
                Level::Informational,
            ),
        ],
        fields: &[ENVELOPE, IDENTITY_ACCOUNT, IDENTITY, QUERY],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: BASE_EVENT,
        sourcetype: "ms:defender:advancedhunting:identityqueryevents",
        // LDAP and SAM-R queries read the directory: no CIM data model describes them.
        cim_model: "",
        product: MDI,
    },
    Table {
        name: "IdentityDirectoryEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "Account Password changed",
                "Account password changed",
                "Authentication",
                "User Account Changed",
                Level::Low,
            )
            .ocsf(ACCOUNT_CHANGE.activity(3, "Password Change"))
            .cim_action("updated"),
            action(
                "Account disabled",
                "Account disabled",
                "Authentication",
                "User Account Changed",
                Level::Low,
            )
            .ocsf(ACCOUNT_CHANGE.activity(5, "Disable"))
            .cim_action("updated"),
            action(
                "Account enabled",
                "Account enabled",
                "Authentication",
                "User Account Changed",
                Level::Low,
            )
            .ocsf(ACCOUNT_CHANGE.activity(2, "Enable"))
            .cim_action("updated"),
            action(
                "Group Membership changed",
                "Group membership changed",
                "Authentication",
                "Group Changed",
                Level::Medium,
            )
            .ocsf(ACCOUNT_CHANGE.activity(99, "Other"))
            .cim_action("updated"),
            action(
                "*",
                "Directory change",
                "Authentication",
                "User Account Changed",
                Level::Low,
            ),
        ],
        fields: &[
            ENVELOPE,
            ACCOUNT_CHANGE_CIM,
            IDENTITY_ACTOR,
            IDENTITY,
            DIRECTORY_CHANGE,
        ],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: ACCOUNT_CHANGE,
        sourcetype: "ms:defender:advancedhunting:identitydirectoryevents",
        cim_model: "Change.Account_Management",
        product: MDI,
    },
    Table {
        name: "CloudAppEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            // Mailbox rules (a common persistence step) are changes; the other activities
            // (file and mail access, directory operations seen by the app) are not tagged:
            // CIM's Change wants `user` to be the account changed for those.
            action(
                "New-InboxRule",
                "Inbox rule created",
                "Audit",
                "Cloud Application Activity",
                Level::Low,
            )
            .ocsf(API_ACTIVITY.activity(1, "Create"))
            .cim_action("created"),
            action(
                "Set-InboxRule",
                "Inbox rule modified",
                "Audit",
                "Cloud Application Activity",
                Level::Low,
            )
            .ocsf(API_ACTIVITY.activity(3, "Update"))
            .cim_action("modified"),
            action(
                "Remove-InboxRule",
                "Inbox rule deleted",
                "Audit",
                "Cloud Application Activity",
                Level::Low,
            )
            .ocsf(API_ACTIVITY.activity(4, "Delete"))
            .cim_action("deleted"),
            action(
                "*",
                "Cloud app activity",
                "Audit",
                "Cloud Application Activity",
                Level::Informational,
            ),
        ],
        fields: &[ENVELOPE, CLOUD_APP],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: API_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:cloudappevents",
        cim_model: "Change",
        product: MDA,
    },
    Table {
        name: "BehaviorInfo",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[action(
            "*",
            "Behavior",
            "Suspicious Activity",
            "Suspicious Behavior",
            Level::Medium,
        )],
        fields: &[ENVELOPE, BEHAVIOR, BEHAVIOR_INFO],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: DETECTION_FINDING,
        sourcetype: "ms:defender:advancedhunting:behaviorinfo",
        cim_model: "Alerts",
        product: XDR,
    },
    Table {
        name: "BehaviorEntities",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[action(
            "*",
            "Behavior entity",
            "Suspicious Activity",
            "Suspicious Behavior",
            Level::Medium,
        )],
        fields: &[ENVELOPE, BEHAVIOR, BEHAVIOR_ENTITY, EVIDENCE_ROW],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: DETECTION_FINDING,
        sourcetype: "ms:defender:advancedhunting:behaviorentities",
        cim_model: "Alerts",
        product: XDR,
    },
    Table {
        name: "IdentityInfo",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: None,
        actions: &[action(
            "",
            "Account inventory",
            "Audit",
            "Identity Inventory",
            Level::Informational,
        )],
        fields: &[ENVELOPE, IDENTITY_INFO],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: USER_INVENTORY_INFO,
        sourcetype: "ms:defender:advancedhunting:identityinfo",
        cim_model: "Inventory.User",
        product: XDR,
    },
    Table {
        name: "MessageEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: None,
        actions: &[action(
            "",
            "Teams message delivered",
            "Application",
            "Chat",
            Level::Informational,
        )],
        fields: &[ENVELOPE, TEAMS_MESSAGE, TEAMS_DELIVERY],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        // OCSF 1.5.0 has no class for chat messages: the Base Event keeps them in `unmapped`.
        ocsf: BASE_EVENT,
        sourcetype: "ms:defender:advancedhunting:messageevents",
        cim_model: "",
        product: MDO,
    },
    Table {
        name: "MessagePostDeliveryEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "Phish ZAP",
                "Teams phishing removed after delivery",
                "Malware",
                "Phishing Removed",
                Level::Medium,
            ),
            action(
                "Malware ZAP",
                "Teams malware removed after delivery",
                "Malware",
                "Malware Removed",
                Level::High,
            ),
            action(
                "Manual remediation",
                "Teams message remediated by an administrator",
                "Application",
                "Chat",
                Level::Low,
            ),
            action(
                "*",
                "Teams post-delivery event",
                "Application",
                "Chat",
                Level::Low,
            ),
        ],
        fields: &[ENVELOPE, TEAMS_MESSAGE, POST_DELIVERY],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: BASE_EVENT,
        sourcetype: "ms:defender:advancedhunting:messagepostdeliveryevents",
        cim_model: "",
        product: MDO,
    },
    Table {
        name: "MessageUrlInfo",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: None,
        actions: &[action(
            "",
            "URL in a Teams message",
            "Application",
            "Chat",
            Level::Informational,
        )],
        fields: &[ENVELOPE, TEAMS_MESSAGE, URL],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: BASE_EVENT,
        sourcetype: "ms:defender:advancedhunting:messageurlinfo",
        cim_model: "",
        product: MDO,
    },
    Table {
        name: "CloudAuditEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "Create",
                "Cloud resource created",
                "Audit",
                "Cloud Resource Created",
                Level::Informational,
            )
            .ocsf(API_ACTIVITY.activity(1, "Create"))
            .cim_action("created"),
            action(
                "Read",
                "Cloud resource read",
                "Audit",
                "Cloud Resource Read",
                Level::Informational,
            )
            .ocsf(API_ACTIVITY.activity(2, "Read"))
            .cim_action("read"),
            action(
                "Update",
                "Cloud resource updated",
                "Audit",
                "Cloud Resource Modified",
                Level::Informational,
            )
            .ocsf(API_ACTIVITY.activity(3, "Update"))
            .cim_action("updated"),
            action(
                "Delete",
                "Cloud resource deleted",
                "Audit",
                "Cloud Resource Deleted",
                Level::Low,
            )
            .ocsf(API_ACTIVITY.activity(4, "Delete"))
            .cim_action("deleted"),
            action(
                "*",
                "Cloud control-plane operation",
                "Audit",
                "Cloud Operation",
                Level::Informational,
            ),
        ],
        fields: &[ENVELOPE, CLOUD_AUDIT],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: API_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:cloudauditevents",
        cim_model: "Change",
        product: MDC,
    },
    Table {
        name: "CloudProcessEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[
            action(
                "ProcessCreated",
                "Container process created",
                "System",
                "Process Creation",
                Level::Informational,
            )
            .cim_action("allowed"),
            action(
                "*",
                "Container process event",
                "System",
                "Process Event",
                Level::Informational,
            ),
        ],
        fields: &[ENVELOPE, CLOUD_PROCESS],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: PROCESS_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:cloudprocessevents",
        cim_model: "Endpoint.Processes",
        product: MDC,
    },
    Table {
        name: "CloudStorageAggregatedEvents",
        origin: Origin::Streaming,
        note: STREAMING,
        action_column: Some("ActionType"),
        actions: &[action(
            "*",
            "Storage access summary",
            "Audit",
            "Storage Access",
            Level::Informational,
        )],
        fields: &[ENVELOPE, CLOUD_STORAGE],
        severity_columns: &[],
        time_columns: TIMESTAMP,
        ocsf: DATASTORE_ACTIVITY,
        sourcetype: "ms:defender:advancedhunting:cloudstorageaggregatedevents",
        cim_model: "",
        product: MDC,
    },
];

/// The logon outcomes, shared by the device and identity logon tables.
const LOGON_ACTIONS: &[super::model::Action] = &[
    action(
        "LogonSuccess",
        "Logon succeeded",
        "Authentication",
        "Host Login Succeeded",
        Level::Informational,
    )
    .ocsf(AUTHENTICATION.activity(1, "Logon").with_status(1))
    .cim_action("success"),
    action(
        "LogonFailed",
        "Logon failed",
        "Authentication",
        "Host Login Failed",
        Level::Low,
    )
    .ocsf(AUTHENTICATION.activity(1, "Logon").with_status(2))
    .cim_action("failure"),
    action(
        "LogonAttempted",
        "Logon attempted",
        "Authentication",
        "Host Login Attempt",
        Level::Informational,
    )
    .ocsf(AUTHENTICATION.activity(1, "Logon")),
    action(
        "*",
        "Logon event",
        "Authentication",
        "Authentication Event",
        Level::Informational,
    ),
];

/// A file event's request: who asked for it over the network (SMB).
const REQUEST: &[Field] = &[
    from(&["RequestSourceIP"])
        .cef("dst")
        .leef("RequestSourceIP")
        .cim("src_ip"),
    from(&["RequestAccountName"])
        .leef("RequestAccountName")
        .cim("src_user"),
    from(&["ShareName"]).leef("ShareName").cim("file_share"),
];

/// A loaded image (DeviceImageLoadEvents).
const MODULE: &[Field] = &[
    from(&["FileName"])
        .cef("fname")
        .leef("FileName")
        .cim("file_name"),
    from(&["FolderPath"])
        .cef("filePath")
        .leef("FolderPath")
        .cim("file_path")
        .ocsf("module.file.path"),
    from(&["SHA256"])
        .cef("fileHash")
        .leef("SHA256")
        .cim("file_hash")
        .ocsf("module.file.hashes")
        .kind(Kind::Hash(3)),
    // CIM's file_hash is one hash: SHA256, else SHA1, else MD5.
    from(&["SHA1"])
        .leef("SHA1")
        .cim("file_hash")
        .ocsf("module.file.hashes")
        .kind(Kind::Hash(2)),
    from(&["MD5"])
        .leef("MD5")
        .cim("file_hash")
        .ocsf("module.file.hashes")
        .kind(Kind::Hash(1)),
];

/// OCSF `os.type_id` per Defender `OSPlatform` (100 Windows, 200 Linux, 201 Android, 300
/// macOS, 301 iOS); other platforms get 99, Other.
const OS_TYPES: &[(&str, i64)] = &[
    ("Windows", 100),
    ("Windows7", 100),
    ("Windows8", 100),
    ("Windows8.1", 100),
    ("Windows10", 100),
    ("Windows11", 100),
    ("WindowsServer2008R2", 100),
    ("WindowsServer2012", 100),
    ("WindowsServer2012R2", 100),
    ("WindowsServer2016", 100),
    ("WindowsServer2019", 100),
    ("WindowsServer2022", 100),
    ("WindowsServer2025", 100),
    ("Linux", 200),
    ("Android", 201),
    ("macOS", 300),
    ("iOS", 301),
];

/// What the class of a DeviceEvents ActionType reads beyond the shared groups: a detection's
/// id, the account an account event is about, and the task, service, command or group named
/// in `AdditionalFields` (which stays whole in `unmapped`).
const DEVICE_EVENT_DETAIL: &[Field] = &[
    from(&["ReportId"])
        .ocsf("finding_info.uid")
        .kind(Kind::Text),
    from(&["AccountName"]).ocsf("user.name"),
    from(&["AccountDomain"]).ocsf("user.domain"),
    from(&["AccountSid"]).ocsf("user.uid"),
    from(&["AdditionalFields.TaskName"])
        .ocsf("job.name")
        .in_json_text(),
    from(&["AdditionalFields.ServiceName"])
        .ocsf("win_service.name")
        .in_json_text(),
    from(&["AdditionalFields.ServiceAccount"])
        .ocsf("win_service.service_start_name")
        .in_json_text(),
    from(&["AdditionalFields.ServiceStartType"])
        .ocsf("win_service.service_start_type_id")
        .kind(Kind::Lookup(SERVICE_START_TYPES))
        .in_json_text(),
    from(&["AdditionalFields.ServiceType"])
        .ocsf("win_service.service_type_id")
        .kind(Kind::Lookup(SERVICE_TYPES))
        .in_json_text(),
    from(&["AdditionalFields.Command"])
        .ocsf("script.script_content.value")
        .in_json_text(),
    from(&["AdditionalFields.GroupName"])
        .ocsf("group.name")
        .in_json_text(),
    from(&["AdditionalFields.ThreatName"])
        .cim("signature")
        .in_json_text(),
];

/// OCSF `service_start_type_id` per Windows start type, as a number (`SERVICE_BOOT_START` 0 to
/// `SERVICE_DISABLED` 4) or a name.
const SERVICE_START_TYPES: &[(&str, i64)] = &[
    ("0", 1),
    ("1", 2),
    ("2", 3),
    ("3", 4),
    ("4", 5),
    ("BootStart", 1),
    ("SystemStart", 2),
    ("AutoStart", 3),
    ("DemandStart", 4),
    ("Disabled", 5),
];

/// OCSF `service_type_id` per Windows service type (`SERVICE_KERNEL_DRIVER` 0x1,
/// `SERVICE_FILE_SYSTEM_DRIVER` 0x2, `SERVICE_WIN32_OWN_PROCESS` 0x10,
/// `SERVICE_WIN32_SHARE_PROCESS` 0x20), as a number or a name.
const SERVICE_TYPES: &[(&str, i64)] = &[
    ("1", 1),
    ("2", 2),
    ("16", 3),
    ("32", 4),
    ("KernelDriver", 1),
    ("FileSystemDriver", 2),
    ("Win32OwnProcess", 3),
    ("Win32ShareProcess", 4),
];

/// A device's inventory record.
const DEVICE_INFO: &[Field] = &[
    from(&["OSPlatform"])
        .cef_custom("cs4", "OSPlatform")
        .leef("OSPlatform")
        .cim("os")
        .ocsf("device.os.name"),
    from(&["OSPlatform"])
        .ocsf("device.os.type_id")
        .kind(Kind::Lookup(OS_TYPES)),
    from(&["OSVersion"])
        .leef("OSVersion")
        .cim("os_version")
        .ocsf("device.os.version"),
    from(&["OSBuild"])
        .leef("OSBuild")
        .ocsf("device.os.build")
        .kind(Kind::Text),
    from(&["PublicIP"])
        .cef("dvc")
        .leef("src")
        .cim("ip")
        .ocsf("device.ip")
        .kind(Kind::Ip),
    from(&["ClientVersion"])
        .leef("ClientVersion")
        .cim("vendor_product_version"),
    from(&["Model"]).leef("Model").ocsf("device.model"),
    from(&["Vendor"]).leef("Vendor").ocsf("device.vendor_name"),
    from(&["ExposureLevel"])
        .leef("ExposureLevel")
        .cim("priority"),
    from(&["OnboardingStatus"])
        .leef("OnboardingStatus")
        .cim("status"),
    from(&["LoggedOnUsers"])
        .leef("LoggedOnUsers")
        .cim("logged_on_users")
        .kind(Kind::Json),
];

/// A device's network adapter record.
const NETWORK_INFO: &[Field] = &[
    from(&["MacAddress"])
        .cef("dvcmac")
        .leef("srcMAC")
        .cim_as("mac", CimValue::Mac)
        .ocsf("device.mac"),
    from(&["DeviceName"]).cim("name"),
    from(&["NetworkAdapterName"])
        .leef("NetworkAdapterName")
        .cim("interface")
        .ocsf("device.interface_name"),
    from(&["IPAddresses"])
        .cef_custom("cs4", "IPAddresses")
        .leef("IPAddresses")
        .cim_as("ip", CimValue::Values(Some("IPAddress"))),
    from(&["DnsAddresses"]).cim_as("dns", CimValue::Values(None)),
    from(&["DefaultGateways"])
        .leef("DefaultGateways")
        .kind(Kind::Json),
    from(&["ConnectedNetworks"])
        .leef("ConnectedNetworks")
        .kind(Kind::Json),
    from(&["NetworkAdapterStatus"])
        .leef("NetworkAdapterStatus")
        .cim("status"),
];

/// A file's signing certificate.
const CERTIFICATE: &[Field] = &[
    from(&["SHA1"])
        .cef("fileHash")
        .leef("SHA1")
        .cim("file_hash"),
    from(&["Signer"])
        .cef_custom("cs4", "Signer")
        .leef("Signer")
        .cim("ssl_subject_common_name"),
    from(&["Signer"]).cim("ssl_subject"),
    from(&["Issuer"])
        .leef("Issuer")
        .cim("ssl_issuer_common_name"),
    from(&["Issuer"]).cim("ssl_issuer"),
    from(&["SignerHash"]).cim("ssl_hash"),
    from(&["CertificateSerialNumber"])
        .leef("CertificateSerialNumber")
        .cim("ssl_serial"),
    from(&["IsTrusted"])
        .leef("IsTrusted")
        .cim_as("ssl_is_valid", CimValue::Lower),
    from(&["CertificateCreationTime"])
        .cim("ssl_start_time")
        .kind(Kind::Time),
    from(&["CertificateExpirationTime"])
        .leef("CertificateExpirationTime")
        .cim("ssl_end_time")
        .kind(Kind::Time),
];

/// EmailEvents' counts and policies.
const EMAIL_COUNTS: &[Field] = &[
    from(&["SenderDisplayName"])
        .leef("SenderDisplayName")
        .cim("src_user_name"),
    from(&["EmailDirection"])
        .ocsf("direction_id")
        .kind(Kind::Lookup(&[
            ("Inbound", 1),
            ("Outbound", 2),
            ("Intra-org", 3),
        ])),
    from(&["DeliveryLocation"])
        .leef("DeliveryLocation")
        .cim("delivery_location"),
    from(&["AttachmentCount"])
        .leef("AttachmentCount")
        .cim("file_count")
        .kind(Kind::Integer),
    from(&["UrlCount"])
        .leef("UrlCount")
        .cim("url_count")
        .kind(Kind::Integer),
    from(&["DetectionMethods"])
        .leef("DetectionMethods")
        .kind(Kind::Json),
    from(&["AuthenticationDetails"])
        .leef("AuthenticationDetails")
        .kind(Kind::Json),
];

/// EmailUrlInfo's URL.
const URL: &[Field] = &[
    from(&["Url"])
        .cef("request")
        .leef("url")
        .cim("url")
        .ocsf("url.url_string"),
    from(&["UrlDomain"])
        .cef("dhost")
        .leef("UrlDomain")
        .cim("url_domain")
        .ocsf("url.hostname"),
    from(&["UrlLocation"]).leef("UrlLocation"),
];

/// EmailAttachmentInfo's file.
const ATTACHMENT: &[Field] = &[
    from(&["FileName"])
        .cef("fname")
        .leef("FileName")
        .cim("file_name")
        .ocsf("file.name"),
    from(&["FileType"])
        .cef("fileType")
        .leef("FileType")
        .cim("file_type")
        .ocsf("file.mime_type"),
    from(&["SHA256"])
        .cef("fileHash")
        .leef("SHA256")
        .cim("file_hash")
        .ocsf("file.hashes")
        .kind(Kind::Hash(3)),
    from(&["FileSize"])
        .cef("fsize")
        .leef("FileSize")
        .cim("file_size")
        .ocsf("file.size")
        .kind(Kind::Integer),
    from(&["ThreatNames"])
        .leef("ThreatNames")
        .cim("signature_extra"),
];

/// EmailPostDeliveryEvents' remediation.
const POST_DELIVERY: &[Field] = &[
    from(&["ActionTrigger"])
        .leef("ActionTrigger")
        .cim("action_trigger"),
    from(&["ActionResult"])
        .cef("outcome")
        .leef("ActionResult")
        .cim("result"),
    from(&["DeliveryLocation"])
        .leef("DeliveryLocation")
        .cim("delivery_location"),
];

/// UrlClickEvents' click.
const URL_CLICK: &[Field] = &[
    from(&["Url"])
        .cef("request")
        .leef("url")
        .cim("url")
        .ocsf("url.url_string"),
    // The web server clicked through to (CIM Web's dest).
    from(&["Url"]).cim_as("dest", CimValue::UrlHost),
    from(&["AccountUpn"])
        .cef("suser")
        .leef("usrName")
        .cim("user"),
    from(&["IPAddress"]).cef("src").leef("src").cim("src"),
    from(&["NetworkMessageId"])
        .cef("externalId")
        .leef("NetworkMessageId")
        .cim("message_id")
        .ocsf("email_uid"),
    from(&["Workload"]).cef("app").leef("Workload").cim("app"),
    from(&["ThreatTypes"])
        .cef_custom("cs1", "ThreatTypes")
        .leef("ThreatTypes")
        .cim("category"),
    from(&["DetectionMethods"])
        .leef("DetectionMethods")
        .kind(Kind::Json),
    from(&["IsClickedThrough"])
        .leef("IsClickedThrough")
        .cim("clicked_through"),
    from(&["ReportId"])
        .cef_custom("cs3", "ReportId")
        .leef("ReportId")
        .cim("event_id")
        .ocsf("metadata.uid")
        .kind(Kind::Text),
];

/// IdentityQueryEvents' query.
const QUERY: &[Field] = &[
    from(&["QueryType"])
        .cef_custom("cs1", "QueryType")
        .leef("QueryType")
        .cim("object_category"),
    from(&["QueryTarget"])
        .cef_custom("cs2", "QueryTarget")
        .leef("QueryTarget")
        .cim("object"),
    from(&["Query"]).leef("Query").cim("query"),
];

/// IdentityDirectoryEvents' target: the account changed is OCSF's `user`.
/// A directory change as CIM's Change.Account_Management sees it (Splunk only, before the
/// actor's fields): `user` is the account changed, `src_user` the one who changed it, `dvc` the
/// domain controller that recorded it, `command` the operation.
const ACCOUNT_CHANGE_CIM: &[Field] = &[
    from(&["TargetAccountUpn", "TargetAccountDisplayName"]).cim("user"),
    from(&["TargetAccountUpn"]).cim("object_id"),
    from(&["AccountUpn", "AccountName"]).cim("src_user"),
    from(&["AccountDomain"]).cim("src_nt_domain"),
    from(&["DestinationDeviceName"]).cim("dvc"),
    from(&["ActionType"]).cim("command"),
];

const DIRECTORY_CHANGE: &[Field] = &[
    from(&["TargetAccountUpn"])
        .cef_custom("cs1", "TargetAccountUpn")
        .leef("TargetAccountUpn")
        .cim("object")
        .ocsf("user.name"),
    from(&["TargetAccountDisplayName"])
        .leef("TargetAccountDisplayName")
        .cim("object_name")
        .ocsf("user.full_name"),
];

/// CloudAppEvents' activity.
const CLOUD_APP: &[Field] = &[
    from(&["Application"])
        .cef("app")
        .leef("Application")
        .cim("app")
        .ocsf("api.service.name"),
    // The app acts when no account is named (OCSF's actor needs one or the other).
    from(&["Application"]).ocsf("actor.app_name"),
    from(&["ActionType"]).ocsf("api.operation"),
    from(&["AccountDisplayName", "AccountObjectId"])
        .cef("suser")
        .leef("usrName")
        .cim("user")
        .ocsf("actor.user.name"),
    from(&["AccountObjectId"])
        .leef("AccountObjectId")
        .cim("user_id")
        .ocsf("actor.user.uid"),
    from(&["IPAddress"])
        .cef("src")
        .leef("src")
        .cim("src")
        .ocsf("src_endpoint.ip")
        .kind(Kind::Ip),
    from(&["CountryCode"])
        .leef("CountryCode")
        .cim("src_country"),
    from(&["UserAgent"])
        .cef("requestClientApplication")
        .leef("UserAgent")
        .cim("http_user_agent"),
    from(&["ObjectName"])
        .cef_custom("cs1", "ObjectName")
        .leef("ObjectName")
        .cim("object"),
    from(&["ObjectType"])
        .leef("ObjectType")
        .cim("object_category"),
    // The operation (`New-InboxRule`) is CIM's command; its kind (`Create`) is not CIM's.
    from(&["ActionType"]).cim("command"),
    from(&["ActivityType"])
        .cef_custom("cs4", "ActivityType")
        .leef("ActivityType")
        .cim("activity_type"),
    from(&["ReportId"])
        .cef_custom("cs3", "ReportId")
        .leef("ReportId")
        .cim("event_id")
        .ocsf("metadata.uid")
        .kind(Kind::Text),
    from(&["RawEventData"])
        .cef_custom("cs5", "RawEventData")
        .leef("RawEventData")
        .kind(Kind::Json),
];

/// A behavior's identity and source (BehaviorInfo, BehaviorEntities): CEF keys as AlertInfo's.
const BEHAVIOR: &[Field] = &[
    from(&["BehaviorId"])
        .cef("externalId")
        .leef("BehaviorId")
        .cim("id")
        .ocsf("finding_info.uid"),
    from(&["ServiceSource"])
        .cef_custom("cs4", "ServiceSource")
        .leef("ServiceSource")
        .cim("app")
        .ocsf("metadata.product.feature.name"),
    from(&["DetectionSource"])
        .cef_custom("cs5", "DetectionSource")
        .leef("DetectionSource")
        .cim("detection_source")
        .ocsf("finding_info.analytic.name"),
    from(&["Categories"])
        .leef("Categories")
        .cim("category")
        .kind(Kind::Json),
    from(&["DataSources"])
        .leef("DataSources")
        .ocsf("finding_info.data_sources")
        .kind(Kind::Json),
];

/// What a behavior is and when it happened (BehaviorInfo).
const BEHAVIOR_INFO: &[Field] = &[
    from(&["Title"])
        .cef("msg")
        .leef("Title")
        .cim("signature")
        .ocsf("finding_info.title"),
    from(&["Description"])
        .leef("Description")
        .cim("description")
        .ocsf("finding_info.desc"),
    from(&["AttackTechniques"])
        .cef_custom("cs3", "AttackTechniques")
        .leef("AttackTechniques")
        .cim_as("mitre_technique_id", CimValue::TechniqueIds)
        .ocsf("finding_info.types")
        .kind(Kind::Json),
    from(&["StartTime"])
        .cef("start")
        .leef("StartTime")
        .ocsf("finding_info.first_seen_time")
        .kind(Kind::Time),
    from(&["EndTime"])
        .cef("end")
        .leef("EndTime")
        .ocsf("finding_info.last_seen_time")
        .kind(Kind::Time),
    from(&["DeviceId"])
        .cef("deviceExternalId")
        .leef("DeviceId")
        .cim("dest_id")
        .ocsf("device.uid"),
    from(&["AccountUpn"])
        .cef("suser")
        .leef("usrName")
        .cim("user")
        .ocsf("actor.user.name"),
    from(&["AccountObjectId"])
        .leef("AccountObjectId")
        .cim("user_id")
        .ocsf("actor.user.uid"),
    from(&["AdditionalFields"])
        .leef("AdditionalFields")
        .cim("additional_fields")
        .kind(Kind::Json),
];

/// The entity a BehaviorEntities row names, beyond AlertEvidence's columns.
const BEHAVIOR_ENTITY: &[Field] = &[
    from(&["EntityRole"]).leef("EntityRole").cim("object_attrs"),
    from(&["DetailedEntityRole"]).leef("DetailedEntityRole"),
    from(&["Application"])
        .cef("app")
        .leef("Application")
        .cim("app_name"),
    from(&["AdditionalFields"])
        .leef("AdditionalFields")
        .cim("additional_fields")
        .kind(Kind::Json),
];

/// An account's directory record (IdentityInfo).
const IDENTITY_INFO: &[Field] = &[
    from(&["AccountName", "AccountUpn"])
        .cef("duser")
        .leef("usrName")
        .ocsf("user.name"),
    from(&["AccountUpn"]).leef("AccountUpn").cim("user"),
    from(&["AccountObjectId"])
        .cef("duid")
        .leef("AccountObjectId")
        .cim("user_id")
        .ocsf("user.uid"),
    from(&["OnPremSid"]).leef("OnPremSid").ocsf("user.uid_alt"),
    from(&["AccountDomain"])
        .cef("dntdom")
        .leef("domain")
        .ocsf("user.domain"),
    from(&["AccountDisplayName"])
        .leef("AccountDisplayName")
        .cim("user_name")
        .ocsf("user.full_name"),
    from(&["EmailAddress"])
        .leef("EmailAddress")
        .cim("email")
        .ocsf("user.email_addr")
        .kind(Kind::Email(false)),
    from(&["Department"])
        .cef_custom("cs4", "Department")
        .leef("Department")
        .cim("user_bunit"),
    from(&["JobTitle"])
        .cef_custom("cs5", "JobTitle")
        .leef("JobTitle")
        .cim("user_category"),
    from(&["IsAccountEnabled"])
        .leef("IsAccountEnabled")
        .cim("enabled"),
    from(&["ReportId"])
        .cef_custom("cs3", "ReportId")
        .leef("ReportId")
        .cim("event_id")
        .ocsf("metadata.uid")
        .kind(Kind::Text),
];

/// A Teams message's identity and sender (the Message tables).
const TEAMS_MESSAGE: &[Field] = &[
    from(&["TeamsMessageId"])
        .cef("externalId")
        .leef("TeamsMessageId")
        .cim("message_id")
        .kind(Kind::Text),
    from(&["SenderEmailAddress"])
        .cef("suser")
        .leef("SenderEmailAddress")
        .cim("src_user"),
    from(&["RecipientDetails"])
        .cef_custom("cs4", "RecipientDetails")
        .leef("RecipientDetails")
        .cim("recipient_details")
        .kind(Kind::Json),
    from(&["ThreatTypes"])
        .cef_custom("cs1", "ThreatTypes")
        .leef("ThreatTypes")
        .cim("signature"),
    from(&["ReportId"])
        .cef_custom("cs3", "ReportId")
        .leef("ReportId")
        .cim("event_id")
        .ocsf("metadata.uid")
        .kind(Kind::Text),
];

/// A Teams message's delivery (MessageEvents).
const TEAMS_DELIVERY: &[Field] = &[
    from(&["SenderDisplayName"])
        .leef("SenderDisplayName")
        .cim("src_user_name"),
    from(&["MessageSubject"])
        .cef("msg")
        .leef("MessageSubject")
        .cim("subject"),
    from(&["DeliveryAction"])
        .cef("act")
        .leef("DeliveryAction")
        .cim("action"),
    from(&["DeliveryLocation"])
        .leef("DeliveryLocation")
        .cim("delivery_location"),
    from(&["ThreadId"])
        .cef_custom("cs5", "ThreadId")
        .leef("ThreadId"),
    from(&["DetectionMethods"])
        .leef("DetectionMethods")
        .kind(Kind::Json),
];

/// A cloud control-plane operation (CloudAuditEvents).
const CLOUD_AUDIT: &[Field] = &[
    from(&["OperationName"])
        .cef_custom("cs4", "OperationName")
        .leef("OperationName")
        .cim("command")
        .ocsf("api.operation"),
    from(&["DataSource"])
        .cef("app")
        .leef("DataSource")
        .cim("vendor_product")
        .ocsf("api.service.name"),
    from(&["ResourceId"])
        .cef_custom("cs1", "ResourceId")
        .leef("ResourceId")
        .cim("object_id"),
    // The resource changed is CIM Change's dest, its name the object.
    from(&["ResourceId"]).cim("dest"),
    from(&["ResourceId"]).cim_as("object", CimValue::LastPathElement('/')),
    from(&["IPAddress"])
        .cef("src")
        .leef("src")
        .cim("src")
        .ocsf("src_endpoint.ip")
        .kind(Kind::Ip),
    from(&["CountryCode"])
        .leef("CountryCode")
        .cim("src_country")
        .ocsf("src_endpoint.location.country"),
    from(&["City"])
        .leef("City")
        .cim("src_city")
        .ocsf("src_endpoint.location.city"),
    from(&["UserAgent"])
        .cef("requestClientApplication")
        .leef("UserAgent")
        .cim("http_user_agent")
        .ocsf("http_request.user_agent"),
    // The client that called the API acts when the record names no account.
    from(&["UserAgent"]).ocsf("actor.app_name"),
    from(&["ReportId"])
        .cef_custom("cs3", "ReportId")
        .leef("ReportId")
        .cim("event_id")
        .ocsf("metadata.uid")
        .kind(Kind::Text),
    from(&["RawEventData"])
        .cef_custom("cs5", "RawEventData")
        .leef("RawEventData")
        .kind(Kind::Json),
];

/// A process in a Kubernetes container (CloudProcessEvents). OCSF's `process.container` needs
/// the container profile and an image id Defender does not give: the container columns stay
/// in `unmapped` there.
const CLOUD_PROCESS: &[Field] = &[
    from(&["ProcessName", "FileName"])
        .cef("dproc")
        .leef("ProcessName")
        .cim("process_name")
        .ocsf("process.name"),
    from(&["ProcessName", "FileName"]).cim("process_exec"),
    from(&["FolderPath"])
        .cef("filePath")
        .leef("FolderPath")
        .cim("process_path")
        .ocsf("process.file.path"),
    from(&["ProcessId"])
        .cef("dpid")
        .leef("ProcessId")
        .cim("process_id")
        .ocsf("process.pid")
        .kind(Kind::Integer),
    from(&["ProcessCommandLine"])
        .cef_custom("cs1", "ProcessCommandLine")
        .leef("ProcessCommandLine")
        .cim("process")
        .ocsf("process.cmd_line"),
    from(&["ProcessCurrentWorkingDirectory"])
        .leef("ProcessCurrentWorkingDirectory")
        .ocsf("process.working_directory"),
    from(&["ProcessCreationTime"])
        .leef("ProcessCreationTime")
        .ocsf("process.created_time")
        .kind(Kind::Time),
    from(&["ParentProcessName"])
        .cef("sproc")
        .leef("ParentProcessName")
        .cim("parent_process_name")
        .ocsf("process.parent_process.name"),
    from(&["ParentProcessId"])
        .cef("spid")
        .leef("ParentProcessId")
        .cim("parent_process_id")
        .ocsf("process.parent_process.pid")
        .kind(Kind::Integer),
    from(&["InitiatingProcessId"])
        .leef("InitiatingProcessId")
        .ocsf("actor.process.pid")
        .kind(Kind::Integer),
    from(&["AccountName"])
        .cef("suser")
        .leef("usrName")
        .cim("user")
        .ocsf("actor.user.name"),
    from(&["ContainerId"])
        .cef_custom("cs4", "ContainerId")
        .leef("ContainerId")
        .cim("dest_id"),
    from(&["ContainerName"]).leef("ContainerName").cim("dest"),
    from(&["ContainerImageName"])
        .cef_custom("cs5", "ContainerImageName")
        .leef("ContainerImageName"),
    // A pod's hostname is its name unless its spec says otherwise.
    from(&["KubernetesPodName"])
        .cef("dhost")
        .leef("KubernetesPodName")
        .cim("dest_nt_host")
        .ocsf("device.hostname"),
    from(&["KubernetesNamespace"])
        .leef("KubernetesNamespace")
        .cim("dest_category"),
    from(&["AzureResourceId", "AwsResourceName", "GcpFullResourceName"])
        .cef("deviceExternalId")
        .leef("ResourceId")
        .cim("dest_resource_id"),
];

/// OCSF `databucket.type_id` per storage service (2 Azure Blob; the others Other).
const BUCKET_TYPES: &[(&str, i64)] = &[
    ("Blob", 2),
    ("ADLS Gen2", 2),
    ("Files.REST", 99),
    ("Files.SMB", 99),
];

/// An hour of access to a storage account (CloudStorageAggregatedEvents).
const CLOUD_STORAGE: &[Field] = &[
    from(&["StorageContainer", "StorageFileShare", "StorageAccount"])
        .cef_custom("cs4", "StorageContainer")
        .leef("StorageContainer")
        .cim("object")
        .ocsf("databucket.name"),
    from(&["ServiceType"])
        .leef("ServiceType")
        .cim("object_category")
        .ocsf("databucket.type_id")
        .kind(Kind::Lookup(BUCKET_TYPES)),
    from(&["AzureResourceId"])
        .cef_custom("cs1", "AzureResourceId")
        .leef("AzureResourceId")
        .cim("object_id")
        .ocsf("databucket.uid"),
    from(&["AccountUpn"])
        .cef("suser")
        .leef("usrName")
        .cim("user")
        .ocsf("actor.user.name"),
    from(&["AccountObjectId"])
        .leef("AccountObjectId")
        .cim("user_id")
        .ocsf("actor.user.uid"),
    from(&["AccountApplicationId"])
        .leef("AccountApplicationId")
        .ocsf("actor.app_uid"),
    from(&["IpAddress"])
        .cef("src")
        .leef("src")
        .cim("src")
        .ocsf("src_endpoint.ip")
        .kind(Kind::Ip),
    from(&["UserAgentHeader"])
        .cef("requestClientApplication")
        .leef("UserAgentHeader")
        .cim("http_user_agent")
        .ocsf("http_request.user_agent"),
    from(&["AuthenticationType"])
        .cef_custom("cs5", "AuthenticationType")
        .leef("AuthenticationType")
        .cim("authentication_method"),
    from(&["OperationsCount"])
        .cef("cnt")
        .leef("OperationsCount")
        .cim("count")
        .ocsf("count")
        .kind(Kind::Integer),
    from(&["DataAggregationStartTime"])
        .cef("start")
        .leef("DataAggregationStartTime")
        .ocsf("start_time")
        .kind(Kind::Time),
    from(&["DataAggregationEndTime"])
        .cef("end")
        .leef("DataAggregationEndTime")
        .ocsf("end_time")
        .kind(Kind::Time),
    from(&["ReportId"])
        .cef_custom("cs3", "ReportId")
        .leef("ReportId")
        .cim("event_id")
        .ocsf("metadata.uid")
        .kind(Kind::Text),
    from(&["OperationNamesList"])
        .leef("OperationNamesList")
        .cim("operations")
        .kind(Kind::Json),
];
