//! The OCSF 1.5.0 classes Defender events map to, with the attributes each class requires that
//! Defender has no column for.

use super::model::OcsfClass;

/// Detection Finding (2004): alerts and incidents.
pub const DETECTION_FINDING: OcsfClass = OcsfClass {
    class_uid: 2004,
    class_name: "Detection Finding",
    activity_id: 1,
    activity_name: "Create",
    status_id: None,
    attributes: &[
        "comment",
        "confidence",
        "confidence_id",
        "confidence_score",
        "device",
        "finding_info",
        "vendor_attributes",
        "anomaly_analyses",
        "evidences",
        "impact",
        "impact_id",
        "impact_score",
        "is_alert",
        "malware",
        "malware_scan_info",
        "remediation",
        "resources",
        "risk_details",
        "risk_level",
        "risk_level_id",
        "risk_score",
        "vulnerabilities",
    ],
    // `finding_info.title` is the event's title or name when the record has none.
    defaults: &[],
    needs: &["finding_info"],
};

/// Process Activity (1007).
pub const PROCESS_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 1007,
    class_name: "Process Activity",
    activity_id: 1,
    activity_name: "Launch",
    status_id: None,
    attributes: &[
        "actor",
        "device",
        "actual_permissions",
        "exit_code",
        "injection_type",
        "injection_type_id",
        "module",
        "process",
        "requested_permissions",
    ],
    defaults: &[("device.type_id", "0")],
    needs: &["process", "actor", "device"],
};

/// File System Activity (1001).
pub const FILE_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 1001,
    class_name: "File System Activity",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &[
        "actor",
        "device",
        "access_mask",
        "component",
        "connection_uid",
        "create_mask",
        "file",
        "file_diff",
        "file_result",
    ],
    defaults: &[
        ("device.type_id", "0"),
        ("file.name", "\"\""),
        ("file.type_id", "1"),
    ],
    needs: &["file", "actor"],
};

/// Module Activity (1005): image loads.
pub const MODULE_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 1005,
    class_name: "Module Activity",
    activity_id: 1,
    activity_name: "Load",
    status_id: None,
    attributes: &["actor", "device", "module"],
    defaults: &[("device.type_id", "0"), ("module.load_type_id", "99")],
    needs: &["module", "actor"],
};

/// Network Activity (4001).
pub const NETWORK_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 4001,
    class_name: "Network Activity",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &[
        "app_name",
        "connection_info",
        "dst_endpoint",
        "ja4_fingerprint_list",
        "proxy",
        "src_endpoint",
        "tls",
        "traffic",
        "url",
    ],
    defaults: &[("device.type_id", "0")],
    needs: &["src_endpoint|dst_endpoint"],
};

/// Authentication (3002).
pub const AUTHENTICATION: OcsfClass = OcsfClass {
    class_uid: 3002,
    class_name: "Authentication",
    activity_id: 1,
    activity_name: "Logon",
    status_id: None,
    attributes: &[
        "actor",
        "http_request",
        "http_response",
        "src_endpoint",
        "auth_factors",
        "auth_protocol",
        "auth_protocol_id",
        "authentication_token",
        "certificate",
        "dst_endpoint",
        "is_cleartext",
        "is_mfa",
        "is_new_logon",
        "is_remote",
        "logon_process",
        "logon_type",
        "logon_type_id",
        "service",
        "session",
        "user",
    ],
    defaults: &[],
    needs: &["user", "service|dst_endpoint"],
};

/// Account Change (3001): directory changes to accounts.
pub const ACCOUNT_CHANGE: OcsfClass = OcsfClass {
    class_uid: 3001,
    class_name: "Account Change",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &[
        "actor",
        "http_request",
        "http_response",
        "src_endpoint",
        "policies",
        "policy",
        "user",
        "user_result",
    ],
    defaults: &[],
    needs: &["user"],
};

/// Registry Key Activity (201001, the OCSF Windows extension).
pub const REGISTRY_KEY_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 201001,
    class_name: "Registry Key Activity",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &["actor", "device", "reg_key", "prev_reg_key"],
    defaults: &[("device.type_id", "0"), ("reg_key.path", "\"\"")],
    needs: &["reg_key", "actor"],
};

/// Registry Value Activity (201002, the OCSF Windows extension).
pub const REGISTRY_VALUE_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 201002,
    class_name: "Registry Value Activity",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &["actor", "device", "reg_value", "prev_reg_value"],
    // A value's path is its key's; an unnamed value is the key's default value.
    defaults: &[
        ("device.type_id", "0"),
        ("reg_value.path", "\"\""),
        ("reg_value.name", "\"\""),
    ],
    needs: &["reg_value", "actor"],
};

/// Email Activity (4009).
pub const EMAIL_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 4009,
    class_name: "Email Activity",
    activity_id: 2,
    activity_name: "Receive",
    status_id: None,
    attributes: &[
        "attempt",
        "banner",
        "command",
        "direction",
        "direction_id",
        "dst_endpoint",
        "email",
        "email_auth",
        "message_trace_uid",
        "protocol_name",
        "smtp_hello",
        "src_endpoint",
    ],
    defaults: &[("direction_id", "0")],
    needs: &["email"],
};

/// Email File Activity (4011): attachments.
pub const EMAIL_FILE_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 4011,
    class_name: "Email File Activity",
    activity_id: 3,
    activity_name: "Scan",
    status_id: None,
    attributes: &["email_uid", "file"],
    defaults: &[
        ("email_uid", "\"\""),
        ("file.name", "\"\""),
        ("file.type_id", "1"),
    ],
    needs: &["file"],
};

/// Email URL Activity (4012): URLs in messages, and clicks on them.
pub const EMAIL_URL_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 4012,
    class_name: "Email URL Activity",
    activity_id: 3,
    activity_name: "Scan",
    status_id: None,
    attributes: &["email_uid", "url"],
    defaults: &[("email_uid", "\"\"")],
    needs: &["url"],
};

/// Device Inventory Info (5001).
pub const INVENTORY_INFO: OcsfClass = OcsfClass {
    class_uid: 5001,
    class_name: "Device Inventory Info",
    activity_id: 2,
    activity_name: "Collect",
    status_id: None,
    attributes: &["actor", "device"],
    defaults: &[("device.type_id", "0")],
    needs: &["device"],
};

/// API Activity (6003): cloud app audit events.
pub const API_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 6003,
    class_name: "API Activity",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &[
        "actor",
        "api",
        "dst_endpoint",
        "http_request",
        "http_response",
        "resources",
        "src_endpoint",
    ],
    defaults: &[("api.operation", "\"\"")],
    needs: &["actor", "src_endpoint", "api"],
};

/// Scheduled Job Activity (1006): scheduled tasks created, changed or deleted.
pub const SCHEDULED_JOB_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 1006,
    class_name: "Scheduled Job Activity",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &["actor", "device", "job"],
    // The task's program is inside its XML definition, which stays in `unmapped`.
    defaults: &[("device.type_id", "0"), ("job.file.name", "\"\"")],
    needs: &["job"],
};

/// Windows Service Activity (201004, the OCSF Windows extension): services installed.
pub const WINDOWS_SERVICE_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 201004,
    class_name: "Windows Service Activity",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &["actor", "device", "win_service"],
    defaults: &[("device.type_id", "0"), ("win_service.name", "\"\"")],
    needs: &["win_service", "actor"],
};

/// Script Activity (1009): PowerShell commands (the only scripts DeviceEvents reports, hence
/// `script.type_id` 2, PowerShell).
pub const SCRIPT_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 1009,
    class_name: "Script Activity",
    activity_id: 1,
    activity_name: "Execute",
    status_id: None,
    attributes: &["actor", "device", "script"],
    defaults: &[("device.type_id", "0"), ("script.type_id", "2")],
    needs: &["script", "actor"],
};

/// Group Management (3006): accounts added to local groups.
pub const GROUP_MANAGEMENT: OcsfClass = OcsfClass {
    class_uid: 3006,
    class_name: "Group Management",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &[
        "actor",
        "group",
        "user",
        "privileges",
        "resource",
        "src_endpoint",
    ],
    defaults: &[],
    needs: &["group"],
};

/// User Inventory Info (5003): account snapshots (IdentityInfo).
pub const USER_INVENTORY_INFO: OcsfClass = OcsfClass {
    class_uid: 5003,
    class_name: "User Inventory Info",
    activity_id: 2,
    activity_name: "Collect",
    status_id: None,
    attributes: &["actor", "user"],
    defaults: &[],
    needs: &["user"],
};

/// Datastore Activity (6005): access to a storage account (CloudStorageAggregatedEvents).
pub const DATASTORE_ACTIVITY: OcsfClass = OcsfClass {
    class_uid: 6005,
    class_name: "Datastore Activity",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &[
        "actor",
        "databucket",
        "database",
        "dst_endpoint",
        "http_request",
        "http_response",
        "query_info",
        "src_endpoint",
        "table",
        "type",
        "type_id",
    ],
    defaults: &[],
    needs: &["actor", "src_endpoint"],
};

/// Base Event (0): what has no better class, with everything in `unmapped`.
pub const BASE_EVENT: OcsfClass = OcsfClass {
    class_uid: 0,
    class_name: "Base Event",
    activity_id: 99,
    activity_name: "Other",
    status_id: None,
    attributes: &[],
    defaults: &[],
    needs: &[],
};
