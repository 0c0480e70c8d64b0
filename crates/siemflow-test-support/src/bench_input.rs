//! The input of the throughput benchmarks: Defender streaming records padded to exactly 1 KiB a
//! line, so that events per second and bytes per second convert exactly.

use std::path::Path;

/// Bytes per line, the newline included.
pub const LINE_BYTES: usize = 1024;

/// Writes `events` lines of [`LINE_BYTES`]: DeviceProcessEvents records at even positions and
/// DeviceNetworkEvents ones at odd positions (a filter on the first keeps half), each with a
/// distinct `ReportId` and a PowerShell command line padding it to size.
pub fn write_defender_lines(path: &Path, events: usize) -> std::io::Result<()> {
    let mut data = Vec::with_capacity(events * LINE_BYTES);
    for n in 0..events {
        let category = if n % 2 == 0 {
            "AdvancedHunting-DeviceProcessEvents"
        } else {
            "AdvancedHunting-DeviceNetworkEvents"
        };
        let head = format!(
            "{{\"time\":\"2026-11-24T09:05:11.2Z\",\"tenantId\":\"9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d\",\"operationName\":\"Publish\",\"category\":\"{category}\",\"properties\":{{\"Timestamp\":\"2026-11-24T09:03:58.1234567Z\",\"DeviceId\":\"7c1f0e2d3b4a59687f6e5d4c3b2a1908f7e6d5c4\",\"DeviceName\":\"ws-paie-07.fabrikam.example\",\"ActionType\":\"ProcessCreated\",\"ReportId\":{n},\"FileSize\":5368709120,\"ProcessCommandLine\":\""
        );
        let tail = "\"},\"Tenant\":\"DefaultTenant\"}\n";
        let pad = LINE_BYTES - head.len() - tail.len();
        data.extend_from_slice(head.as_bytes());
        data.extend((0..pad).map(|i| b"powershell.exe -NoP -EncodedCommand SQBFAFgA "[i % 44]));
        data.extend_from_slice(tail.as_bytes());
    }
    std::fs::write(path, data)
}
