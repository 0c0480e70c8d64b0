//! Segment files: numbered, append-only files of checksummed records.
//!
//! A record is `[length: u32 LE][crc32: u32 LE][payload]`, the CRC-32 covering the payload. A
//! crash can leave the last record of the newest segment half written; [`scan`] finds where the
//! valid records end so that the buffer cuts the torn tail off when it opens.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

/// Bytes in front of every payload.
pub(crate) const HEADER_BYTES: u64 = 8;

const EXTENSION: &str = "wal";

/// The file of segment `id`.
pub(crate) fn path(directory: &Path, id: u64) -> PathBuf {
    directory.join(format!("{id:020}.{EXTENSION}"))
}

/// Ids of the segment files in `directory`, oldest first.
pub(crate) fn list(directory: &Path) -> io::Result<Vec<u64>> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(directory)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(id) = name
            .strip_suffix(EXTENSION)
            .and_then(|stem| stem.strip_suffix('.'))
            .and_then(|stem| stem.parse::<u64>().ok())
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Appends one framed record to `out`; `None` when the payload is over 4 GiB.
pub(crate) fn frame(payload: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let length = u32::try_from(payload.len()).ok()?;
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    Some(())
}

/// What [`scan`] found from a starting offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Offset just after the last valid record.
    pub(crate) end: u64,
    /// Valid records from the starting offset to `end`.
    pub(crate) records: u64,
    /// The file's length; more than `end` when a record is torn or corrupt.
    pub(crate) length: u64,
}

/// Walks the records of a segment from `from`, stopping at the first torn or corrupt one.
pub(crate) fn scan(path: &Path, from: u64) -> io::Result<Scan> {
    let length = fs::metadata(path)?.len();
    let mut reader = SegmentReader::open(path, from)?;
    let mut records = 0;
    while let Ok(Some(_)) = reader.next_record(length) {
        records += 1;
    }
    Ok(Scan {
        end: reader.offset().min(length),
        records,
        length,
    })
}

/// Cuts a segment back to `length` and makes that durable.
pub(crate) fn truncate(path: &Path, length: u64) -> io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(length)?;
    file.sync_all()
}

/// The segment being appended to.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    id: u64,
    file: File,
    length: u64,
}

impl SegmentWriter {
    /// Creates segment `id` and makes its directory entry durable.
    pub(crate) fn create(directory: &Path, id: u64) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path(directory, id))?;
        File::open(directory)?.sync_all()?;
        Ok(Self {
            id,
            file,
            length: 0,
        })
    }

    /// The segment id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Bytes written and kept.
    pub(crate) fn length(&self) -> u64 {
        self.length
    }

    /// Appends framed records; on failure the segment is cut back to where it was, so a failed
    /// write never leaves half a record in front of the next one.
    pub(crate) fn append(&mut self, framed: &[u8]) -> io::Result<()> {
        match self.file.write_all(framed) {
            Ok(()) => {
                self.length += framed.len() as u64;
                Ok(())
            }
            Err(error) => {
                self.file.set_len(self.length)?;
                Err(error)
            }
        }
    }

    /// Makes everything appended so far durable (`fdatasync`).
    pub(crate) fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Why a record could not be read back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The bytes at `offset` are not a valid record.
    #[error("corrupt record at byte {offset}: {reason}")]
    Corrupt {
        /// Where the record starts.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Reads records of one segment in order.
#[derive(Debug)]
pub(crate) struct SegmentReader {
    reader: BufReader<File>,
    offset: u64,
}

impl SegmentReader {
    /// Opens a segment positioned at `offset` (a record boundary).
    pub(crate) fn open(path: &Path, offset: u64) -> io::Result<Self> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Self {
            reader: BufReader::with_capacity(256 << 10, file),
            offset,
        })
    }

    /// Where the next record starts.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record's payload, or `None` at `end` (the committed length).
    pub(crate) fn next_record(&mut self, end: u64) -> Result<Option<Bytes>, ReadError> {
        if self.offset >= end {
            return Ok(None);
        }
        let corrupt = |reason| ReadError::Corrupt {
            offset: self.offset,
            reason,
        };
        if end - self.offset < HEADER_BYTES {
            return Err(corrupt("a header cut short"));
        }
        let mut header = [0u8; HEADER_BYTES as usize];
        self.reader.read_exact(&mut header)?;
        let [l0, l1, l2, l3, c0, c1, c2, c3] = header;
        let length = u64::from(u32::from_le_bytes([l0, l1, l2, l3]));
        let checksum = u32::from_le_bytes([c0, c1, c2, c3]);
        if length > end - self.offset - HEADER_BYTES {
            return Err(corrupt("a length past the end of the segment"));
        }
        let mut payload = vec![0u8; length as usize];
        self.reader.read_exact(&mut payload)?;
        if crc32fast::hash(&payload) != checksum {
            return Err(corrupt("a checksum mismatch"));
        }
        self.offset += HEADER_BYTES + length;
        Ok(Some(Bytes::from(payload)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(directory: &Path, id: u64, payloads: &[&[u8]]) -> SegmentWriter {
        let mut writer = SegmentWriter::create(directory, id).unwrap();
        let mut framed = Vec::new();
        for payload in payloads {
            frame(payload, &mut framed).unwrap();
        }
        writer.append(&framed).unwrap();
        writer.sync().unwrap();
        writer
    }

    #[test]
    fn records_read_back_in_order_up_to_the_committed_end() {
        let directory = tempfile::tempdir().unwrap();
        let writer = write(directory.path(), 7, &[b"one", b"", b"three"]);
        assert_eq!(list(directory.path()).unwrap(), vec![7]);
        let mut reader = SegmentReader::open(&path(directory.path(), 7), 0).unwrap();
        let end = writer.length();
        assert_eq!(&reader.next_record(end).unwrap().unwrap()[..], b"one");
        assert_eq!(&reader.next_record(end).unwrap().unwrap()[..], b"");
        let second = reader.offset();
        assert_eq!(&reader.next_record(end).unwrap().unwrap()[..], b"three");
        assert!(reader.next_record(end).unwrap().is_none());
        let mut again = SegmentReader::open(&path(directory.path(), 7), second).unwrap();
        assert_eq!(&again.next_record(end).unwrap().unwrap()[..], b"three");
    }

    #[test]
    fn scan_stops_at_a_torn_tail_and_at_a_flipped_bit() {
        let directory = tempfile::tempdir().unwrap();
        write(directory.path(), 1, &[b"alpha", b"beta"]);
        let file = path(directory.path(), 1);
        let whole = fs::metadata(&file).unwrap().len();
        let mut torn = OpenOptions::new().append(true).open(&file).unwrap();
        torn.write_all(&[200, 0, 0, 0, 1, 2]).unwrap();
        let scan_torn = scan(&file, 0).unwrap();
        assert_eq!((scan_torn.end, scan_torn.records), (whole, 2));
        assert_eq!(scan_torn.length, whole + 6);
        truncate(&file, scan_torn.end).unwrap();
        assert_eq!(fs::metadata(&file).unwrap().len(), whole);

        let mut bytes = fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        fs::write(&file, &bytes).unwrap();
        let flipped = scan(&file, 0).unwrap();
        assert_eq!(flipped.records, 1);
        assert_eq!(flipped.end, HEADER_BYTES + 5);
        let mut reader = SegmentReader::open(&file, flipped.end).unwrap();
        let error = reader.next_record(whole).unwrap_err();
        assert!(error.to_string().contains("checksum"), "{error}");
    }
}
