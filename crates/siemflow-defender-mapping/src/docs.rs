//! `docs/mappings.md`, generated from the mapping table so the documentation cannot drift from
//! what the plugins do.

use std::fmt::Write;

use crate::catalog::cim::{self, CimValue};
use crate::catalog::{self, Action, Field, GENERIC, GENERIC_ACTION, Kind, Level, Origin, Table};

/// The Markdown of `docs/mappings.md`.
pub fn mappings_markdown() -> String {
    let mut out = String::new();
    out.push_str(HEADER);
    out.push_str("\n## Event types\n\n");
    for table in catalog::tables().chain([&GENERIC]) {
        let _ = writeln!(out, "- [{}](#{})", table.name, anchor(table.name));
    }
    ocsf_classes_section(&mut out);
    for table in catalog::tables() {
        table_section(&mut out, table);
    }
    table_section(&mut out, &GENERIC);
    out
}

const HEADER: &str = "\
<!-- Generated from crates/siemflow-defender-mapping/src/catalog by
     `SIEMFLOW_UPDATE_GOLDEN=1 cargo test -p siemflow-defender-mapping`. Do not edit. -->
# Defender mappings

What the built-in plugins `defender-cef` (ArcSight CEF), `defender-leef` (QRadar LEEF),
`defender-splunk` (Splunk HEC with CIM field names) and `defender-ocsf` (OCSF 1.5.0) make of
each Defender event type. It is generated from the mapping table the plugins are built from.

- **Event id** is the CEF Device Event Class ID, the LEEF EventID, the Splunk `signature_id`
  and the OCSF `metadata.event_code`: `Table:ActionType` for the streaming tables (the action
  column named per table), `Alert:Category` and `Incident` for the REST resources. A value the
  table does not list uses its `*` entry, under its own event id.
- **Category** is QRadar-style `High-Level / Low-Level` (CEF `cat`, LEEF `cat`, Splunk
  `category`).
- **Severity** is the record's own (alerts, incidents, AlertInfo, AlertEvidence), else the
  event type's. Default scales, each overridable with `severity_map`:

  | Defender level | CEF (0–10) | LEEF `sev` (1–10) | Splunk `severity` | OCSF `severity_id` |
  |---|---|---|---|---|
  | unknown | 0 | 1 | none (`vendor_severity` unknown) | 0 |
  | informational | 1 | 1 | informational | 1 |
  | low | 3 | 3 | low | 2 |
  | medium | 5 | 5 | medium | 3 |
  | high | 8 | 8 | high | 4 |

- **Fields**: the column (several: the first with a value wins; `a.b` is `b` inside the object
  column `a`), then its key per format. Columns no format key takes are not lost: CEF puts them
  in `cs6` (`cs6Label=Unmapped`), LEEF in `unmapped`, Splunk and OCSF in an `unmapped` object.
  A CEF or LEEF value cut to its limit is named in `flexString2` (`flexString2Label=Truncated`)
  or `truncated`. `cs6` holds at most ArcSight's 4,000 characters: whole columns as long as
  they fit, the names of the others under `siemflow.omitted` (and `cs6` in `flexString2`), so
  it is always valid JSON and says what it lacks.
- **OCSF class** is chosen per event type (see each table's event types: DeviceEvents'
  antivirus, ASR, SmartScreen and tampering events are Detection Findings, its firewall and
  network-protection blocks Network Activity: Refuse, its scheduled tasks Scheduled Job
  Activity, service installs Windows Service Activity, PowerShell commands Script Activity,
  remote threads and process opens Process Activity: Inject and Open). Every event validates
  against the official OCSF 1.5.0 schema: an object OCSF would reject for want of an
  identifying attribute (an endpoint with only a port, a process without an id) is not
  written and its columns stay in `unmapped`, and a record without what its class needs
  ([OCSF classes](#ocsf-classes)) is a Base Event with the same `metadata.event_code`.
- Records of an unknown table or shape are mapped as [Unknown](#unknown), counted in
  `siemflow_component_unmapped_events_total` and `siemflow_mapping_unknown_total{table}`, with
  a warning the first time each is seen; so is an unknown event type of a known table. A
  column a table's documented schema does not list goes to the catch-all, with a warning the
  first time, and its values are counted in
  `siemflow_plugin_counter_total{name=\"unknown-column\", key=TABLE}`. `siemflow mappings coverage FILE...` shows, per table, column and format, what
  becomes of your records' columns (see Mapping drift in docs/operations.md).
";

/// The OCSF classes the tables use, with what each needs of a record.
fn ocsf_classes_section(out: &mut String) {
    out.push_str(
        "\n## OCSF classes\n\n\
         | Class | Needs (`a \\| b`: either) |\n\
         |---|---|\n",
    );
    let mut seen: Vec<u32> = Vec::new();
    let classes = catalog::tables().chain([&GENERIC]).flat_map(|table| {
        std::iter::once(table.ocsf).chain(table.actions.iter().filter_map(|action| action.ocsf))
    });
    for class in classes {
        if seen.contains(&class.class_uid) {
            continue;
        }
        seen.push(class.class_uid);
        let needs: Vec<String> = class
            .needs
            .iter()
            .map(|need| format!("`{}`", need.replace('|', "` \\| `")))
            .collect();
        let _ = writeln!(
            out,
            "| {} ({}) | {} |",
            class.class_name,
            class.class_uid,
            if needs.is_empty() {
                "nothing".to_string()
            } else {
                needs.join(", ")
            }
        );
    }
}

fn table_section(out: &mut String, table: &'static Table) {
    let _ = writeln!(out, "\n## {}\n", table.name);
    let origin = match table.origin {
        Origin::Streaming => "Streaming API table",
        Origin::Rest => "REST resource",
        Origin::Unknown => "Fallback",
    };
    let _ = writeln!(out, "{origin}, {}.\n", table.note);
    let _ = writeln!(
        out,
        "Product: {} · Splunk sourcetype: `{}` · CIM model: {} · OCSF class: {} ({})\n",
        table.product,
        table.sourcetype,
        cim_model(table),
        table.ocsf.class_name,
        table.ocsf.class_uid
    );
    if !table.severity_columns.is_empty() {
        let _ = writeln!(
            out,
            "Severity from: {}.\n",
            code_list(table.severity_columns)
        );
    }
    if !table.time_columns.is_empty() {
        let _ = writeln!(out, "Time from: {}.\n", code_list(table.time_columns));
    }
    out.push_str(
        "| Event id | Name | Category | Severity | OCSF class: activity | CIM action |\n\
         |---|---|---|---|---|---|\n",
    );
    let actions: &[Action] = if table.actions.is_empty() {
        std::slice::from_ref(&GENERIC_ACTION)
    } else {
        table.actions
    };
    for action in actions {
        let id = match (table.action_column, action.is_fallback()) {
            (Some(column), true) => format!("`{}:<{column}>`", table.name),
            (Some(_), false) => format!("`{}:{}`", table.name, action.value),
            (None, _) => format!("`{}`", table.name),
        };
        let class = action.ocsf.unwrap_or(table.ocsf);
        let _ = writeln!(
            out,
            "| {id} | {} | {} / {} | {} | {} ({}): {} ({}) | {} |",
            cell(action.name),
            cell(action.category.high),
            cell(action.category.low),
            level(action.severity),
            class.class_name,
            class.class_uid,
            class.activity_name,
            class.activity_id,
            action.cim_action.unwrap_or("")
        );
    }
    out.push_str(
        "\n| Column | CEF | LEEF | Splunk CIM | OCSF |\n\
         |---|---|---|---|---|\n",
    );
    for field in table.all_fields() {
        let cef = match (field.cef, field.cef_label) {
            (Some(key), Some(label)) => format!("`{key}` ({key}Label={label})"),
            (Some(key), None) => format!("`{key}`"),
            (None, _) => String::new(),
        };
        let ocsf = match (field.ocsf, field.kind) {
            (Some(path), Kind::Hash(algorithm)) => {
                format!("`{path}[]` (algorithm_id {algorithm})")
            }
            (Some(path), Kind::Lookup(_)) => format!("`{path}` (enum)"),
            (Some(path), Kind::Time) => format!("`{path}` (ms)"),
            (Some(path), Kind::List | Kind::Email(true)) => format!("`{path}[]`"),
            (Some(path), _) => format!("`{path}`"),
            (None, _) => String::new(),
        };
        let ocsf = match field.ocsf_else {
            Some(other) => format!("{ocsf}, else `{other}`"),
            None => ocsf,
        };
        let _ = writeln!(
            out,
            "| {} | {cef} | {} | {} | {ocsf} |",
            code_list(field.sources),
            key(field.leef),
            cim_key(field)
        );
    }
}

/// The table's CIM model, with the tags the Splunk add-on gives its events.
fn cim_model(table: &Table) -> String {
    match cim::dataset_of(table.cim_model) {
        Some(dataset) => {
            let only = if dataset.needs_action {
                ", event types with a CIM action"
            } else {
                ""
            };
            format!(
                "{} (the add-on tags it `{}`{only})",
                dataset.name,
                dataset.tags.join(" ")
            )
        }
        None if matches!(table.cim_model, "" | "none") => "none".to_string(),
        None => format!("{} (field names; not tagged)", table.cim_model),
    }
}

/// A field's CIM key, with the conversion to CIM's spelling.
fn cim_key(field: &Field) -> String {
    let conversion = match field.cim_value {
        None => return key(field.cim),
        Some(CimValue::Lower) => "lower case",
        Some(CimValue::OneOf(_)) => "CIM's values",
        Some(CimValue::RegistryHive) => "CIM hive",
        Some(CimValue::LastPathElement(_)) => "last element",
        Some(CimValue::UrlHost) => "host",
        Some(CimValue::TechniqueIds) => "ATT&CK ids",
        Some(CimValue::EmailDomain) => "domain",
        Some(CimValue::Count) => "count",
        Some(CimValue::Mac) => "lower case, colons",
        Some(CimValue::Values(_)) => "list",
    };
    format!("{} ({conversion})", key(field.cim))
}

fn level(level: Level) -> &'static str {
    level.name()
}

fn key(key: Option<&str>) -> String {
    key.map(|key| format!("`{key}`")).unwrap_or_default()
}

fn code_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// GitHub's heading anchor for a table name (lowercase; names are letters only).
fn anchor(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::mappings_markdown;

    /// `docs/mappings.md` is what the table generates (`SIEMFLOW_UPDATE_GOLDEN=1` rewrites it).
    #[test]
    fn docs_mappings_md_is_generated_from_the_table() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/mappings.md");
        let generated = mappings_markdown();
        if std::env::var_os("SIEMFLOW_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &generated).expect("write docs/mappings.md");
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "docs/mappings.md is stale: run `SIEMFLOW_UPDATE_GOLDEN=1 cargo test -p \
             siemflow-defender-mapping` and commit it"
        );
    }
}
