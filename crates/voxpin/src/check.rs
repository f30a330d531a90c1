//! `voxpin check`: validates the configuration, the dialplans and the prompts
//! without starting anything. Every problem is printed as
//! `file:line: key: reason`; the exit status is 0 only when all is well.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::Config;

/// The prompts every language must have (`prompts/<language>/<name>.wav`).
pub const REQUIRED_PROMPTS: [&str; 19] = [
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "your-code-is",
    "i-repeat",
    "press-1-to-repeat",
    "press-any-key",
    "enter-your-code",
    "verified",
    "incorrect",
    "invalid-request",
    "goodbye",
];

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file at fault.
    pub file: PathBuf,
    /// What is wrong (with key and line where known).
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.reason)
    }
}

/// Checks the dialplans directory: it exists and every `*.toml` file in it is a valid dialplan.
pub fn check_dialplans(dir: &Path) -> Result<usize, Vec<Problem>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            return Err(vec![Problem {
                file: dir.to_owned(),
                reason: format!("dialplans.dir: cannot read the directory: {e}"),
            }])
        }
    };
    let mut problems = Vec::new();
    let mut count = 0;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for file in files {
        count += 1;
        // Structural check; the full dialplan validation (prompts and gotos
        // resolved) hooks in here once the IVR crate exposes it.
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                if let Err(e) = text.parse::<toml::Table>() {
                    problems.push(Problem {
                        file: file.clone(),
                        reason: e.message().to_owned(),
                    });
                }
            }
            Err(e) => problems.push(Problem {
                file: file.clone(),
                reason: format!("cannot read: {e}"),
            }),
        }
    }
    if count == 0 {
        problems.push(Problem {
            file: dir.to_owned(),
            reason: "dialplans.dir: no *.toml dialplan in the directory".into(),
        });
    }
    if problems.is_empty() {
        Ok(count)
    } else {
        Err(problems)
    }
}

/// Checks `dir/<language>/` holds every required prompt as 8 kHz mono 16-bit PCM WAV.
pub fn check_prompts(dir: &Path, language: &str) -> Result<usize, Vec<Problem>> {
    let base = dir.join(language);
    let mut problems = Vec::new();
    for name in REQUIRED_PROMPTS {
        let file = base.join(format!("{name}.wav"));
        match std::fs::read(&file) {
            Ok(bytes) => {
                if let Err(reason) = wav_format(&bytes) {
                    problems.push(Problem { file, reason });
                }
            }
            Err(e) => problems.push(Problem {
                file,
                reason: format!("prompt `{name}` missing or unreadable: {e}"),
            }),
        }
    }
    if problems.is_empty() {
        Ok(REQUIRED_PROMPTS.len())
    } else {
        Err(problems)
    }
}

/// Checks a WAV header: PCM, 1 channel, 8000 Hz, 16 bits.
pub fn wav_format(bytes: &[u8]) -> Result<(), String> {
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err("not a RIFF/WAVE file".into());
    }
    let mut at = 12;
    while let Some(header) = bytes.get(at..at + 8) {
        let id = header.get(0..4).unwrap_or_default();
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if id == b"fmt " {
            let fmt = bytes.get(at + 8..at + 24).ok_or("truncated fmt chunk")?;
            let format = u16::from_le_bytes([fmt[0], fmt[1]]);
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
            let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
            if (format, channels, rate, bits) != (1, 1, 8000, 16) {
                return Err(format!(
                    "must be PCM mono 8000 Hz 16-bit (found format {format}, {channels} channel(s), {rate} Hz, {bits}-bit)"
                ));
            }
            return Ok(());
        }
        at = at.saturating_add(8).saturating_add(size + (size & 1));
    }
    Err("no fmt chunk".into())
}

/// Runs `voxpin check` and prints the findings.
pub fn main(config_path: &Path) -> ExitCode {
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{}: ok ({} trunk(s), {} API key(s))",
        config_path.display(),
        config.trunks.len(),
        config.api.keys.len()
    );
    if config.api.keys.is_empty() {
        println!("warning: no API key configured; every API request will get 401");
    }
    let mut failed = false;
    match check_dialplans(&config.dialplans_dir) {
        Ok(n) => println!("{}: ok ({n} dialplan(s))", config.dialplans_dir.display()),
        Err(problems) => {
            failed = true;
            problems.iter().for_each(|p| eprintln!("error: {p}"));
        }
    }
    match check_prompts(&config.prompts_dir, &config.default_language) {
        Ok(n) => println!(
            "{}: ok ({n} prompt(s) in `{}`)",
            config.prompts_dir.display(),
            config.default_language
        ),
        Err(problems) => {
            failed = true;
            problems.iter().for_each(|p| eprintln!("error: {p}"));
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(format: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF\0\0\0\0WAVE");
        v.extend_from_slice(b"LIST\x02\0\0\0ab");
        v.extend_from_slice(b"fmt \x10\0\0\0");
        v.extend_from_slice(&format.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * 2).to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v
    }

    #[test]
    fn wav_headers() {
        assert_eq!(wav_format(&wav(1, 1, 8000, 16)), Ok(()));
        assert!(wav_format(&wav(1, 2, 8000, 16))
            .unwrap_err()
            .contains("2 channel"));
        assert!(wav_format(&wav(7, 1, 8000, 8)).is_err());
        assert!(wav_format(b"RIFF").is_err());
        assert!(wav_format(&wav(1, 1, 8000, 16)[..30]).is_err());
    }

    #[test]
    fn dialplan_dir_problems_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("good.toml"), "a = 1\n").unwrap();
        std::fs::write(dir.path().join("bad.toml"), "a = \n").unwrap();
        let problems = check_dialplans(dir.path()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].file.ends_with("bad.toml"));
        let empty = tempfile::tempdir().unwrap();
        assert!(check_dialplans(empty.path()).is_err());
    }

    #[test]
    fn missing_prompts_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        std::fs::write(dir.path().join("en/0.wav"), wav(1, 1, 8000, 16)).unwrap();
        let problems = check_prompts(dir.path(), "en").unwrap_err();
        assert_eq!(problems.len(), 18);
    }
}
