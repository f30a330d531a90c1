//! `voxpin check`: validates the configuration, the dialplans and the prompts
//! without starting anything. Every problem is printed as
//! `file:line: key: reason`; the exit status is 0 only when all is well.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::collections::BTreeMap;

use voxpin_ivr::{DialplanSet, PromptSet};
use voxpin_media::{Language, PromptLibrary};

use crate::config::{Config, Trunk};

/// The prompts every language must have (`prompts/<language>/<name>.wav`):
/// the names the dialplans may use, which the media crate's library ships.
pub const REQUIRED_PROMPTS: [&str; 19] = voxpin_ivr::STANDARD_PROMPTS;

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file at fault.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong (with key and line where known).
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.reason),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

/// Reads every `*.toml` file of `dir` as `(path label, text)`, sorted by name.
pub fn read_dialplan_files(dir: &Path) -> Result<Vec<(String, String)>, Vec<Problem>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![Problem {
            file: dir.to_owned(),
            line: None,
            reason: format!("dialplans.dir: cannot read the directory: {e}"),
        }]
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    let mut problems = Vec::new();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((path.display().to_string(), text)),
            Err(e) => problems.push(Problem {
                file: path,
                line: None,
                reason: format!("cannot read: {e}"),
            }),
        }
    }
    if files.is_empty() && problems.is_empty() {
        problems.push(Problem {
            file: dir.to_owned(),
            line: None,
            reason: "dialplans.dir: no *.toml dialplan in the directory".into(),
        });
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

/// The prompt names found in `dir/<language>/` (file stems of `*.wav`), or
/// the standard set when the directory cannot be read.
pub fn prompt_set(dir: &Path, language: &str) -> PromptSet {
    let Ok(entries) = std::fs::read_dir(dir.join(language)) else {
        return PromptSet::standard();
    };
    let names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    PromptSet::new(names)
}

/// Loads and validates every dialplan of `dir` (prompts and gotos resolved,
/// names and numbers unique), and checks each names a configured trunk.
pub fn check_dialplans(
    dir: &Path,
    prompts: PromptSet,
    trunks: &BTreeMap<String, Trunk>,
) -> Result<DialplanSet, Vec<Problem>> {
    let files = read_dialplan_files(dir)?;
    let set = DialplanSet::load(files, prompts).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| Problem {
                file: PathBuf::from(&e.file),
                line: e.line,
                reason: if e.key.is_empty() {
                    e.reason.to_string()
                } else {
                    format!("{}: {}", e.key, e.reason)
                },
            })
            .collect::<Vec<_>>()
    })?;
    let problems: Vec<Problem> = set
        .iter()
        .filter_map(|plan| {
            let trunk = plan.trunk()?;
            (!trunks.contains_key(trunk)).then(|| Problem {
                file: PathBuf::from(plan.file()),
                line: None,
                reason: format!(
                    "trunk: no trunk named `{trunk}` in the configuration (trunks: {})",
                    trunks.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            })
        })
        .collect();
    if problems.is_empty() {
        Ok(set)
    } else {
        Err(problems)
    }
}

/// Loads every prompt under `dir` as the engine will (decoding each WAV) and
/// checks that each of `languages` has every required prompt.
pub fn check_prompts(dir: &Path, languages: &[String]) -> Result<usize, Vec<Problem>> {
    let library = PromptLibrary::load_dir(dir).map_err(|e| {
        vec![Problem {
            file: dir.to_owned(),
            line: None,
            reason: e.to_string(),
        }]
    })?;
    let mut problems = Vec::new();
    let mut count = 0;
    for language in languages {
        let Ok(lang) = Language::new(language) else {
            problems.push(Problem {
                file: dir.to_owned(),
                line: None,
                reason: format!("`{language}` is not a valid language name"),
            });
            continue;
        };
        for name in REQUIRED_PROMPTS {
            if library.contains(&lang, name) {
                count += 1;
            } else {
                problems.push(Problem {
                    file: dir.join(language).join(format!("{name}.wav")),
                    line: None,
                    reason: format!("prompt `{name}` is missing for language `{language}`"),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(count)
    } else {
        Err(problems)
    }
}

/// The languages to check: the default and every dialplan's.
pub fn languages(default: &str, dialplans: Option<&DialplanSet>) -> Vec<String> {
    let mut all = vec![default.to_owned()];
    for plan in dialplans.into_iter().flat_map(DialplanSet::iter) {
        if !all.iter().any(|l| l == plan.language()) {
            all.push(plan.language().to_owned());
        }
    }
    all
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
    let prompts = prompt_set(&config.prompts_dir, &config.default_language);
    let dialplans = match check_dialplans(&config.dialplans_dir, prompts, &config.trunks) {
        Ok(set) => {
            println!(
                "{}: ok ({} dialplan(s))",
                config.dialplans_dir.display(),
                set.len()
            );
            Some(set)
        }
        Err(problems) => {
            failed = true;
            problems.iter().for_each(|p| eprintln!("error: {p}"));
            None
        }
    };
    let languages = languages(&config.default_language, dialplans.as_ref());
    match check_prompts(&config.prompts_dir, &languages) {
        Ok(n) => println!(
            "{}: ok ({n} prompt(s) in {})",
            config.prompts_dir.display(),
            languages.join(", ")
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

    #[test]
    fn the_dialplans_and_the_prompt_library_agree_on_the_standard_prompts() {
        // voxpin-ivr and voxpin-media are independent crates; this binary,
        // which joins them, holds them to the same list.
        assert_eq!(
            voxpin_ivr::STANDARD_PROMPTS,
            voxpin_media::prompt::STANDARD_PROMPTS
        );
    }

    /// A 16-bit mono 8 kHz PCM WAV of `samples` silent samples.
    fn wav(samples: u32) -> Vec<u8> {
        let data = samples * 2;
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(36 + data).to_le_bytes());
        v.extend_from_slice(b"WAVEfmt \x10\0\0\0\x01\0\x01\0");
        v.extend_from_slice(&8000u32.to_le_bytes());
        v.extend_from_slice(&16000u32.to_le_bytes());
        v.extend_from_slice(&[2, 0, 16, 0]);
        v.extend_from_slice(b"data");
        v.extend_from_slice(&data.to_le_bytes());
        v.resize(v.len() + data as usize, 0);
        v
    }

    #[test]
    fn dialplan_problems_name_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let good = "name = \"login\"\nmode = \"read\"\ntrunk = \"default\"\n";
        std::fs::write(dir.path().join("login.toml"), good).unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            "name = \"bad\"\nmode = \"shout\"\n",
        )
        .unwrap();
        let mut trunks = BTreeMap::new();
        let problems = check_dialplans(dir.path(), PromptSet::standard(), &trunks).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.file.ends_with("bad.toml") && p.reason.contains("mode")),
            "{problems:?}"
        );
        std::fs::remove_file(dir.path().join("bad.toml")).unwrap();
        let problems = check_dialplans(dir.path(), PromptSet::standard(), &trunks).unwrap_err();
        assert!(
            problems[0].reason.contains("no trunk named `default`"),
            "{problems:?}"
        );
        let config = Config::parse(
            "t.toml",
            "[trunks.default]\nhost = \"127.0.0.1\"\n",
            &crate::config::MapEnvironment::default(),
        )
        .unwrap();
        trunks = config.trunks;
        assert_eq!(
            check_dialplans(dir.path(), PromptSet::standard(), &trunks)
                .unwrap()
                .len(),
            1
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(check_dialplans(empty.path(), PromptSet::standard(), &trunks).is_err());
    }

    #[test]
    fn the_shipped_dialplans_and_prompts_pass() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let config = Config::load(&root.join("config/voxpin.toml")).unwrap();
        let prompts = root.join("prompts");
        let set = check_dialplans(
            &root.join("dialplans"),
            prompt_set(&prompts, "en"),
            &config.trunks,
        )
        .unwrap();
        assert!(set.len() >= 2);
        let languages = languages("en", Some(&set));
        assert_eq!(languages, ["en"]);
        assert_eq!(
            check_prompts(&prompts, &languages),
            Ok(REQUIRED_PROMPTS.len())
        );
    }

    #[test]
    fn missing_prompts_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        std::fs::write(dir.path().join("en/0.wav"), wav(800)).unwrap();
        let problems = check_prompts(dir.path(), &["en".to_owned()]).unwrap_err();
        assert_eq!(problems.len(), 18, "{problems:?}");
        assert!(problems[0]
            .to_string()
            .contains("is missing for language `en`"));
        // a broken WAV fails the load with its file
        std::fs::write(dir.path().join("en/1.wav"), b"RIFF....WAVE").unwrap();
        let problems = check_prompts(dir.path(), &["en".to_owned()]).unwrap_err();
        assert!(problems[0].reason.contains("1.wav"), "{problems:?}");
    }
}
