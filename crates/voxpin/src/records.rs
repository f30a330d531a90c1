//! Call records: one JSON line per call, appended to `[records] path`.
//!
//! The record itself is the engine's [`CallRecord`]: the fields follow what
//! ops know from Asterisk CDRs (`disposition`: `ANSWERED`, `NO ANSWER`,
//! `BUSY`, `FAILED`, `CONGESTION`; `duration` from start and `billsec` from
//! answer) and FreeSWITCH (`hangup_cause` as a Q.850 name, `q850` its
//! number). A record never holds the code. This module only appends them.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use voxpin_engine::CallRecord;

/// Appends call records to a JSON-lines file.
#[derive(Debug)]
pub struct RecordWriter {
    path: PathBuf,
    file: Mutex<File>,
}

impl RecordWriter {
    /// Opens `path` for appending, creating it and its parent directory.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line (a single `write` call, so lines never interleave).
    pub fn write(&self, record: &CallRecord) -> std::io::Result<()> {
        let mut line = record.to_json_line().into_bytes();
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("record writer lock poisoned"))?;
        file.write_all(&line)?;
        file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};
    use voxpin_engine::record::{seconds, wall_to_datetime};
    use voxpin_engine::{Direction, Disposition, HungUpBy};

    fn record(uuid: uuid::Uuid, direction: Direction) -> CallRecord {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_323_045);
        CallRecord {
            uuid,
            sip_call_id: Some("abc@host".into()),
            direction,
            trunk: Some("carrier".into()),
            application: Some("login".into()),
            caller: "+14155550000".into(),
            callee: "+14155550100".into(),
            start: wall_to_datetime(start),
            answer: Some(wall_to_datetime(start + Duration::from_secs(4))),
            end: wall_to_datetime(start + Duration::from_millis(19_500)),
            duration: seconds(Duration::from_millis(19_500)),
            billsec: seconds(Duration::from_millis(15_500)),
            disposition: Disposition::Answered,
            hangup_cause: "NORMAL_CLEARING".into(),
            q850: 16,
            sip_status: Some(200),
            hungup_by: Some(HungUpBy::Remote),
            codec: Some("PCMU".into()),
            otp_id: Some("otp_1".into()),
            result: "delivered".into(),
            attempts: 0,
            repeats: 1,
            sms_result: None,
        }
    }

    #[test]
    fn answered_call_line_has_every_field() {
        let line = record(uuid::Uuid::nil(), Direction::Outbound).to_json_line();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["duration"], 19.5);
        assert_eq!(v["billsec"], 15.5);
        assert_eq!(v["disposition"], "ANSWERED");
        assert_eq!(v["hangup_cause"], "NORMAL_CLEARING");
        assert_eq!(v["q850"], 16);
        assert_eq!(v["hangup_by"], "remote");
        assert_eq!(v["start"], "2026-01-02T03:04:05Z");
        for key in [
            "uuid",
            "call_id",
            "direction",
            "trunk",
            "application",
            "caller",
            "callee",
            "answer",
            "end",
            "sip_status",
            "codec",
            "otp_id",
            "result",
            "attempts",
            "repeats",
            "sms",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn writer_appends_one_line_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/calls.jsonl");
        let w = RecordWriter::open(&path).unwrap();
        w.write(&record(uuid::Uuid::nil(), Direction::Inbound))
            .unwrap();
        w.write(&record(uuid::Uuid::max(), Direction::Outbound))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }
}
