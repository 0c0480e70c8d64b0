//! Field groups shared between tables: the device, the initiating process, the file, the
//! account, and so on, each mapped once for every format.
//!
//! CEF custom fields follow one convention across tables, so an ArcSight content author labels
//! them once: `cs1` the command line of the process the event is about, `cs2` the initiating
//! process's command line, `cs3` the report or alert id, `cs4` and `cs5` one detail of the
//! table each, `cs6` the catch-all of unmapped fields, `flexString1` the machine group.

use super::cim::CimValue;
use super::model::{Field, Kind, from};

/// The streaming envelope's tenant.
pub const ENVELOPE: &[Field] = &[from(&["tenantId", "TenantId", "aadTenantId"])
    .leef("TenantId")
    .cim("vendor_account")
    .ocsf("metadata.tenant_uid")];

/// The device a device table's event happened on.
pub const DEVICE: &[Field] = &[
    from(&["DeviceId"])
        .cef("deviceExternalId")
        .leef("DeviceId")
        .cim("dest_id")
        .ocsf("device.uid"),
    from(&["DeviceName"])
        .cef("dvchost")
        .leef("identHostName")
        .cim("dest")
        .ocsf("device.hostname"),
    from(&["MachineGroup"])
        .cef_custom("flexString1", "MachineGroup")
        .leef("MachineGroup")
        .cim("dest_category"),
    from(&["ReportId"])
        .cef_custom("cs3", "ReportId")
        .leef("ReportId")
        .cim("event_id")
        .ocsf("metadata.uid")
        .kind(Kind::Text),
    from(&["AdditionalFields"])
        .cef_custom("cs5", "AdditionalFields")
        .leef("AdditionalFields")
        .cim("additional_fields")
        .kind(Kind::Json),
];

/// The process that caused the event, where CIM calls it the event's process.
pub const INITIATOR: &[Field] = &[
    from(&["InitiatingProcessFileName"])
        .cef("sproc")
        .leef("InitiatingProcessFileName")
        .cim("process_name")
        .ocsf("actor.process.name"),
    from(&["InitiatingProcessId"])
        .cef("spid")
        .leef("InitiatingProcessId")
        .cim("process_id")
        .ocsf("actor.process.pid")
        .kind(Kind::Integer),
    from(&["InitiatingProcessCommandLine"])
        .cef_custom("cs2", "InitiatingProcessCommandLine")
        .leef("InitiatingProcessCommandLine")
        .cim("process")
        .ocsf("actor.process.cmd_line"),
    from(&["InitiatingProcessFolderPath"])
        .leef("InitiatingProcessFolderPath")
        .cim("process_path")
        .ocsf("actor.process.file.path"),
    from(&["InitiatingProcessSHA256"])
        .leef("InitiatingProcessSHA256")
        .cim("process_hash")
        .ocsf("actor.process.file.hashes")
        .kind(Kind::Hash(3)),
    from(&["InitiatingProcessCreationTime"])
        .leef("InitiatingProcessCreationTime")
        .ocsf("actor.process.created_time")
        .kind(Kind::Time),
    from(&["InitiatingProcessParentFileName"])
        .leef("InitiatingProcessParentFileName")
        .cim("parent_process_name")
        .ocsf("actor.process.parent_process.name"),
    from(&["InitiatingProcessParentId"])
        .leef("InitiatingProcessParentId")
        .cim("parent_process_id")
        .ocsf("actor.process.parent_process.pid")
        .kind(Kind::Integer),
    from(&["InitiatingProcessIntegrityLevel"])
        .leef("InitiatingProcessIntegrityLevel")
        .ocsf("actor.process.integrity"),
    from(&["InitiatingProcessAccountName"])
        .cef("suser")
        .leef("usrName")
        .cim("user")
        .ocsf("actor.user.name"),
    from(&["InitiatingProcessAccountDomain"])
        .cef("sntdom")
        .leef("domain")
        .cim("user_domain")
        .ocsf("actor.user.domain"),
    from(&["InitiatingProcessAccountSid"])
        .cef("suid")
        .leef("InitiatingProcessAccountSid")
        .cim("user_id")
        .ocsf("actor.user.uid"),
    from(&["InitiatingProcessAccountUpn"])
        .leef("InitiatingProcessAccountUpn")
        .cim("user_principal_name"),
];

/// The process that caused the event, where CIM calls it the parent (Endpoint.Processes).
pub const PARENT: &[Field] = &[
    from(&["InitiatingProcessFileName"])
        .cef("sproc")
        .leef("InitiatingProcessFileName")
        .cim("parent_process_name")
        .ocsf("actor.process.name"),
    from(&["InitiatingProcessId"])
        .cef("spid")
        .leef("InitiatingProcessId")
        .cim("parent_process_id")
        .ocsf("actor.process.pid")
        .kind(Kind::Integer),
    from(&["InitiatingProcessCommandLine"])
        .cef_custom("cs2", "InitiatingProcessCommandLine")
        .leef("InitiatingProcessCommandLine")
        .cim("parent_process")
        .ocsf("actor.process.cmd_line"),
    from(&["InitiatingProcessFolderPath"])
        .leef("InitiatingProcessFolderPath")
        .cim("parent_process_path")
        .ocsf("actor.process.file.path"),
    from(&["InitiatingProcessSHA256"])
        .leef("InitiatingProcessSHA256")
        .ocsf("actor.process.file.hashes")
        .kind(Kind::Hash(3)),
    from(&["InitiatingProcessCreationTime"])
        .leef("InitiatingProcessCreationTime")
        .ocsf("actor.process.created_time")
        .kind(Kind::Time),
    from(&["InitiatingProcessAccountName"])
        .cef("suser")
        .leef("usrName")
        .cim("user")
        .ocsf("actor.user.name"),
    from(&["InitiatingProcessAccountDomain"])
        .cef("sntdom")
        .leef("domain")
        .cim("user_domain")
        .ocsf("actor.user.domain"),
    from(&["InitiatingProcessAccountSid"])
        .cef("suid")
        .leef("InitiatingProcessAccountSid")
        .ocsf("actor.user.uid"),
];

/// The process a process event created (Endpoint.Processes' `process`).
pub const CREATED_PROCESS: &[Field] = &[
    from(&["FileName"])
        .cef("dproc")
        .leef("FileName")
        .cim("process_name")
        .ocsf("process.name"),
    from(&["FileName"]).cim("process_exec"),
    from(&["ProcessVersionInfoOriginalFileName"]).cim("original_file_name"),
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
    from(&["ProcessCreationTime"])
        .leef("ProcessCreationTime")
        .ocsf("process.created_time")
        .kind(Kind::Time),
    from(&["ProcessIntegrityLevel"])
        .leef("ProcessIntegrityLevel")
        .cim("process_integrity_level")
        .ocsf("process.integrity"),
    from(&["SHA256"])
        .cef("fileHash")
        .leef("SHA256")
        .cim("process_hash")
        .ocsf("process.file.hashes")
        .kind(Kind::Hash(3)),
    from(&["SHA1"])
        .leef("SHA1")
        .ocsf("process.file.hashes")
        .kind(Kind::Hash(2)),
    from(&["MD5"])
        .leef("MD5")
        .ocsf("process.file.hashes")
        .kind(Kind::Hash(1)),
    from(&["AccountName"])
        .cef("duser")
        .leef("AccountName")
        .cim("user_name")
        .ocsf("process.user.name"),
    from(&["AccountDomain"])
        .cef("dntdom")
        .leef("AccountDomain")
        .ocsf("process.user.domain"),
    from(&["AccountSid"])
        .cef("duid")
        .leef("AccountSid")
        .ocsf("process.user.uid"),
];

/// The file a file event is about (Endpoint.Filesystem).
pub const FILE: &[Field] = &[
    from(&["FileName"])
        .cef("fname")
        .leef("FileName")
        .cim("file_name")
        .ocsf("file.name"),
    from(&["FolderPath"])
        .cef("filePath")
        .leef("FolderPath")
        .cim("file_path")
        .ocsf("file.path"),
    from(&["SHA256"])
        .cef("fileHash")
        .leef("SHA256")
        .cim("file_hash")
        .ocsf("file.hashes")
        .kind(Kind::Hash(3)),
    // CIM's file_hash is one hash: SHA256, else SHA1, else MD5.
    from(&["SHA1"])
        .leef("SHA1")
        .cim("file_hash")
        .ocsf("file.hashes")
        .kind(Kind::Hash(2)),
    from(&["MD5"])
        .leef("MD5")
        .cim("file_hash")
        .ocsf("file.hashes")
        .kind(Kind::Hash(1)),
    from(&["FileSize"])
        .cef("fsize")
        .leef("FileSize")
        .cim("file_size")
        .ocsf("file.size")
        .kind(Kind::Integer),
    from(&["PreviousFileName"])
        .cef("oldFileName")
        .leef("PreviousFileName")
        .ocsf("file_result.name"),
    from(&["PreviousFolderPath"])
        .cef("oldFilePath")
        .leef("PreviousFolderPath")
        .ocsf("file_result.path"),
    from(&["FileOriginUrl"])
        .cef("request")
        .leef("url")
        .cim("file_origin_url"),
    from(&["FileOriginIP"]).cef("src").leef("src").cim("src"),
];

/// Defender's `Protocol` values and CIM's `transport` (lower case, `tcp`, `udp` or `icmp`).
const TRANSPORTS: &[(&str, &str)] = &[
    ("Tcp", "tcp"),
    ("TcpV4", "tcp"),
    ("TcpV6", "tcp"),
    ("Udp", "udp"),
    ("UdpV4", "udp"),
    ("UdpV6", "udp"),
    ("Icmp", "icmp"),
    ("IcmpV6", "icmp"),
];

/// A connection as CIM's Network_Traffic sees it (Splunk only, before [`DEVICE`], whose
/// `dest` is the device): `src` the local end, `dest` the remote one, `dvc` the device that
/// saw it, `app` the process that made it.
pub const TRAFFIC: &[Field] = &[
    from(&["RemoteIP", "RemoteUrl"]).cim("dest"),
    from(&["LocalIP"]).cim("src"),
    from(&["DeviceName"]).cim("dvc"),
    from(&["InitiatingProcessFileName"]).cim("app"),
];

/// The remote end of a network connection, and the local one.
pub const CONNECTION: &[Field] = &[
    from(&["LocalIP"])
        .cef("src")
        .leef("src")
        .cim("src_ip")
        .ocsf("src_endpoint.ip")
        .kind(Kind::Ip),
    from(&["LocalPort"])
        .cef("spt")
        .leef("srcPort")
        .cim("src_port")
        .ocsf("src_endpoint.port")
        .kind(Kind::Integer),
    from(&["RemoteIP"])
        .cef("dst")
        .leef("dst")
        .cim("dest_ip")
        .ocsf("dst_endpoint.ip")
        .kind(Kind::Ip),
    from(&["RemotePort"])
        .cef("dpt")
        .leef("dstPort")
        .cim("dest_port")
        .ocsf("dst_endpoint.port")
        .kind(Kind::Integer),
    from(&["RemoteUrl"])
        .cef("dhost")
        .leef("url")
        .cim("url")
        .ocsf("dst_endpoint.hostname"),
    from(&["Protocol"])
        .cef("proto")
        .leef("proto")
        .cim_as("transport", CimValue::OneOf(TRANSPORTS))
        .ocsf("connection_info.protocol_name"),
    from(&["LocalIPType"]).leef("LocalIPType"),
    from(&["RemoteIPType"]).leef("RemoteIPType"),
];

/// Defender's `RegistryValueType` names and CIM's `REG_*` types.
const REGISTRY_VALUE_TYPES: &[(&str, &str)] = &[
    ("None", "REG_NONE"),
    ("String", "REG_SZ"),
    ("ExpandString", "REG_EXPAND_SZ"),
    ("Binary", "REG_BINARY"),
    ("Dword", "REG_DWORD"),
    ("DwordLittleEndian", "REG_DWORD_LITTLE_ENDIAN"),
    ("DwordBigEndian", "REG_DWORD_BIG_ENDIAN"),
    ("Link", "REG_LINK"),
    ("MultiString", "REG_MULTI_SZ"),
    ("Qword", "REG_QWORD"),
    ("QwordLittleEndian", "REG_QWORD_LITTLE_ENDIAN"),
];

/// A registry event's key and value (Endpoint.Registry).
pub const REGISTRY: &[Field] = &[
    from(&["RegistryKey"])
        .cef_custom("cs4", "RegistryKey")
        .leef("RegistryKey")
        .cim("registry_path")
        .ocsf_or("reg_key.path", "reg_value.path"),
    from(&["RegistryKey"]).cim_as("registry_hive", CimValue::RegistryHive),
    from(&["RegistryKey"]).cim_as("registry_key_name", CimValue::LastPathElement('\\')),
    from(&["RegistryValueName"])
        .cef("fname")
        .leef("RegistryValueName")
        .cim("registry_value_name")
        .ocsf("reg_value.name"),
    from(&["RegistryValueData"])
        .cef_custom("cs1", "RegistryValueData")
        .leef("RegistryValueData")
        .cim("registry_value_data")
        .ocsf("reg_value.data"),
    from(&["RegistryValueData"]).cim("registry_value_text"),
    from(&["RegistryValueType"])
        .cef("fileType")
        .leef("RegistryValueType")
        .cim_as("registry_value_type", CimValue::OneOf(REGISTRY_VALUE_TYPES))
        .ocsf("reg_value.type"),
    from(&["PreviousRegistryKey"])
        .leef("PreviousRegistryKey")
        .ocsf_or("prev_reg_key.path", "prev_reg_value.path"),
    from(&["PreviousRegistryValueName"])
        .leef("PreviousRegistryValueName")
        .ocsf("prev_reg_value.name"),
    from(&["PreviousRegistryValueData"]).leef("PreviousRegistryValueData"),
];

/// A logon's account, type and outcome (Authentication).
pub const LOGON: &[Field] = &[
    from(&["AccountName"])
        .cef("duser")
        .leef("usrName")
        .cim("user")
        .ocsf("user.name"),
    from(&["AccountDomain"])
        .cef("dntdom")
        .leef("domain")
        .cim("user_domain")
        .ocsf("user.domain"),
    from(&["AccountSid"])
        .cef("duid")
        .leef("AccountSid")
        .cim("user_id")
        .ocsf("user.uid"),
    from(&["AccountUpn"])
        .leef("AccountUpn")
        .cim("user_principal_name"),
    from(&["LogonType"])
        .cef_custom("cs4", "LogonType")
        .leef("LogonType")
        .cim("authentication_method")
        .ocsf("logon_type"),
    from(&["Protocol"])
        .cef("app")
        .leef("proto")
        .cim("app")
        .ocsf("auth_protocol"),
    from(&["FailureReason"])
        .cef("reason")
        .leef("FailureReason")
        .cim("reason")
        .ocsf("status_detail"),
    from(&["RemoteIP", "IPAddress"])
        .cef("src")
        .leef("src")
        .cim("src")
        .ocsf("src_endpoint.ip")
        .kind(Kind::Ip),
    from(&["RemotePort", "Port"])
        .cef("spt")
        .leef("srcPort")
        .cim("src_port")
        .ocsf("src_endpoint.port")
        .kind(Kind::Integer),
    from(&["RemoteDeviceName"])
        .cef("shost")
        .leef("RemoteDeviceName")
        .cim("src_nt_host")
        .ocsf("src_endpoint.hostname"),
    from(&["IsLocalAdmin"])
        .leef("IsLocalAdmin")
        .cim("is_local_admin"),
    from(&["LogonId"]).leef("LogonId"),
    // The device logged on to is the logon's destination (OCSF Authentication needs one).
    from(&["DeviceName"]).ocsf("dst_endpoint.hostname"),
];

/// The account of an Entra ID or on-premises identity event (a logon's, a query's).
pub const IDENTITY_ACCOUNT: &[Field] = &[
    from(&["AccountUpn", "AccountName"])
        .cef("duser")
        .leef("usrName")
        .cim("user")
        .ocsf("user.name"),
    from(&["AccountDomain"])
        .cef("dntdom")
        .leef("domain")
        .cim("user_domain")
        .ocsf("user.domain"),
    from(&["AccountSid"])
        .cef("duid")
        .leef("AccountSid")
        .cim("user_id")
        .ocsf("user.uid"),
    from(&["AccountObjectId"])
        .leef("AccountObjectId")
        .cim("user_object_id"),
    from(&["AccountDisplayName"])
        .leef("AccountDisplayName")
        .ocsf("user.full_name"),
];

/// The account that made a directory change: OCSF's actor (the account changed is the user).
pub const IDENTITY_ACTOR: &[Field] = &[
    from(&["AccountUpn", "AccountName"])
        .cef("duser")
        .leef("usrName")
        .cim("user")
        .ocsf("actor.user.name"),
    from(&["AccountDomain"])
        .cef("dntdom")
        .leef("domain")
        .cim("user_domain")
        .ocsf("actor.user.domain"),
    from(&["AccountSid"])
        .cef("duid")
        .leef("AccountSid")
        .cim("user_id")
        .ocsf("actor.user.uid"),
    from(&["AccountObjectId"])
        .leef("AccountObjectId")
        .cim("user_object_id"),
    from(&["AccountDisplayName"])
        .leef("AccountDisplayName")
        .ocsf("actor.user.full_name"),
];

/// Where and how an identity event happened (the Identity tables).
pub const IDENTITY: &[Field] = &[
    from(&["Application"])
        .cef("app")
        .leef("Application")
        .cim("app")
        .ocsf("service.name"),
    from(&["LogonType"])
        .cef_custom("cs4", "LogonType")
        .leef("LogonType")
        .cim("authentication_method")
        .ocsf("logon_type"),
    from(&["Protocol"])
        .cef("proto")
        .leef("proto")
        .ocsf("auth_protocol"),
    from(&["FailureReason"])
        .cef("reason")
        .leef("FailureReason")
        .cim("reason")
        .ocsf("status_detail"),
    from(&["IPAddress"])
        .cef("src")
        .leef("src")
        .cim("src")
        .ocsf("src_endpoint.ip")
        .kind(Kind::Ip),
    from(&["Port"])
        .cef("spt")
        .leef("srcPort")
        .cim("src_port")
        .ocsf("src_endpoint.port")
        .kind(Kind::Integer),
    from(&["DeviceName"])
        .cef("shost")
        .leef("identHostName")
        .cim("src_nt_host")
        .ocsf("src_endpoint.hostname"),
    from(&["DestinationDeviceName", "TargetDeviceName"])
        .cef("dhost")
        .leef("DestinationDeviceName")
        .cim("dest")
        .ocsf("dst_endpoint.hostname"),
    // CIM's dest is the name, else the address.
    from(&["DestinationIPAddress"]).cim("dest"),
    from(&["DestinationIPAddress"])
        .cef("dst")
        .leef("dst")
        .cim("dest_ip")
        .ocsf("dst_endpoint.ip")
        .kind(Kind::Ip),
    from(&["DestinationPort"])
        .cef("dpt")
        .leef("dstPort")
        .cim("dest_port")
        .ocsf("dst_endpoint.port")
        .kind(Kind::Integer),
    from(&["Location"]).leef("Location").cim("src_location"),
    from(&["ReportId"])
        .cef_custom("cs3", "ReportId")
        .leef("ReportId")
        .cim("event_id")
        .ocsf("metadata.uid")
        .kind(Kind::Text),
    from(&["AdditionalFields"])
        .cef_custom("cs5", "AdditionalFields")
        .leef("AdditionalFields")
        .cim("additional_fields")
        .kind(Kind::Json),
];

/// Defender's delivery and post-delivery actions and CIM's Email `action`, as Splunk's
/// Microsoft Security add-on reads them (`Junked` is `deleted`, `Replaced` `delivered`); an
/// action CIM has no word for is not written (the column stays in `unmapped`).
const EMAIL_ACTIONS: &[(&str, &str)] = &[
    ("Delivered", "delivered"),
    ("Junked", "deleted"),
    ("Blocked", "blocked"),
    ("Replaced", "delivered"),
    ("Quarantined", "quarantined"),
    ("Moved to quarantine", "quarantined"),
    ("Moved to deleted items", "deleted"),
    ("Moved to junk folder", "deleted"),
    ("Moved to inbox", "delivered"),
    ("Soft delete", "deleted"),
    ("Hard delete", "deleted"),
    ("Deleted", "deleted"),
];

/// A message's identity, sender and recipient (Email).
pub const EMAIL: &[Field] = &[
    from(&["NetworkMessageId"])
        .cef("externalId")
        .leef("NetworkMessageId")
        .cim("internal_message_id")
        .ocsf("email.uid"),
    from(&["InternetMessageId"])
        .leef("InternetMessageId")
        .cim("message_id")
        .ocsf("email.message_uid"),
    from(&["SenderFromAddress", "SenderMailFromAddress"])
        .cef("suser")
        .leef("SenderFromAddress")
        .cim("src_user")
        .ocsf("email.from")
        .kind(Kind::Email(false)),
    from(&["RecipientEmailAddress"])
        .cef("duser")
        .leef("RecipientEmailAddress")
        .cim("recipient")
        .ocsf("email.to")
        .kind(Kind::Email(true)),
    from(&["RecipientEmailAddress"]).cim("user"),
    from(&["RecipientEmailAddress"]).cim_as("recipient_domain", CimValue::EmailDomain),
    from(&["RecipientEmailAddress"]).cim_as("recipient_count", CimValue::Count),
    from(&["SenderMailFromAddress"]).cim("return_addr"),
    from(&["Subject"])
        .cef("msg")
        .leef("Subject")
        .cim("subject")
        .ocsf("email.subject"),
    from(&["SenderIPv4", "SenderIPv6"])
        .cef("src")
        .leef("src")
        .cim("src")
        .ocsf("src_endpoint.ip")
        .kind(Kind::Ip),
    from(&["EmailDirection"])
        .cef_custom("cs4", "EmailDirection")
        .leef("EmailDirection")
        .cim("direction"),
    from(&["DeliveryAction", "Action"])
        .cef("act")
        .leef("DeliveryAction")
        .cim_as("action", CimValue::OneOf(EMAIL_ACTIONS)),
    from(&["ThreatTypes"])
        .cef_custom("cs1", "ThreatTypes")
        .leef("ThreatTypes")
        .cim("signature"),
    from(&["ThreatNames"])
        .leef("ThreatNames")
        .cim("signature_extra"),
    from(&["ReportId"])
        .cef_custom("cs3", "ReportId")
        .leef("ReportId")
        .cim("event_id")
        .ocsf("metadata.uid")
        .kind(Kind::Text),
    from(&["AdditionalFields"])
        .cef_custom("cs5", "AdditionalFields")
        .leef("AdditionalFields")
        .cim("additional_fields")
        .kind(Kind::Json),
];

/// An alert seen from the streaming tables (AlertInfo, AlertEvidence).
pub const ALERT_ROW: &[Field] = &[
    from(&["AlertId"])
        .cef("externalId")
        .leef("AlertId")
        .cim("id")
        .ocsf("finding_info.uid")
        .kind(Kind::Text),
    from(&["Title"])
        .cef("msg")
        .leef("Title")
        .cim("signature")
        .ocsf("finding_info.title"),
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
    from(&["AttackTechniques"])
        .cef_custom("cs3", "AttackTechniques")
        .leef("AttackTechniques")
        .cim_as("mitre_technique_id", CimValue::TechniqueIds)
        .ocsf("finding_info.types")
        .kind(Kind::Json),
];

/// The entity an AlertEvidence row names.
pub const EVIDENCE_ROW: &[Field] = &[
    from(&["EntityType"])
        .cef("fileType")
        .leef("EntityType")
        .cim("object_category"),
    from(&["EvidenceRole"])
        .leef("EvidenceRole")
        .cim("object_attrs"),
    from(&["DeviceName"])
        .cef("dvchost")
        .leef("identHostName")
        .cim("dest")
        .ocsf("device.hostname"),
    from(&["DeviceId"])
        .cef("deviceExternalId")
        .leef("DeviceId")
        .ocsf("device.uid"),
    from(&["AccountName", "AccountUpn"])
        .cef("duser")
        .leef("usrName")
        .cim("user"),
    from(&["RemoteIP", "LocalIP"])
        .cef("dst")
        .leef("dst")
        .cim("dest_ip"),
    // The address an alert names: CIM Alerts' `src` (the actor's).
    from(&["RemoteIP"]).cim("src"),
    from(&["RemoteUrl"]).cef("request").leef("url").cim("url"),
    from(&["FileName"])
        .cef("fname")
        .leef("FileName")
        .cim("file_name"),
    from(&["FolderPath"])
        .cef("filePath")
        .leef("FolderPath")
        .cim("file_path"),
    from(&["SHA256", "SHA1"])
        .cef("fileHash")
        .leef("SHA256")
        .cim("file_hash"),
    from(&["ProcessCommandLine"])
        .cef_custom("cs1", "ProcessCommandLine")
        .leef("ProcessCommandLine")
        .cim("process"),
    from(&["RegistryKey"])
        .cef_custom("cs2", "RegistryKey")
        .leef("RegistryKey")
        .cim("registry_path"),
    from(&["EmailSubject"]).leef("EmailSubject").cim("subject"),
    from(&["ThreatFamily"])
        .leef("ThreatFamily")
        .cim("signature_extra"),
];
