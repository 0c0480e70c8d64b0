//! `builtin:defender-cef`: Microsoft Defender records to ArcSight CEF.
//!
//! Streaming API records (any table) and REST alerts (Defender for Endpoint `/api/alerts`, Graph
//! `alerts_v2`) become one CEF line each. The Device Event Class ID is stable per event type
//! (`DeviceProcessEvents:ProcessCreated`, `Alert:Execution`), so ArcSight can map it once.
//!
//! Config (all optional):
//!
//! ```yaml
//! config: { cef_version: 0, vendor: Microsoft }
//! ```

use siemflow_plugin_sdk::cef::{Cef, CefHeader, CefVersion};
use siemflow_plugin_sdk::record::Record;
use siemflow_plugin_sdk::{Event, Failure, Outcome, Output, Plugin, export_plugin};

/// The plugin's options.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// 0 (`CEF:0`, the default) or 1 (`CEF:1`).
    #[serde(default)]
    pub cef_version: u8,
    /// The Device Vendor header field.
    #[serde(default = "default_vendor")]
    pub vendor: String,
}

fn default_vendor() -> String {
    "Microsoft".into()
}

/// The mapping.
#[derive(Debug)]
pub struct DefenderCef {
    version: CefVersion,
    vendor: String,
}

/// Extension keys and the columns that fill them, first present wins.
const COLUMNS: &[(&str, &[&str])] = &[
    ("act", &["ActionType"]),
    ("dvchost", &["DeviceName", "computerDnsName"]),
    ("deviceExternalId", &["DeviceId", "machineId"]),
    (
        "suser",
        &["InitiatingProcessAccountName", "AccountName", "AccountUpn"],
    ),
    (
        "sntdom",
        &["InitiatingProcessAccountDomain", "AccountDomain"],
    ),
    ("src", &["LocalIP", "IPAddress", "SenderIPv4"]),
    ("spt", &["LocalPort"]),
    ("dst", &["RemoteIP"]),
    ("dpt", &["RemotePort"]),
    ("dhost", &["RemoteUrl", "RemoteDeviceName"]),
    ("sproc", &["InitiatingProcessFileName"]),
    ("spid", &["InitiatingProcessId"]),
    ("fname", &["FileName"]),
    ("filePath", &["FolderPath"]),
    ("fileHash", &["SHA256", "SHA1"]),
    ("fsize", &["FileSize"]),
    ("proto", &["Protocol"]),
];

/// Custom string fields: (key, label key, label, columns).
const CUSTOM: &[(&str, &str, &str, &[&str])] = &[
    (
        "cs1",
        "cs1Label",
        "CommandLine",
        &["ProcessCommandLine", "InitiatingProcessCommandLine"],
    ),
    ("cs2", "cs2Label", "AlertId", &["AlertId", "id"]),
    ("cs3", "cs3Label", "ReportId", &["ReportId"]),
    (
        "cs4",
        "cs4Label",
        "DetectionSource",
        &["DetectionSource", "detectionSource"],
    ),
];

impl DefenderCef {
    /// Maps one record (of `size` bytes) to its CEF line, labelled with the Device Event Class ID.
    pub fn map(&self, record: &Record<'_>, size: usize) -> Output {
        let table = record.table();
        let action = record.text("ActionType");
        let category = record.text("Category").or_else(|| record.text("category"));
        let title = record.text("Title").or_else(|| record.text("title"));
        let class_id = match (&table, &action) {
            (Some(table), Some(action)) => format!("{table}:{action}"),
            (Some(table), None) => table.to_string(),
            (None, _) => format!("Alert:{}", category.as_deref().unwrap_or("Unknown")),
        };
        let name = title
            .as_deref()
            .or(action.as_deref())
            .or(table.as_deref())
            .unwrap_or("Defender event");
        let product = record
            .text("ServiceSource")
            .or_else(|| record.text("serviceSource"))
            .or_else(|| record.text("productName"));
        let mut cef = Cef::with_capacity(
            self.version,
            &CefHeader {
                vendor: &self.vendor,
                product: product.as_deref().unwrap_or("Microsoft Defender XDR"),
                version: "1.0",
                class_id: &class_id,
                name,
                severity: severity(
                    record
                        .text("Severity")
                        .or_else(|| record.text("severity"))
                        .as_deref(),
                ),
            },
            size,
        );
        cef.ext_opt("rt", record.timestamp().map(|time| time.unix_millis()));
        cef.ext_opt("cat", table.as_deref().or(category.as_deref()));
        for (key, columns) in COLUMNS {
            cef.ext_opt(key, record.first_value(columns));
        }
        for (key, label_key, label, columns) in CUSTOM {
            if let Some(value) = record.first_value(columns) {
                cef.ext(label_key, *label).ext(key, value);
            }
        }
        Output::text(cef.finish()).siem_event_id(class_id)
    }
}

/// Defender severities on CEF's 0 to 10 scale (Low 0-3, Medium 4-6, High 7-8, Very-High 9-10).
fn severity(defender: Option<&str>) -> u8 {
    let Some(defender) = defender else {
        return 0;
    };
    [("informational", 1), ("low", 3), ("medium", 5), ("high", 8)]
        .iter()
        .find(|(name, _)| defender.eq_ignore_ascii_case(name))
        .map_or(0, |&(_, level)| level)
}

impl Plugin for DefenderCef {
    type Config = Config;

    fn new(config: Config) -> Result<Self, Failure> {
        let version = match config.cef_version {
            0 => CefVersion::V0,
            1 => CefVersion::V1,
            other => return Err(format!("`cef_version` is 0 or 1, not {other}").into()),
        };
        Ok(Self {
            version,
            vendor: config.vendor,
        })
    }

    fn process(&mut self, event: &Event) -> Result<Outcome, Failure> {
        Ok(Outcome::output(
            self.map(&event.record()?, event.body().len()),
        ))
    }
}

export_plugin!(DefenderCef);
