//! The streaming API's tables as Microsoft documents them in 2026 (`shared/reference/defender-apis.md`
//! sections 5 and 9): every column with its type, and the documented ActionType values.
//!
//! siemflow knows a column when the schema lists it: a column it does not know (one Microsoft
//! added since) is still carried in each format's catch-all, and reported as drift
//! ([`crate::drift`]). The test corpus of every table and ActionType is generated from it.

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
    /// The column names, without allocating.
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> {
        let columns: &'static str = self.columns;
        columns.split_whitespace().flat_map(|token| {
            let tokens: Box<dyn Iterator<Item = &'static str>> = if token == "@init" {
                Box::new(INITIATING_PROCESS.split_whitespace())
            } else {
                Box::new(std::iter::once(token))
            };
            tokens.map(|token| {
                let token = token.trim_end_matches('!');
                token.split_once(':').map_or(token, |(name, _)| name)
            })
        })
    }

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
pub const SCHEMAS: &[TableSchema] = &[
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

/// The documented schema of a streaming table, by name.
pub fn schema(name: &str) -> Option<&'static TableSchema> {
    SCHEMAS.iter().find(|table| table.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::streaming::TABLES;

    #[test]
    fn every_mapped_table_has_a_schema_and_every_column_read_is_documented_somewhere() {
        // Field groups are shared between tables, so a group may name a column one of its
        // tables lacks; a column no table documents is a typo.
        let documented: Vec<&str> = SCHEMAS.iter().flat_map(|s| s.column_names()).collect();
        let mut undocumented = Vec::new();
        for table in TABLES {
            assert!(schema(table.name).is_some(), "{} has no schema", table.name);
            for field in table.all_fields() {
                for source in field.sources {
                    let column = source.split('.').next().unwrap_or(source);
                    let envelope = ["tenantId", "TenantId", "aadTenantId"].contains(&column);
                    if !envelope && !documented.contains(&column) {
                        undocumented.push(format!("{}.{column}", table.name));
                    }
                }
            }
        }
        assert!(undocumented.is_empty(), "{undocumented:?}");
    }

    #[test]
    fn column_names_match_the_typed_columns() {
        for schema in SCHEMAS {
            let typed: Vec<String> = schema.columns().into_iter().map(|c| c.0).collect();
            let names: Vec<&str> = schema.column_names().collect();
            assert_eq!(typed, names, "{}", schema.name);
        }
    }
}
