//! Loading `prompts/<language>/*.wav` from a folder: the crate's only file IO.
//!
//! Everything else in the crate works on bytes; the binary calls
//! [`PromptLibrary::load_dir`] once at start-up.

use std::fs;
use std::path::Path;

use super::{PromptError, PromptLibrary};

impl PromptLibrary {
    /// Loads every `<root>/<language>/<name>.wav`. Files with another extension
    /// are skipped; a bad WAV fails the whole load with the file and the reason.
    pub fn load_dir(root: &Path) -> Result<PromptLibrary, PromptError> {
        let io_error = |path: &Path| {
            let path = path.display().to_string();
            move |source| PromptError::Io { path, source }
        };
        let mut builder = PromptLibrary::builder();
        let mut languages: Vec<_> = fs::read_dir(root)
            .map_err(io_error(root))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io_error(root))?
            .into_iter()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        languages.sort();
        for dir in languages {
            let Some(language) = dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let mut files: Vec<_> = fs::read_dir(&dir)
                .map_err(io_error(&dir))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(io_error(&dir))?
                .into_iter()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav")))
                .collect();
            files.sort();
            for file in files {
                let name = file.file_stem().and_then(|n| n.to_str()).unwrap_or("");
                let bytes = fs::read(&file).map_err(io_error(&file))?;
                builder.add_wav(language, name, &bytes)?;
            }
        }
        Ok(builder.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::Language;

    #[test]
    fn shipped_english_pack_is_complete_and_small() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
        let lib = PromptLibrary::load_dir(&root).unwrap();
        let en = Language::new("en").unwrap();
        lib.check_standard(&en).unwrap();
        assert_eq!(lib.names(&en).count(), 19);
        // Every prompt short enough to be a prompt, long enough to be speech.
        for name in lib.names(&en) {
            let d = lib.prompt(&en, name).unwrap().duration();
            assert!(d.as_millis() >= 200 && d.as_secs() < 5, "{name}: {d:?}");
        }
    }

    #[test]
    fn bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("fr")).unwrap();
        fs::write(dir.path().join("fr/zero.wav"), b"not a wav").unwrap();
        fs::write(dir.path().join("fr/readme.txt"), b"skipped").unwrap();
        let e = PromptLibrary::load_dir(dir.path()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("prompt fr/zero.wav: not a readable"),
            "{e}"
        );
        let e = PromptLibrary::load_dir(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(e, PromptError::Io { .. }));
    }
}
