//! The loaded dialplans: lookup by application name and by number, and reload.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::dialplan::Dialplan;
use crate::error::{DialplanError, Reason};
use crate::names::{PhoneNumber, PromptSet};

/// Every loaded dialplan, by application name and by number.
///
/// Immutable: a reload builds a new set ([`DialplanSet::reload`]); the engine
/// swaps it in for new calls while running calls keep their `Arc<Dialplan>`.
#[derive(Debug, Clone)]
pub struct DialplanSet {
    prompts: PromptSet,
    by_name: BTreeMap<String, Arc<Dialplan>>,
    by_number: BTreeMap<PhoneNumber, Arc<Dialplan>>,
}

impl DialplanSet {
    /// An empty set that checks prompts against `prompts`.
    pub fn empty(prompts: PromptSet) -> DialplanSet {
        DialplanSet {
            prompts,
            by_name: BTreeMap::new(),
            by_number: BTreeMap::new(),
        }
    }

    /// Loads every `(file label, text)` pair. All good: the set. Any bad: every
    /// error of every file (names and numbers must also be unique).
    pub fn load<I, L, T>(files: I, prompts: PromptSet) -> Result<DialplanSet, Vec<DialplanError>>
    where
        I: IntoIterator<Item = (L, T)>,
        L: AsRef<str>,
        T: AsRef<str>,
    {
        DialplanSet::empty(prompts).build(files, None)
    }

    /// A new set from `files`, checked against the same prompts. All good: the new
    /// set (unchanged dialplans keep their `Arc`). Any bad: the errors, and the
    /// caller keeps serving `self`.
    pub fn reload<I, L, T>(&self, files: I) -> Result<DialplanSet, Vec<DialplanError>>
    where
        I: IntoIterator<Item = (L, T)>,
        L: AsRef<str>,
        T: AsRef<str>,
    {
        DialplanSet::empty(self.prompts.clone()).build(files, Some(self))
    }

    fn build<I, L, T>(
        mut self,
        files: I,
        previous: Option<&DialplanSet>,
    ) -> Result<DialplanSet, Vec<DialplanError>>
    where
        I: IntoIterator<Item = (L, T)>,
        L: AsRef<str>,
        T: AsRef<str>,
    {
        let mut errors = Vec::new();
        for (file, text) in files {
            let (file, text) = (file.as_ref(), text.as_ref());
            let plan = match Dialplan::from_toml(file, text, &self.prompts) {
                Ok(plan) => plan,
                Err(mut e) => {
                    errors.append(&mut e);
                    continue;
                }
            };
            let duplicate = |key: &str, reason: Reason| DialplanError {
                file: file.to_owned(),
                line: None,
                key: key.to_owned(),
                reason,
            };
            if let Some(other) = self.by_name.get(plan.name()) {
                let reason = Reason::DuplicateName {
                    name: plan.name().to_owned(),
                    other_file: other.file().to_owned(),
                };
                errors.push(duplicate("name", reason));
                continue;
            }
            if let Some(other) = plan.number().and_then(|n| self.by_number.get(n)) {
                let number = plan.number().map(|n| n.to_string()).unwrap_or_default();
                let reason = Reason::DuplicateNumber {
                    number,
                    other_file: other.file().to_owned(),
                };
                errors.push(duplicate("number", reason));
                continue;
            }
            let plan = match previous.and_then(|p| p.by_name(plan.name())) {
                Some(old) if **old == plan => Arc::clone(old),
                _ => Arc::new(plan),
            };
            if let Some(number) = plan.number() {
                self.by_number.insert(number.clone(), Arc::clone(&plan));
            }
            self.by_name.insert(plan.name().to_owned(), plan);
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    /// The application called `name` (enabled or not).
    pub fn by_name(&self, name: &str) -> Option<&Arc<Dialplan>> {
        self.by_name.get(name)
    }

    /// The application whose `number` is `number` (E.164 text), for callbacks.
    pub fn by_number(&self, number: &str) -> Option<&Arc<Dialplan>> {
        let number = PhoneNumber::parse(number)?;
        self.by_number.get(&number)
    }

    /// Every dialplan, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Dialplan>> {
        self.by_name.values()
    }

    /// How many dialplans the set holds.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether the set holds none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The prompts dialplans are checked against.
    pub fn prompts(&self) -> &PromptSet {
        &self.prompts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_set_finds_nothing() {
        let set = DialplanSet::empty(PromptSet::standard());
        assert!(set.is_empty());
        assert_eq!(set.len(), 0);
        assert!(set.by_name("login").is_none());
        assert!(set.by_number("+15550100100").is_none());
        assert!(set.prompts().contains("goodbye"));
    }

    #[test]
    fn reload_checks_against_the_same_prompts() {
        let set = DialplanSet::empty(PromptSet::new(["goodbye"]));
        let text = "name = \"x\"\nmode = \"read\"\n[flow]\nstart = \"a\"\n[flow.states.a]\nsteps = [{ play = \"your-code-is\" }, \"hangup\"]\n";
        let errors = set.reload([("x.toml", text)]).expect_err("unknown prompt");
        assert!(
            matches!(errors[0].reason, Reason::UnknownPrompt { .. }),
            "{:?}",
            errors[0]
        );
    }
}
