//! A generated corpus of Defender streaming records: every table the streaming API carries in
//! 2026 (`shared/reference/defender-apis.md` sections 5 and 9), each with its documented
//! ActionType values and any others a caller asks for, with every column typed as Microsoft's
//! schema docs type it.
//!
//! It is written from the docs, not from siemflow's mapping table, so that a mapping is checked
//! against records it was not written from. Each (table, ActionType) gets rows in four shapes:
//! ordinary values; awkward values (separators, escapes, non-ASCII text, long strings);
//! sparse rows where only the columns Defender always fills are set and the others are null,
//! empty or absent; and the alternative spellings real records use (numbers as strings, JSON
//! columns as text, IPv6 addresses). Generation is seeded: one seed, one corpus.

use serde_json::{Map, Value, json};

use crate::server::Dice;

/// A column's type in the schema docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `string`.
    String,
    /// `datetime`.
    DateTime,
    /// `long`.
    Long,
    /// `int`.
    Int,
    /// `bool` / `boolean`.
    Bool,
    /// `dynamic`: a JSON value in the record.
    Dynamic,
    /// A string holding JSON-array text (`AttackTechniques`, `LoggedOnUsers`).
    JsonText,
}

/// One table of the streaming API as Microsoft documents it.
#[derive(Debug, Clone, Copy)]
pub struct TableSchema {
    /// The table name (`AdvancedHunting-<name>` is the record's category).
    pub name: &'static str,
    /// The columns: `Name[:type][!]` separated by spaces, type `dt`, `long`, `int`, `bool`,
    /// `dyn` or `jtext` (string when absent), `!` for a column Defender always fills; `@init`
    /// stands for the InitiatingProcess block.
    pub columns: &'static str,
    /// Documented ActionType values (empty when the table has no ActionType column).
    pub actions: &'static [&'static str],
}

impl TableSchema {
    /// The columns with their types and whether Defender always fills them.
    pub fn columns(&self) -> Vec<(String, ColumnType, bool)> {
        self.columns
            .split_whitespace()
            .flat_map(|token| {
                if token == "@init" {
                    INITIATING_PROCESS.split_whitespace().collect::<Vec<_>>()
                } else {
                    vec![token]
                }
            })
            .map(|token| {
                let (token, always) = match token.strip_suffix('!') {
                    Some(token) => (token, true),
                    None => (token, false),
                };
                let (name, kind) = token.split_once(':').unwrap_or((token, ""));
                let kind = match kind {
                    "dt" => ColumnType::DateTime,
                    "long" => ColumnType::Long,
                    "int" => ColumnType::Int,
                    "bool" => ColumnType::Bool,
                    "dyn" => ColumnType::Dynamic,
                    "jtext" => ColumnType::JsonText,
                    _ => ColumnType::String,
                };
                (name.to_string(), kind, always || name == "Timestamp")
            })
            .collect()
    }

    /// The column that says what kind of event a row is: `ActionType`, or `Category` for
    /// AlertInfo.
    pub fn action_column(&self) -> Option<&'static str> {
        let columns = self.columns();
        ["ActionType", "Category"]
            .into_iter()
            .find(|column| columns.iter().any(|(name, _, _)| name == column))
    }
}

/// The InitiatingProcess block the device tables share (section 5).
const INITIATING_PROCESS: &str = "InitiatingProcessAccountDomain InitiatingProcessAccountName \
    InitiatingProcessAccountSid InitiatingProcessAccountUpn InitiatingProcessAccountObjectId \
    InitiatingProcessSHA1 InitiatingProcessSHA256 InitiatingProcessMD5 \
    InitiatingProcessFileName! InitiatingProcessFolderPath InitiatingProcessCommandLine \
    InitiatingProcessFileSize:long InitiatingProcessVersionInfoCompanyName \
    InitiatingProcessVersionInfoProductName InitiatingProcessVersionInfoProductVersion \
    InitiatingProcessVersionInfoInternalFileName InitiatingProcessVersionInfoOriginalFileName \
    InitiatingProcessVersionInfoFileDescription InitiatingProcessId:long! \
    InitiatingProcessParentId:long InitiatingProcessCreationTime:dt \
    InitiatingProcessParentCreationTime:dt InitiatingProcessParentFileName \
    InitiatingProcessIntegrityLevel InitiatingProcessTokenElevation \
    InitiatingProcessSessionId:long IsInitiatingProcessRemoteSession:bool \
    InitiatingProcessRemoteSessionDeviceName InitiatingProcessRemoteSessionIP";

/// Every table of the streaming API in 2026: the 21 Microsoft lists as GA and the ones users
/// see on the stream besides.
pub const TABLES: &[TableSchema] = &[
    TableSchema {
        name: "AlertInfo",
        columns: "Timestamp:dt AlertId! Title! Category! Severity! ServiceSource! DetectionSource \
            AttackTechniques:jtext MachineGroup",
        actions: &[
            "InitialAccess",
            "Execution",
            "Persistence",
            "PrivilegeEscalation",
            "DefenseEvasion",
            "CredentialAccess",
            "Discovery",
            "LateralMovement",
            "Collection",
            "Exfiltration",
            "CommandAndControl",
            "Impact",
            "Malware",
            "SuspiciousActivity",
            "UnwantedSoftware",
            "Ransomware",
            "ThreatManagement",
        ],
    },
    TableSchema {
        name: "AlertEvidence",
        columns: "Timestamp:dt AlertId! Title! Categories:jtext! AttackTechniques:jtext \
            ServiceSource! DetectionSource EntityType! EvidenceRole! EvidenceDirection FileName \
            FolderPath SHA1 SHA256 FileSize:long ThreatFamily RemoteIP RemoteUrl AccountName \
            AccountDomain AccountSid AccountObjectId AccountUpn DeviceId DeviceName LocalIP \
            NetworkMessageId EmailSubject Application ApplicationId:int OAuthApplicationId \
            ProcessCommandLine RegistryKey RegistryValueName RegistryValueData \
            AdditionalFields:jtext Severity CloudResource CloudPlatform ResourceType ResourceID \
            SubscriptionId MachineGroup",
        actions: &[],
    },
    TableSchema {
        name: "DeviceProcessEvents",
        columns: "Timestamp:dt DeviceId! DeviceName! ActionType! FileName! FolderPath SHA1 \
            SHA256 MD5 FileSize:long ProcessVersionInfoCompanyName ProcessVersionInfoProductName \
            ProcessVersionInfoProductVersion ProcessVersionInfoInternalFileName \
            ProcessVersionInfoOriginalFileName ProcessVersionInfoFileDescription \
            ProcessId:long! ProcessCommandLine ProcessIntegrityLevel ProcessTokenElevation \
            ProcessCreationTime:dt AccountDomain AccountName AccountSid AccountUpn \
            AccountObjectId LogonId:long @init InitiatingProcessLogonId:long \
            InitiatingProcessSignerType InitiatingProcessSignatureStatus ReportId:long! \
            AppGuardContainerId AdditionalFields:jtext CreatedProcessSessionId:long \
            IsProcessRemoteSession:bool ProcessRemoteSessionDeviceName ProcessRemoteSessionIP \
            MachineGroup",
        actions: &["ProcessCreated"],
    },
    TableSchema {
        name: "DeviceNetworkEvents",
        columns: "Timestamp:dt DeviceId! DeviceName! ActionType! RemoteIP! RemotePort:int \
            RemoteUrl LocalIP! LocalPort:int Protocol LocalIPType RemoteIPType @init \
            ReportId:long! AppGuardContainerId AdditionalFields:jtext MachineGroup",
        actions: &[
            "ConnectionSuccess",
            "ConnectionFailed",
            "ConnectionAttempt",
            "ConnectionRequest",
            "ConnectionAcknowledged",
            "InboundConnectionAccepted",
            "ListeningConnectionCreated",
            "DnsConnectionInspected",
            "HttpConnectionInspected",
            "SslConnectionInspected",
            "SshConnectionInspected",
            "IcmpConnectionInspected",
            "NetworkSignatureInspected",
        ],
    },
    TableSchema {
        name: "DeviceFileEvents",
        columns: "Timestamp:dt DeviceId! DeviceName! ActionType! FileName! FolderPath! SHA1 \
            SHA256 MD5 FileOriginUrl FileOriginReferrerUrl FileOriginIP PreviousFolderPath \
            PreviousFileName FileSize:long @init RequestProtocol RequestSourceIP \
            RequestSourcePort:int RequestAccountName RequestAccountDomain RequestAccountSid \
            ShareName SensitivityLabel SensitivitySubLabel IsAzureInfoProtectionApplied:bool \
            ReportId:long! AppGuardContainerId AdditionalFields:jtext MachineGroup",
        actions: &["FileCreated", "FileModified", "FileDeleted", "FileRenamed"],
    },
    TableSchema {
        name: "DeviceLogonEvents",
        columns: "Timestamp:dt DeviceId! DeviceName! ActionType! LogonType AccountDomain \
            AccountName! AccountSid Protocol FailureReason IsLocalAdmin:bool LogonId:long \
            RemoteDeviceName RemoteIP RemoteIPType RemotePort:int @init ReportId:long! \
            AppGuardContainerId AdditionalFields:jtext MachineGroup",
        actions: &["LogonSuccess", "LogonFailed", "LogonAttempted"],
    },
    TableSchema {
        name: "DeviceRegistryEvents",
        columns: "Timestamp:dt DeviceId! DeviceName! ActionType! RegistryKey! RegistryValueType \
            RegistryValueName RegistryValueData PreviousRegistryKey PreviousRegistryValueName \
            PreviousRegistryValueData @init ReportId:long! AppGuardContainerId MachineGroup",
        actions: &[
            "RegistryKeyCreated",
            "RegistryKeyDeleted",
            "RegistryKeyRenamed",
            "RegistryValueSet",
            "RegistryValueDeleted",
        ],
    },
    TableSchema {
        name: "DeviceImageLoadEvents",
        columns: "Timestamp:dt DeviceId! DeviceName! ActionType! FileName! FolderPath SHA1 \
            SHA256 MD5 FileSize:long @init ReportId:long! AppGuardContainerId MachineGroup",
        actions: &["ImageLoaded"],
    },
    TableSchema {
        name: "DeviceEvents",
        columns: "Timestamp:dt DeviceId! DeviceName! ActionType! FileName FolderPath SHA1 \
            SHA256 MD5 FileSize:long AccountDomain AccountName AccountSid RemoteUrl \
            RemoteDeviceName ProcessId:long ProcessCommandLine ProcessCreationTime:dt \
            ProcessTokenElevation LogonId:long RegistryKey RegistryValueName RegistryValueData \
            RemoteIP RemotePort:int LocalIP LocalPort:int FileOriginUrl FileOriginIP @init \
            InitiatingProcessLogonId:long ReportId:long! AppGuardContainerId \
            AdditionalFields:jtext CreatedProcessSessionId:long IsProcessRemoteSession:bool \
            ProcessRemoteSessionDeviceName ProcessRemoteSessionIP MachineGroup",
        actions: &[
            "AntivirusDetection",
            "AntivirusReport",
            "AntivirusScanCompleted",
            "AntivirusScanFailed",
            "AntivirusDefinitionsUpdated",
            "AsrExecutableEmailContentBlocked",
            "AsrOfficeChildProcessBlocked",
            "AsrObfuscatedScriptBlocked",
            "AsrLsassCredentialTheftBlocked",
            "AsrPsexecWmiChildProcessBlocked",
            "AsrUntrustedUsbProcessBlocked",
            "ControlledFolderAccessViolationBlocked",
            "ExploitGuardNetworkProtectionBlocked",
            "ExploitGuardNonMicrosoftSignedBlocked",
            "FirewallInboundConnectionBlocked",
            "FirewallOutboundConnectionBlocked",
            "FirewallInboundConnectionToAppBlocked",
            "SmartScreenUrlWarning",
            "SmartScreenAppWarning",
            "ScheduledTaskCreated",
            "ScheduledTaskUpdated",
            "ScheduledTaskDeleted",
            "ScheduledTaskEnabled",
            "ScheduledTaskDisabled",
            "ServiceInstalled",
            "PowerShellCommand",
            "ProcessCreatedUsingWmiQuery",
            "CreateRemoteThreadApiCall",
            "OpenProcessApiCall",
            "ReadProcessMemoryApiCall",
            "QueueUserApcRemoteApiCall",
            "NamedPipeEvent",
            "LdapSearch",
            "DnsQueryResponse",
            "UsbDriveMounted",
            "PnpDeviceConnected",
            "UserAccountCreated",
            "UserAccountDeleted",
            "UserAccountAddedToLocalGroup",
            "TamperingAttempt",
            "BrowserLaunchedToOpenUrl",
            "DriverLoad",
            "ScreenshotTaken",
            "GetClipboardData",
        ],
    },
    TableSchema {
        name: "DeviceInfo",
        columns: "Timestamp:dt DeviceId! DeviceName! ClientVersion PublicIP OSArchitecture \
            OSPlatform OSBuild:long IsAzureADJoined:bool JoinType AadDeviceId \
            LoggedOnUsers:jtext RegistryDeviceTag OSVersion MachineGroup ReportId:long! \
            OnboardingStatus AdditionalFields:jtext DeviceCategory DeviceType DeviceSubtype \
            Model Vendor OSDistribution OSVersionInfo MergedDeviceIds MergedToDeviceId \
            IsInternetFacing:bool SensorHealthState IsExcluded:bool ExclusionReason \
            ExposureLevel AssetValue DeviceManualTags DeviceDynamicTags ConnectivityType \
            HostDeviceId",
        actions: &[],
    },
    TableSchema {
        name: "DeviceNetworkInfo",
        columns: "Timestamp:dt DeviceId! DeviceName! NetworkAdapterName NetworkAdapterVendor \
            MacAddress! NetworkAdapterType NetworkAdapterStatus TunnelType \
            ConnectedNetworks:jtext DnsAddresses:jtext DefaultGateways:jtext \
            IPAddresses:jtext IPv4Dhcp IPv6Dhcp ReportId:long! MachineGroup",
        actions: &[],
    },
    TableSchema {
        name: "DeviceFileCertificateInfo",
        columns: "Timestamp:dt DeviceId! DeviceName! SHA1! IsSigned:bool IsTrusted:bool \
            IsRootSignerMicrosoft:bool SignatureType Signer SignerHash Issuer IssuerHash \
            CertificateSerialNumber CrlDistributionPointUrls:jtext \
            CertificateCreationTime:dt CertificateExpirationTime:dt \
            CertificateCountersignatureTime:dt ReportId:long! MachineGroup",
        actions: &[],
    },
    TableSchema {
        name: "EmailEvents",
        columns: "Timestamp:dt NetworkMessageId! InternetMessageId SenderMailFromAddress \
            SenderFromAddress! SenderDisplayName SenderObjectId SenderMailFromDomain \
            SenderFromDomain SenderIPv4 SenderIPv6 RecipientEmailAddress! RecipientObjectId \
            Subject EmailClusterId:long EmailDirection! DeliveryAction! DeliveryLocation \
            ThreatTypes ThreatNames DetectionMethods ConfidenceLevel BulkComplaintLevel:int \
            EmailAction EmailActionPolicy EmailActionPolicyGuid AuthenticationDetails \
            AttachmentCount:int UrlCount:int EmailLanguage Connectors OrgLevelAction \
            OrgLevelPolicy UserLevelAction UserLevelPolicy ReportId! AdditionalFields:jtext",
        actions: &[],
    },
    TableSchema {
        name: "EmailAttachmentInfo",
        columns: "Timestamp:dt NetworkMessageId! SenderFromAddress! SenderDisplayName \
            SenderObjectId RecipientEmailAddress! RecipientObjectId FileName! FileType \
            SHA256 FileSize:long ThreatTypes ThreatNames DetectionMethods ReportId!",
        actions: &[],
    },
    TableSchema {
        name: "EmailPostDeliveryEvents",
        columns: "Timestamp:dt NetworkMessageId! InternetMessageId Action! ActionType! \
            ActionTrigger ActionResult RecipientEmailAddress! DeliveryLocation ThreatTypes \
            DetectionMethods ReportId!",
        actions: &["Manual remediation", "Phish ZAP", "Malware ZAP"],
    },
    TableSchema {
        name: "EmailUrlInfo",
        columns: "Timestamp:dt NetworkMessageId! Url! UrlDomain! UrlLocation ReportId!",
        actions: &[],
    },
    TableSchema {
        name: "UrlClickEvents",
        columns: "Timestamp:dt Url! UrlChain ActionType! AccountUpn! IPAddress Workload \
            NetworkMessageId ThreatTypes DetectionMethods IsClickedThrough:bool ReportId!",
        actions: &[
            "ClickAllowed",
            "ClickBlocked",
            "ClickBlockedByTenantPolicy",
            "UrlScanInProgress",
            "UrlErrorPage",
        ],
    },
    TableSchema {
        name: "IdentityLogonEvents",
        columns: "Timestamp:dt ActionType! Application! LogonType Protocol FailureReason \
            AccountName! AccountDomain AccountUpn AccountSid AccountObjectId \
            AccountDisplayName DeviceName DeviceType OSPlatform IPAddress Port:int \
            DestinationDeviceName DestinationIPAddress DestinationPort:int TargetDeviceName \
            TargetAccountDisplayName Location Isp ReportId! AdditionalFields:dyn",
        actions: &["LogonSuccess", "LogonFailed"],
    },
    TableSchema {
        name: "IdentityQueryEvents",
        columns: "Timestamp:dt ActionType! Application! QueryType QueryTarget Query Protocol \
            AccountName AccountDomain AccountUpn AccountSid AccountObjectId AccountDisplayName \
            DeviceName IPAddress Port:int DestinationDeviceName DestinationIPAddress \
            DestinationPort:int TargetDeviceName TargetAccountUpn TargetAccountDisplayName \
            Location ReportId! AdditionalFields:dyn",
        actions: &["LDAP query", "DNS query", "SAMR query"],
    },
    TableSchema {
        name: "IdentityDirectoryEvents",
        columns: "Timestamp:dt ActionType! Application! TargetAccountUpn \
            TargetAccountDisplayName TargetDeviceName DestinationDeviceName \
            DestinationIPAddress DestinationPort:int Protocol AccountName AccountDomain \
            AccountUpn AccountSid AccountObjectId AccountDisplayName DeviceName IPAddress \
            Port:int Location ISP ReportId! AdditionalFields:dyn",
        actions: &[
            "Account Password changed",
            "Account disabled",
            "Account enabled",
            "Group Membership changed",
            "Account Name changed",
            "Directory Services replication",
        ],
    },
    TableSchema {
        name: "CloudAppEvents",
        columns: "Timestamp:dt ActionType! ActivityType Application! ApplicationId:int \
            AppInstanceId:int AccountObjectId AccountId AccountDisplayName AccountType \
            IsAdminOperation:bool IsExternalUser:bool IsImpersonated:bool \
            IsAnonymousProxy:bool DeviceType OSPlatform IPAddress CountryCode City Isp \
            UserAgent IPCategory IPTags:dyn UserAgentTags:dyn ActivityObjects:dyn ObjectName \
            ObjectType ObjectId ReportId! RawEventData:dyn AdditionalFields:dyn \
            SessionData:dyn LastSeenForUser:dyn UncommonForUser:dyn AuditSource OAuthAppId",
        actions: &[
            "FileDownloaded",
            "FileAccessed",
            "MailItemsAccessed",
            "New-InboxRule",
            "Add user.",
            "Update user.",
        ],
    },
    TableSchema {
        name: "BehaviorInfo",
        columns: "Timestamp:dt BehaviorId! ActionType! Title! Description Categories:jtext \
            AttackTechniques:jtext ServiceSource! DetectionSource DataSources:jtext DeviceId \
            AccountUpn AccountObjectId StartTime:dt EndTime:dt AdditionalFields:jtext",
        actions: &[
            "ImpossibleTravelActivity",
            "MultipleFailedLoginAttempts",
            "MassDownload",
            "UnusualAdditionOfCredentialsToAnOauthApp",
        ],
    },
    TableSchema {
        name: "BehaviorEntities",
        columns: "Timestamp:dt BehaviorId! ActionType! Categories:jtext ServiceSource! \
            DetectionSource DataSources:jtext EntityType! EntityRole! DetailedEntityRole \
            FileName FolderPath SHA1 SHA256 FileSize:long ThreatFamily RemoteIP RemoteUrl \
            AccountName AccountDomain AccountSid AccountObjectId AccountUpn DeviceId \
            DeviceName LocalIP NetworkMessageId EmailSubject EmailClusterId Application \
            ApplicationId:int OAuthApplicationId ProcessCommandLine RegistryKey \
            RegistryValueName RegistryValueData AdditionalFields:jtext",
        actions: &[
            "ImpossibleTravelActivity",
            "MultipleFailedLoginAttempts",
            "MassDownload",
        ],
    },
    TableSchema {
        name: "IdentityInfo",
        columns: "Timestamp:dt ReportId! AccountObjectId! AccountUpn! OnPremSid CloudSid \
            OnPremObjectId AccountName AccountDomain AccountDisplayName DistinguishedName Type \
            GivenName Surname Department JobTitle EmailAddress SipProxyAddress Address City \
            Country Phone Manager CriticalityLevel:int IsAccountEnabled:bool \
            CreatedDateTime:dt ChangeSource RiskLevel RiskLevelDetails RiskStatus Tags:dyn \
            AssignedRoles:dyn PrivilegedEntraPimRoles:dyn SourceProviders:dyn TenantId \
            SourceSystem TenantMembershipType UserAccountControl IdentityEnvironment",
        actions: &[],
    },
    TableSchema {
        name: "MessageEvents",
        columns: "Timestamp:dt LastEditedTime TeamsMessageId! MessageId ParentMessageId \
            SenderEmailAddress! SenderDisplayName SenderObjectId SenderType \
            RecipientDetails:dyn IsOwnedThread:bool IsExternalThread:bool GroupId GroupName \
            ThreadId ThreadSubtype MessageFormatType MessageFormatSubtype MessageVersion \
            MessageSubject ThreatTypes DetectionMethods:dyn ConfidenceLevel:dyn \
            DeliveryAction! DeliveryLocation ReportId! SafetyTip",
        actions: &[],
    },
    TableSchema {
        name: "MessagePostDeliveryEvents",
        columns: "Timestamp:dt TeamsMessageId! Action! ActionType! ActionTrigger ActionResult \
            SenderEmailAddress RecipientDetails:dyn ThreatTypes ConfidenceLevel:dyn \
            DetectionMethods LatestDeliveryLocation ReportId! IsExternalThread:bool SafetyTip",
        actions: &["Manual remediation", "Phish ZAP", "Malware ZAP"],
    },
    TableSchema {
        name: "MessageUrlInfo",
        columns: "Timestamp:dt TeamsMessageId! Url! UrlDomain! ThreatTypes ReportId!",
        actions: &[],
    },
    TableSchema {
        name: "CloudAuditEvents",
        columns: "Timestamp:dt ReportId! DataSource! ActionType! OperationName! ResourceId \
            IPAddress IsAnonymousProxy:bool CountryCode City Isp UserAgent RawEventData:dyn \
            AdditionalFields:dyn",
        actions: &["Unknown", "Create", "Read", "Update", "Delete", "Other"],
    },
    TableSchema {
        name: "CloudProcessEvents",
        columns: "Timestamp:dt AzureResourceId AwsResourceName GcpFullResourceName \
            ContainerImageName ContainerName ContainerId! KubernetesNamespace \
            KubernetesPodName KubernetesResource ActionType! FileName! FolderPath \
            ProcessId:long! ProcessName ProcessCommandLine ProcessCurrentWorkingDirectory \
            ProcessCreationTime:dt ParentProcessName ParentProcessId InitiatingProcessId \
            AccountName LogonId:long AdditionalFields:jtext",
        actions: &["ProcessCreated"],
    },
    TableSchema {
        name: "CloudStorageAggregatedEvents",
        columns: "Timestamp:dt DataAggregationStartTime:dt DataAggregationEndTime:dt \
            FirstEventTimestamp:dt LastEventTimestamp:dt ReportId! ActionType! DataSource \
            SubscriptionId ResourceGroup StorageAccount! StorageContainer StorageFileShare \
            AzureResourceId Location ServiceType IpAddress UserAgentHeader CountryName \
            CityName ProvinceName ClientSystemServiceName ClientCloudPlatformName \
            IsTorExitNode:bool IsKnownSuspiciousIp:bool IsPrivateIp:bool \
            HasAnonymousResourceNotFoundFailures:bool SuspiciousUserAgentName \
            AuthenticationType AccountObjectId AccountApplicationId AccountUpn \
            AccountTenantId:long AccountType:long OperationsCount:int \
            SuccessfulOperationsCount:int FailedOperationsCount:int \
            SuccessfulReadOperations:int DistinctGetOperations:int \
            AnonymousSuccessfulOperations:int TotalResponseLength:int \
            OperationNamesList:dyn HashReputationMd5List:dyn AdditionalFields:dyn",
        actions: &["StorageAccessAggregated"],
    },
];

/// The schema of a table, by name.
pub fn table(name: &str) -> Option<&'static TableSchema> {
    TABLES.iter().find(|table| table.name == name)
}

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
    for table in TABLES {
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
        assert_eq!(TABLES.len(), 30, "21 GA tables and 9 more");
        let records = corpus(|_| vec!["ExtraAction".into()], 4, 7);
        for table in TABLES {
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
