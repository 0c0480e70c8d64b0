//! The built-in Defender mappings (`defender-cef`, `defender-leef`, `defender-splunk`,
//! `defender-ocsf`): their exact outputs for every sample record are checked in
//! (`tests/golden/`), and those outputs are checked by independent parsers: lognormalizer and
//! cefp for CEF, syslog-ng for LEEF, pydantic-ocsf for OCSF, a HEC server for Splunk.
//!
//! `SIEMFLOW_UPDATE_GOLDEN=1` rewrites the golden files from the plugins' current outputs.

mod cim;
mod corpus;
mod golden;
mod hec;
mod ocsf;
mod source;
mod text_formats;
