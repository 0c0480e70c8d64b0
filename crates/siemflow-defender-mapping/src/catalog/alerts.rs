//! Alerts and incidents from the REST APIs (Defender for Endpoint `/api/alerts`, Microsoft Graph
//! `alerts_v2` and `incidents`, Defender XDR `/api/incidents`), the alert categories shared with
//! the AlertInfo and AlertEvidence tables, and the generic entry for what is not known.

use super::cim::CimValue;
use super::model::{Action, Field, Kind, Level, Origin, Table, action, from};
use super::ocsf_classes::{BASE_EVENT, DETECTION_FINDING};

/// Alert categories (MITRE ATT&CK tactics and Defender's own), the event types of alerts.
pub const ALERT_CATEGORIES: &[Action] = &[
    action(
        "InitialAccess",
        "Initial access",
        "Exploit",
        "Initial Access",
        Level::Medium,
    ),
    action(
        "Execution",
        "Execution",
        "Suspicious Activity",
        "Suspicious Process",
        Level::Medium,
    ),
    action(
        "Persistence",
        "Persistence",
        "Suspicious Activity",
        "Persistence",
        Level::Medium,
    ),
    action(
        "PrivilegeEscalation",
        "Privilege escalation",
        "Exploit",
        "Privilege Escalation",
        Level::High,
    ),
    action(
        "DefenseEvasion",
        "Defense evasion",
        "Suspicious Activity",
        "Defense Evasion",
        Level::Medium,
    ),
    action(
        "CredentialAccess",
        "Credential access",
        "Authentication",
        "Credential Theft",
        Level::High,
    ),
    action(
        "Discovery",
        "Discovery",
        "Recon",
        "Host Discovery",
        Level::Low,
    ),
    action(
        "LateralMovement",
        "Lateral movement",
        "Suspicious Activity",
        "Lateral Movement",
        Level::High,
    ),
    action(
        "Collection",
        "Collection",
        "Suspicious Activity",
        "Data Collection",
        Level::Medium,
    ),
    action(
        "CommandAndControl",
        "Command and control",
        "Malware",
        "Botnet Command and Control",
        Level::High,
    ),
    action(
        "Exfiltration",
        "Exfiltration",
        "Suspicious Activity",
        "Data Exfiltration",
        Level::High,
    ),
    action(
        "Impact",
        "Impact",
        "Malware",
        "Destructive Activity",
        Level::High,
    ),
    action(
        "Malware",
        "Malware",
        "Malware",
        "Virus Detected",
        Level::High,
    ),
    action(
        "Ransomware",
        "Ransomware",
        "Malware",
        "Ransomware",
        Level::High,
    ),
    action(
        "UnwantedSoftware",
        "Unwanted software",
        "Malware",
        "Potentially Unwanted Application",
        Level::Low,
    ),
    action(
        "Exploit",
        "Exploit",
        "Exploit",
        "Exploit Attempt",
        Level::High,
    ),
    action(
        "SuspiciousActivity",
        "Suspicious activity",
        "Suspicious Activity",
        "Suspicious Activity",
        Level::Medium,
    ),
    action(
        "ThreatManagement",
        "Threat management",
        "Suspicious Activity",
        "Threat Management",
        Level::Medium,
    ),
    action("Phishing", "Phishing", "Malware", "Phishing", Level::Medium),
    action("*", "Alert", "Suspicious Activity", "Alert", Level::Medium),
];

/// REST alerts: `/api/alerts` (MDE) and `alerts_v2` (Graph), one table since their fields
/// differ only in spelling, so `Alert:Execution` is the same event type from either API.
pub const ALERT: Table = Table {
    name: "Alert",
    origin: Origin::Rest,
    note: "from Defender for Endpoint `/api/alerts` and Microsoft Graph `security/alerts_v2`",
    action_column: Some("category"),
    actions: ALERT_CATEGORIES,
    fields: &[ALERT_FIELDS],
    severity_columns: &["severity"],
    time_columns: &[
        "lastUpdateDateTime",
        "lastUpdateTime",
        "createdDateTime",
        "alertCreationTime",
    ],
    ocsf: DETECTION_FINDING,
    sourcetype: "ms:defender:alert",
    cim_model: "Alerts",
    product: "Microsoft Defender XDR",
};

/// REST incidents: Defender XDR `/api/incidents` and Graph `security/incidents`.
pub const INCIDENT: Table = Table {
    name: "Incident",
    origin: Origin::Rest,
    note: "from Defender XDR `/api/incidents` and Microsoft Graph `security/incidents`",
    action_column: Some("status"),
    actions: &[
        action(
            "Active",
            "Incident active",
            "Suspicious Activity",
            "Incident Opened",
            Level::Medium,
        ),
        action(
            "InProgress",
            "Incident in progress",
            "Suspicious Activity",
            "Incident Updated",
            Level::Medium,
        ),
        action(
            "AwaitingAction",
            "Incident awaiting action",
            "Suspicious Activity",
            "Incident Updated",
            Level::Medium,
        ),
        action(
            "Resolved",
            "Incident resolved",
            "Audit",
            "Incident Closed",
            Level::Low,
        ),
        action(
            "Redirected",
            "Incident merged",
            "Audit",
            "Incident Merged",
            Level::Informational,
        ),
        action(
            "*",
            "Incident",
            "Suspicious Activity",
            "Incident",
            Level::Medium,
        ),
    ],
    fields: &[INCIDENT_FIELDS],
    severity_columns: &["severity"],
    time_columns: &[
        "lastUpdateDateTime",
        "lastUpdateTime",
        "createdDateTime",
        "createdTime",
    ],
    ocsf: DETECTION_FINDING,
    sourcetype: "ms:defender:incident",
    cim_model: "Alerts",
    product: "Microsoft Defender XDR",
};

/// What siemflow does not know: every field goes to the catch-all.
pub const GENERIC: Table = Table {
    name: "Unknown",
    origin: Origin::Unknown,
    note: "for any other record: an unknown streaming table, or JSON of another shape",
    action_column: Some("ActionType"),
    actions: &[GENERIC_ACTION],
    fields: &[&[
        from(&["tenantId", "TenantId"])
            .leef("TenantId")
            .cim("vendor_account")
            .ocsf("metadata.tenant_uid"),
        from(&["DeviceName"])
            .cef("dvchost")
            .leef("identHostName")
            .cim("dest")
            .ocsf("device.hostname"),
    ]],
    severity_columns: &["Severity", "severity"],
    time_columns: &[
        "Timestamp",
        "time",
        "TimeGenerated",
        "lastUpdateDateTime",
        "createdDateTime",
    ],
    ocsf: BASE_EVENT,
    sourcetype: "ms:defender:unknown",
    cim_model: "none",
    product: "Microsoft Defender XDR",
};

/// The event type of records siemflow does not know.
pub const GENERIC_ACTION: Action = action(
    "*",
    "Unknown Defender event",
    "Unknown",
    "Unknown Event",
    Level::Unknown,
);

const STATUS_IDS: &[(&str, i64)] = &[
    ("New", 1),
    ("Active", 1),
    ("InProgress", 2),
    ("AwaitingAction", 2),
    ("Resolved", 4),
];

const ALERT_FIELDS: &[Field] = &[
    from(&["id"])
        .cef("externalId")
        .leef("AlertId")
        .cim("id")
        .ocsf("finding_info.uid")
        .kind(Kind::Text),
    from(&["title"])
        .cef("msg")
        .leef("Title")
        .cim("signature")
        .ocsf("finding_info.title"),
    from(&["description"])
        .leef("Description")
        .cim("description")
        .ocsf("finding_info.desc"),
    from(&["status"])
        .cef("outcome")
        .leef("Status")
        .cim("status")
        .ocsf("status_id")
        .kind(Kind::Lookup(STATUS_IDS)),
    from(&["serviceSource", "productName"])
        .cef_custom("cs4", "ServiceSource")
        .leef("ServiceSource")
        .cim("app")
        .ocsf("metadata.product.feature.name"),
    from(&["detectionSource"])
        .cef_custom("cs5", "DetectionSource")
        .leef("DetectionSource")
        .cim("detection_source")
        .ocsf("finding_info.analytic.name"),
    from(&["detectorId"])
        .leef("DetectorId")
        .cim("signature_id")
        .ocsf("finding_info.analytic.uid"),
    from(&["computerDnsName"])
        .cef("dvchost")
        .leef("identHostName")
        .cim("dest")
        .ocsf("device.hostname"),
    from(&["machineId"])
        .cef("deviceExternalId")
        .leef("DeviceId")
        .cim("dest_id")
        .ocsf("device.uid"),
    from(&["relatedUser.userName"])
        .cef("duser")
        .leef("usrName")
        .cim("user")
        .ocsf("actor.user.name"),
    from(&["relatedUser.domainName"])
        .cef("dntdom")
        .leef("domain")
        .cim("user_domain")
        .ocsf("actor.user.domain"),
    from(&["mitreTechniques"])
        .cef_custom("cs3", "MitreTechniques")
        .leef("MitreTechniques")
        .cim_as("mitre_technique_id", CimValue::TechniqueIds)
        .ocsf("finding_info.attacks")
        .kind(Kind::Techniques),
    from(&["threatFamilyName", "threatDisplayName", "threatName"])
        .cef_custom("cs1", "ThreatFamilyName")
        .leef("ThreatFamilyName")
        .cim("signature_extra"),
    from(&["incidentId"])
        .cef_custom("cs2", "IncidentId")
        .leef("IncidentId")
        .cim("incident_id"),
    from(&["assignedTo"])
        .cef("suser")
        .leef("AssignedTo")
        .cim("owner"),
    from(&["classification"])
        .leef("Classification")
        .cim("classification"),
    from(&["determination"])
        .leef("Determination")
        .cim("determination"),
    from(&["alertWebUrl", "incidentWebUrl"])
        .cef("request")
        .leef("url")
        .cim("url")
        .ocsf("finding_info.src_url"),
    // CEF's `start` and `end` are the activity's: an alert is created after it began.
    from(&["createdDateTime", "alertCreationTime"])
        .cef_custom("flexDate1", "Created")
        .leef("CreatedTime")
        .cim("created_time")
        .ocsf("finding_info.created_time")
        .kind(Kind::Time),
    from(&["firstActivityDateTime", "firstEventTime"])
        .cef("start")
        .leef("FirstActivityTime")
        .cim("first_time")
        .ocsf("finding_info.first_seen_time")
        .kind(Kind::Time),
    from(&["lastActivityDateTime", "lastEventTime"])
        .cef("end")
        .leef("LastActivityTime")
        .cim("last_time")
        .ocsf("finding_info.last_seen_time")
        .kind(Kind::Time),
    from(&["tenantId", "aadTenantId"])
        .leef("TenantId")
        .cim("vendor_account")
        .ocsf("metadata.tenant_uid"),
];

const INCIDENT_FIELDS: &[Field] = &[
    from(&["incidentId", "id"])
        .cef("externalId")
        .leef("IncidentId")
        .cim("id")
        .ocsf("finding_info.uid")
        .kind(Kind::Text),
    from(&["incidentName", "displayName"])
        .cef("msg")
        .leef("Title")
        .cim("signature")
        .ocsf("finding_info.title"),
    from(&["description"])
        .leef("Description")
        .cim("description")
        .ocsf("finding_info.desc"),
    from(&["status"])
        .cef("outcome")
        .leef("Status")
        .cim("status")
        .ocsf("status_id")
        .kind(Kind::Lookup(STATUS_IDS)),
    from(&["assignedTo"])
        .cef("suser")
        .leef("AssignedTo")
        .cim("owner"),
    from(&["classification"])
        .leef("Classification")
        .cim("classification"),
    from(&["determination"])
        .leef("Determination")
        .cim("determination"),
    from(&["incidentWebUrl"])
        .cef("request")
        .leef("url")
        .cim("url")
        .ocsf("finding_info.src_url"),
    from(&["redirectIncidentId"])
        .cef_custom("cs2", "RedirectIncidentId")
        .leef("RedirectIncidentId")
        .cim("redirect_incident_id"),
    from(&["tags", "customTags"])
        .cef_custom("cs4", "Tags")
        .leef("Tags")
        .cim("tag")
        .kind(Kind::Json),
    from(&["createdTime", "createdDateTime"])
        .cef("start")
        .leef("CreatedTime")
        .cim("created_time")
        .ocsf("finding_info.created_time")
        .kind(Kind::Time),
    from(&["tenantId"])
        .leef("TenantId")
        .cim("vendor_account")
        .ocsf("metadata.tenant_uid"),
];
