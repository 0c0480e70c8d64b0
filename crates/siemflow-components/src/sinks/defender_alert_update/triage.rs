//! A triage decision as a SIEM sends it, and its spelling in each alert API.
//!
//! Input: a JSON object with the alert `id` (or `alert_id`, `alertId`) and any of `status`,
//! `assigned_to` (or `assignedTo`), `classification`, `determination`, `comment`. Enum values
//! are read loosely (`InProgress`, `inProgress`, `in progress`, `in_progress` are one value; the
//! older names `Clean`, `InsufficientData`, `CompromisedUser`, `ConfirmedUserActivity` and
//! Graph's `notMalicious`, `notEnoughDataToValidate`, `compromisedAccount`, `confirmedActivity`
//! are the same determinations) and written in the target API's exact, case-sensitive form:
//! PascalCase for Defender for Endpoint (the update-alert page's names), camelCase for Graph.

use serde_json::{Map, Value};

/// Alert status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// New.
    New,
    /// Being worked on.
    InProgress,
    /// Done.
    Resolved,
}

/// Alert classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    /// A real threat.
    TruePositive,
    /// Not a threat.
    FalsePositive,
    /// Real, but expected (benign positive).
    InformationalExpectedActivity,
    /// Not classified (Graph only).
    Unknown,
}

/// Alert determination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Determination {
    /// True positive: a multi-staged attack.
    MultiStagedAttack,
    /// True positive: malicious user activity.
    MaliciousUserActivity,
    /// True positive: a compromised account (MDE: `CompromisedUser`).
    CompromisedAccount,
    /// True positive: malware.
    Malware,
    /// True positive: phishing.
    Phishing,
    /// True positive: unwanted software.
    UnwantedSoftware,
    /// Any classification: other.
    Other,
    /// Benign: security testing.
    SecurityTesting,
    /// Benign: a line-of-business application.
    LineOfBusinessApplication,
    /// Benign: confirmed activity (Graph: `confirmedUserActivity`).
    ConfirmedActivity,
    /// False positive: not malicious (also called `Clean`).
    NotMalicious,
    /// False positive: not enough data (Graph: `notEnoughDataToValidate`).
    InsufficientData,
    /// Not determined (Graph only).
    Unknown,
}

/// Which API's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Defender for Endpoint `/api/alerts`.
    Mde,
    /// Graph `alerts_v2`.
    Graph,
}

/// One decision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Triage {
    /// The alert.
    pub id: String,
    /// New status.
    pub status: Option<Status>,
    /// New owner.
    pub assigned_to: Option<String>,
    /// New classification.
    pub classification: Option<Classification>,
    /// New determination.
    pub determination: Option<Determination>,
    /// A comment to add.
    pub comment: Option<String>,
}

fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Status {
    fn parse(text: &str) -> Option<Self> {
        Some(match squash(text).as_str() {
            "new" => Self::New,
            "inprogress" | "active" => Self::InProgress,
            "resolved" | "closed" => Self::Resolved,
            _ => return None,
        })
    }

    fn spell(self, dialect: Dialect) -> &'static str {
        match (self, dialect) {
            (Self::New, Dialect::Mde) => "New",
            (Self::InProgress, Dialect::Mde) => "InProgress",
            (Self::Resolved, Dialect::Mde) => "Resolved",
            (Self::New, Dialect::Graph) => "new",
            (Self::InProgress, Dialect::Graph) => "inProgress",
            (Self::Resolved, Dialect::Graph) => "resolved",
        }
    }
}

impl Classification {
    fn parse(text: &str) -> Option<Self> {
        Some(match squash(text).as_str() {
            "truepositive" | "tp" => Self::TruePositive,
            "falsepositive" | "fp" => Self::FalsePositive,
            "informationalexpectedactivity" | "benignpositive" | "informational" | "bp" => {
                Self::InformationalExpectedActivity
            }
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }

    fn spell(self, dialect: Dialect) -> Option<&'static str> {
        Some(match (self, dialect) {
            (Self::TruePositive, Dialect::Mde) => "TruePositive",
            (Self::FalsePositive, Dialect::Mde) => "FalsePositive",
            (Self::InformationalExpectedActivity, Dialect::Mde) => "InformationalExpectedActivity",
            (Self::Unknown, Dialect::Mde) => return None,
            (Self::TruePositive, Dialect::Graph) => "truePositive",
            (Self::FalsePositive, Dialect::Graph) => "falsePositive",
            (Self::InformationalExpectedActivity, Dialect::Graph) => {
                "informationalExpectedActivity"
            }
            (Self::Unknown, Dialect::Graph) => "unknown",
        })
    }
}

impl Determination {
    fn parse(text: &str) -> Option<Self> {
        Some(match squash(text).as_str() {
            "multistagedattack" => Self::MultiStagedAttack,
            "malicioususeractivity" => Self::MaliciousUserActivity,
            "compromiseduser" | "compromisedaccount" => Self::CompromisedAccount,
            "malware" => Self::Malware,
            "phishing" => Self::Phishing,
            "unwantedsoftware" => Self::UnwantedSoftware,
            "other" => Self::Other,
            "securitytesting" => Self::SecurityTesting,
            "lineofbusinessapplication" => Self::LineOfBusinessApplication,
            "confirmedactivity" | "confirmeduseractivity" => Self::ConfirmedActivity,
            "notmalicious" | "clean" => Self::NotMalicious,
            "insufficientdata" | "notenoughdatatovalidate" => Self::InsufficientData,
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }

    fn spell(self, dialect: Dialect) -> Option<&'static str> {
        use Determination as D;
        Some(match dialect {
            Dialect::Mde => match self {
                D::MultiStagedAttack => "MultiStagedAttack",
                D::MaliciousUserActivity => "MaliciousUserActivity",
                D::CompromisedAccount => "CompromisedUser",
                D::Malware => "Malware",
                D::Phishing => "Phishing",
                D::UnwantedSoftware => "UnwantedSoftware",
                D::Other => "Other",
                D::SecurityTesting => "SecurityTesting",
                D::LineOfBusinessApplication => "LineOfBusinessApplication",
                D::ConfirmedActivity => "ConfirmedActivity",
                D::NotMalicious => "NotMalicious",
                D::InsufficientData => "InsufficientData",
                D::Unknown => return None,
            },
            Dialect::Graph => match self {
                D::MultiStagedAttack => "multiStagedAttack",
                D::MaliciousUserActivity => "maliciousUserActivity",
                D::CompromisedAccount => "compromisedAccount",
                D::Malware => "malware",
                D::Phishing => "phishing",
                D::UnwantedSoftware => "unwantedSoftware",
                D::Other => "other",
                D::SecurityTesting => "securityTesting",
                D::LineOfBusinessApplication => "lineOfBusinessApplication",
                D::ConfirmedActivity => "confirmedUserActivity",
                D::NotMalicious => "notMalicious",
                D::InsufficientData => "notEnoughDataToValidate",
                D::Unknown => "unknown",
            },
        })
    }
}

impl Triage {
    /// Reads a decision from an event body.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let object = value.as_object().ok_or("the event is not a JSON object")?;
        let text = |names: &[&str]| -> Result<Option<String>, String> {
            for name in names {
                match object.get(*name) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(text)) => return Ok(Some(text.clone())),
                    Some(Value::Number(number)) => return Ok(Some(number.to_string())),
                    Some(_) => return Err(format!("`{name}` must be a string")),
                }
            }
            Ok(None)
        };
        let id = text(&["id", "alert_id", "alertId"])?
            .filter(|id| !id.trim().is_empty())
            .ok_or("no alert `id`")?;
        let status =
            match text(&["status"])? {
                Some(value) => Some(Status::parse(&value).ok_or_else(|| {
                    format!("`status` `{value}` is not New, InProgress or Resolved")
                })?),
                None => None,
            };
        let classification = match text(&["classification"])? {
            Some(value) => Some(Classification::parse(&value).ok_or_else(|| {
                format!("`classification` `{value}` is not TruePositive, FalsePositive or InformationalExpectedActivity")
            })?),
            None => None,
        };
        let determination = match text(&["determination"])? {
            Some(value) => Some(Determination::parse(&value).ok_or_else(|| {
                format!("`determination` `{value}` is not a Defender determination")
            })?),
            None => None,
        };
        let triage = Self {
            id,
            status,
            assigned_to: text(&["assigned_to", "assignedTo"])?,
            classification,
            determination,
            comment: text(&["comment"])?.filter(|comment| !comment.is_empty()),
        };
        if triage.status.is_none()
            && triage.assigned_to.is_none()
            && triage.classification.is_none()
            && triage.determination.is_none()
            && triage.comment.is_none()
        {
            return Err("nothing to update: no status, assigned_to, classification, determination or comment".into());
        }
        Ok(triage)
    }

    /// The PATCH body for `dialect` with only what differs from `current` (the alert as the
    /// API returned it). A comment is included for Defender for Endpoint (Graph takes comments
    /// in a separate call).
    pub fn changes(&self, current: &Value, dialect: Dialect) -> Result<Map<String, Value>, String> {
        let mut body = Map::new();
        let now = |name: &str| current.get(name).and_then(Value::as_str);
        if let Some(status) = self.status
            && now("status").and_then(Status::parse) != Some(status)
        {
            body.insert("status".into(), status.spell(dialect).into());
        }
        if let Some(assigned) = &self.assigned_to
            && now("assignedTo") != Some(assigned.as_str())
        {
            body.insert("assignedTo".into(), assigned.clone().into());
        }
        if let Some(classification) = self.classification
            && now("classification").and_then(Classification::parse) != Some(classification)
        {
            let spelled = classification.spell(dialect).ok_or(
                "the Defender for Endpoint API cannot set the classification back to unknown",
            )?;
            body.insert("classification".into(), spelled.into());
        }
        if let Some(determination) = self.determination
            && now("determination").and_then(Determination::parse) != Some(determination)
        {
            let spelled = determination.spell(dialect).ok_or(
                "the Defender for Endpoint API cannot set the determination back to unknown",
            )?;
            body.insert("determination".into(), spelled.into());
        }
        if dialect == Dialect::Mde
            && let Some(comment) = &self.comment
        {
            body.insert("comment".into(), comment.clone().into());
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_what_changed_is_sent_in_the_target_spelling() {
        let triage = Triage::parse(&json!({
            "alert_id": "da1", "status": "in progress", "assigned_to": "soc@contoso.example",
            "classification": "TruePositive", "determination": "Clean", "comment": "seen"
        }))
        .unwrap();
        let current = json!({"status": "InProgress", "assignedTo": null, "classification": "TruePositive", "determination": null});
        let mde = triage.changes(&current, Dialect::Mde).unwrap();
        assert_eq!(
            Value::Object(mde),
            json!({"assignedTo": "soc@contoso.example", "determination": "NotMalicious", "comment": "seen"})
        );
        let current = json!({"status": "new", "assignedTo": "soc@contoso.example", "classification": "truePositive", "determination": "notMalicious"});
        let graph = triage.changes(&current, Dialect::Graph).unwrap();
        assert_eq!(Value::Object(graph), json!({"status": "inProgress"}));
    }

    #[test]
    fn bad_decisions_say_why() {
        assert!(
            Triage::parse(&json!({"status": "New"}))
                .unwrap_err()
                .contains("id")
        );
        assert!(
            Triage::parse(&json!({"id": "a"}))
                .unwrap_err()
                .contains("nothing to update")
        );
        assert!(
            Triage::parse(&json!({"id": "a", "status": "Done"}))
                .unwrap_err()
                .contains("`status` `Done`")
        );
        assert!(Triage::parse(&json!({"id": "a", "status": 3})).is_err());
        let unknown = Triage::parse(&json!({"id": "a", "classification": "unknown"})).unwrap();
        assert!(unknown.changes(&json!({}), Dialect::Mde).is_err());
        assert_eq!(
            Value::Object(unknown.changes(&json!({}), Dialect::Graph).unwrap()),
            json!({"classification": "unknown"})
        );
    }
}
