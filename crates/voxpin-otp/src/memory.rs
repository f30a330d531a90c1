//! [`MemoryStore`]: the default [`OtpStore`], one process, `dashmap` inside.
//!
//! Locks, always taken in this order so no two operations can deadlock:
//! an application's mutex (sends, per-number index) → the creation-order
//! index → one `otps` shard. Operations on a single OTP (verify, status,
//! events) take only that OTP's shard lock, which makes each of them atomic:
//! a verification reads and bumps the attempt counter under one lock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use dashmap::DashMap;

use crate::code::{Code, CodeHash, CodeHasher, SecretKey};
use crate::ids::{Application, OtpId, PhoneNumber};
use crate::limits::{LimitScope, SendLog};
use crate::record::{
    mask_prompt, CancelReason, EventKind, Mode, Otp, OtpView, SessionEvent, Status, VerifySource,
};
use crate::store::{
    BackendError, CancelError, CodeSource, CreateError, Cursor, Granularity, ListError, ListFilter,
    NewOtp, OtpStore, Page, PageRequest, RecordError, StatusError, UsageFilter, UsageRow,
    VerifyError, VerifyOutcome,
};
use crate::timefmt::{to_utc, unix_nanos};
use crate::usage::{period_of, Tally};

/// Settings of a [`MemoryStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    /// How long a record is kept after its OTP expires, for the API and for
    /// usage (default 24 h). Usage of forgotten records is kept per day.
    /// Send-rate windows longer than this are cut to it.
    pub retention: Duration,
    /// Events kept per session record (default 256); store-made events
    /// (verify results, expiry, cancel) are always kept.
    pub max_events: usize,
    /// Records held at most (default 1,000,000); creation beyond is refused
    /// with [`CreateError::StoreFull`] until a sweep forgets old records.
    pub max_records: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            retention: Duration::from_secs(24 * 60 * 60),
            max_events: 256,
            max_records: 1_000_000,
        }
    }
}

/// The in-memory OTP store.
pub struct MemoryStore {
    hasher: CodeHasher,
    config: MemoryConfig,
    otps: DashMap<OtpId, Slot>,
    apps: DashMap<Application, Arc<AppState>>,
    /// (created, id) of every OTP kept, for listing newest first.
    order: Mutex<BTreeSet<(u128, OtpId)>>,
    /// Usage of records already forgotten, per application and UTC day.
    archive: Mutex<BTreeMap<(Application, time::Date), Tally>>,
}

/// The name the architecture document uses.
pub type InMemoryStore = MemoryStore;

/// Per application: calls in progress, and under one mutex its send logs
/// and the OTPs of each number.
#[derive(Default)]
struct AppState {
    in_call: AtomicU32,
    inner: Mutex<AppInner>,
}

#[derive(Default)]
struct AppInner {
    sends: SendLog,
    numbers: HashMap<PhoneNumber, NumberState>,
}

#[derive(Default)]
struct NumberState {
    sends: SendLog,
    /// OTPs kept for this number, oldest first.
    otps: Vec<OtpId>,
}

/// One OTP with its secrets.
struct Slot {
    otp: Otp,
    hash: CodeHash,
    /// The plaintext, only while delivery may still need it.
    plaintext: Option<Code>,
    sms_pending: bool,
    verify_interval: Duration,
    next_verify_at: Option<SystemTime>,
    in_call: bool,
    app: Arc<AppState>,
}

impl MemoryStore {
    /// An empty store hashing codes under `key` (see [`SecretKey::generate`]).
    pub fn new(key: SecretKey) -> MemoryStore {
        Self::with_config(key, MemoryConfig::default())
    }

    /// An empty store with explicit settings.
    pub fn with_config(key: SecretKey, config: MemoryConfig) -> MemoryStore {
        MemoryStore {
            hasher: CodeHasher::new(key),
            config,
            otps: DashMap::new(),
            apps: DashMap::new(),
            order: Mutex::new(BTreeSet::new()),
            archive: Mutex::new(BTreeMap::new()),
        }
    }

    /// How many records the store holds.
    pub fn len(&self) -> usize {
        self.otps.len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.otps.is_empty()
    }

    /// Calls of `application` in progress, as counted for its limit.
    pub fn calls_in_progress(&self, application: &Application) -> u32 {
        self.apps
            .get(application)
            .map(|app| app.in_call.load(Ordering::Acquire))
            .unwrap_or(0)
    }

    fn app(&self, application: &Application) -> Arc<AppState> {
        self.apps.entry(application.clone()).or_default().clone()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.otps.len())
            .field("applications", &self.apps.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Slot {
    fn set_in_call(&mut self, value: bool) {
        if self.in_call != value {
            self.in_call = value;
            if value {
                self.app.in_call.fetch_add(1, Ordering::AcqRel);
            } else {
                self.app.in_call.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    fn push_store_event(&mut self, at: SystemTime, kind: EventKind) {
        self.otp.events.push(SessionEvent { at, kind });
    }

    /// Moves to a final status: wipes the plaintext, ends the call count.
    fn finish(&mut self, status: Status) {
        self.otp.status = status;
        self.plaintext = None;
        self.set_in_call(false);
    }

    /// Marks the OTP expired if it is live and past its expiry at `now`.
    fn expire_if_due(&mut self, now: SystemTime) -> bool {
        if self.otp.status.is_final() || now < self.otp.expires_at {
            return false;
        }
        self.finish(Status::Expired);
        self.push_store_event(
            self.otp.expires_at.max(self.otp.created_at),
            EventKind::Expired,
        );
        true
    }
}

impl OtpStore for MemoryStore {
    fn create(&self, now: SystemTime, new: NewOtp) -> Result<OtpView, CreateError> {
        let policy = &new.policy;
        if policy.ttl.is_zero() || policy.ttl > crate::limits::Policy::MAX_TTL {
            return Err(CreateError::BadTtl);
        }
        if policy.max_attempts == 0 {
            return Err(CreateError::NoAttempts);
        }
        let expires_at = now.checked_add(policy.ttl).ok_or(CreateError::BadTtl)?;
        let limits = &new.limits;
        let app = self.app(&new.application);
        let mut inner = lock(&app.inner);

        // Check every limit before changing anything.
        if self.otps.len() >= self.config.max_records {
            return Err(CreateError::StoreFull {
                capacity: self.config.max_records,
            });
        }
        if let Some(max) = limits.max_concurrent_calls {
            if app.in_call.load(Ordering::Acquire) >= max {
                return Err(CreateError::TooManyCalls { limit: max });
            }
        }
        let AppInner { sends, numbers } = &mut *inner;
        let number = numbers.entry(new.to.clone()).or_default();
        if let Some(limit) = &limits.per_number {
            if let Some(retry_after) = number.sends.wait(limit, now) {
                return Err(CreateError::RateLimited {
                    scope: LimitScope::PhoneNumber,
                    retry_after,
                });
            }
        }
        if let Some(limit) = &limits.per_application {
            if let Some(retry_after) = sends.wait(limit, now) {
                return Err(CreateError::RateLimited {
                    scope: LimitScope::Application,
                    retry_after,
                });
            }
        }
        let code = match new.code {
            CodeSource::Generate(length) => Code::generate(length)?,
            CodeSource::Manual(code) => code,
        };

        // Commit.
        let keep = |l: &Option<crate::limits::RateLimit>| l.map(|l| l.count).unwrap_or(0);
        number.sends.record(now, keep(&limits.per_number));
        sends.record(now, keep(&limits.per_application));
        let id = OtpId::random();
        let mut replaced = Vec::new();
        if limits.replace_previous {
            for previous in &number.otps {
                if let Some(mut slot) = self.otps.get_mut(previous) {
                    if slot.expire_if_due(now) || slot.otp.status.is_final() {
                        continue;
                    }
                    slot.finish(Status::Canceled);
                    slot.push_store_event(
                        now,
                        EventKind::Canceled {
                            reason: CancelReason::Replaced { by: id },
                        },
                    );
                    replaced.push(*previous);
                }
            }
        }
        number.otps.push(id);

        let hash = self
            .hasher
            .hash(id.as_uuid().as_bytes(), code.expose().as_bytes());
        let keeps_plaintext = new.mode == Mode::Read || new.sms_after_call;
        let otp = Otp {
            id,
            application: new.application,
            to: new.to,
            mode: new.mode,
            status: Status::Queued,
            created_at: now,
            expires_at,
            attempts_used: 0,
            attempts_limit: policy.max_attempts,
            repeats_limit: policy.repeats,
            times_played: 0,
            language: new.language,
            attributes: new.attributes,
            status_callback: new.status_callback,
            sms_after_call: new.sms_after_call,
            reusable: policy.reusable,
            events: Vec::new(),
            events_dropped: 0,
        };
        let mut view = otp.view();
        view.replaced = replaced;
        let mut slot = Slot {
            otp,
            hash,
            plaintext: keeps_plaintext.then_some(code),
            sms_pending: new.sms_after_call,
            verify_interval: policy.verify_interval,
            next_verify_at: None,
            in_call: false,
            app: Arc::clone(&app),
        };
        slot.set_in_call(true);
        self.otps.insert(id, slot);
        lock(&self.order).insert((unix_nanos(now), id));
        Ok(view)
    }

    fn get(&self, id: &OtpId) -> Result<Option<Otp>, BackendError> {
        Ok(self.otps.get(id).map(|slot| slot.otp.clone()))
    }

    fn find_live(
        &self,
        application: &Application,
        to: &PhoneNumber,
        now: SystemTime,
    ) -> Result<Option<Otp>, BackendError> {
        let Some(app) = self.apps.get(application).map(|a| Arc::clone(&a)) else {
            return Ok(None);
        };
        let ids = match lock(&app.inner).numbers.get(to) {
            Some(number) => number.otps.clone(),
            None => return Ok(None),
        };
        Ok(ids.iter().rev().find_map(|id| {
            let slot = self.otps.get(id)?;
            slot.otp.is_live(now).then(|| slot.otp.clone())
        }))
    }

    fn list(&self, filter: &ListFilter, page: &PageRequest) -> Result<Page, ListError> {
        let limit = page.effective_limit();
        let upper = match (&page.cursor, filter.until) {
            (Some(cursor), _) => std::ops::Bound::Excluded((cursor.created_nanos, cursor.id)),
            (None, Some(until)) => {
                std::ops::Bound::Excluded((unix_nanos(until), OtpId::from_uuid(uuid::Uuid::nil())))
            }
            (None, None) => std::ops::Bound::Unbounded,
        };
        let until_nanos = filter.until.map(unix_nanos);
        let since_nanos = filter.since.map(unix_nanos).unwrap_or(0);
        let order = lock(&self.order);
        let mut items = Vec::with_capacity(limit);
        let mut next_cursor = None;
        for &(nanos, id) in order.range((std::ops::Bound::Unbounded, upper)).rev() {
            if nanos < since_nanos {
                break;
            }
            if until_nanos.is_some_and(|until| nanos >= until) {
                continue;
            }
            let Some(slot) = self.otps.get(&id) else {
                continue;
            };
            let otp = &slot.otp;
            let matches = filter
                .application
                .as_ref()
                .is_none_or(|a| *a == otp.application)
                && filter.to.as_ref().is_none_or(|t| *t == otp.to)
                && filter.status.is_none_or(|s| s == otp.status);
            if !matches {
                continue;
            }
            if items.len() == limit {
                next_cursor = items.last().map(|last: &Otp| Cursor {
                    created_nanos: unix_nanos(last.created_at),
                    id: last.id,
                });
                break;
            }
            items.push(otp.clone());
        }
        Ok(Page { items, next_cursor })
    }

    fn set_status(&self, id: &OtpId, now: SystemTime, status: Status) -> Result<(), StatusError> {
        if matches!(
            status,
            Status::Verified | Status::Expired | Status::Canceled
        ) {
            return Err(StatusError::NotSettable { status });
        }
        let mut slot = self.otps.get_mut(id).ok_or(StatusError::NotFound)?;
        slot.expire_if_due(now);
        if slot.otp.status.is_final() {
            return Err(StatusError::Final {
                status: slot.otp.status,
            });
        }
        match status {
            Status::Failed => slot.finish(Status::Failed),
            Status::Queued | Status::Calling | Status::Ringing | Status::Answered => {
                slot.otp.status = status;
                slot.set_in_call(true);
            }
            Status::NoAnswer | Status::Busy | Status::Rejected | Status::Error => {
                slot.otp.status = status;
                slot.set_in_call(false);
            }
            _ => slot.otp.status = status,
        }
        Ok(())
    }

    fn record_event(
        &self,
        id: &OtpId,
        now: SystemTime,
        kind: EventKind,
    ) -> Result<(), RecordError> {
        let mut slot = self.otps.get_mut(id).ok_or(RecordError::NotFound)?;
        let kind = match kind {
            EventKind::PromptPlayed { prompt } => EventKind::PromptPlayed {
                prompt: mask_prompt(&prompt),
            },
            EventKind::CodePlayed { count } => {
                slot.otp.times_played = slot.otp.times_played.saturating_add(1);
                EventKind::CodePlayed { count }
            }
            EventKind::Sms { result } => {
                slot.sms_pending = false;
                if slot.otp.mode == Mode::Input {
                    slot.plaintext = None;
                }
                EventKind::Sms { result }
            }
            EventKind::Callback => {
                if !slot.otp.status.is_final() {
                    slot.set_in_call(true);
                }
                EventKind::Callback
            }
            hangup @ EventKind::Hangup { .. } => {
                slot.set_in_call(false);
                hangup
            }
            other => other,
        };
        if slot.otp.events.len() < self.config.max_events {
            slot.otp.events.push(SessionEvent { at: now, kind });
        } else {
            slot.otp.events_dropped = slot.otp.events_dropped.saturating_add(1);
        }
        Ok(())
    }

    fn code_for_delivery(&self, id: &OtpId, now: SystemTime) -> Result<Option<Code>, BackendError> {
        let Some(mut slot) = self.otps.get_mut(id) else {
            return Ok(None);
        };
        slot.expire_if_due(now);
        if slot.otp.status.is_final() {
            return Ok(None);
        }
        if slot.otp.mode == Mode::Input && !slot.sms_pending {
            slot.plaintext = None;
        }
        Ok(slot.plaintext.clone())
    }

    fn verify(
        &self,
        id: &OtpId,
        candidate: &str,
        now: SystemTime,
        source: VerifySource,
    ) -> Result<VerifyOutcome, VerifyError> {
        let mut slot = self.otps.get_mut(id).ok_or(VerifyError::NotFound)?;
        slot.expire_if_due(now);
        let status = slot.otp.status;
        if now >= slot.otp.expires_at {
            // Also ends a reusable OTP, which stays `verified`.
            return Err(VerifyError::Closed {
                status: Status::Expired,
            });
        }
        let reverifiable = status == Status::Verified && slot.otp.reusable;
        if (status.is_final() && !reverifiable) || slot.otp.attempts_remaining() == 0 {
            return Err(VerifyError::Closed { status });
        }
        if source == VerifySource::Api && !slot.verify_interval.is_zero() {
            if let Some(next) = slot.next_verify_at {
                if let Ok(wait) = next.duration_since(now) {
                    // A wait longer than the interval means the clock went
                    // backwards: let the attempt through.
                    if !wait.is_zero() && wait <= slot.verify_interval {
                        return Err(VerifyError::RateLimited { retry_after: wait });
                    }
                }
            }
        }
        slot.otp.attempts_used = slot.otp.attempts_used.saturating_add(1);
        slot.next_verify_at = now.checked_add(slot.verify_interval);
        let valid = self
            .hasher
            .matches(id.as_uuid().as_bytes(), candidate.as_bytes(), &slot.hash);
        if valid {
            if !reverifiable {
                slot.finish(Status::Verified);
            }
        } else if slot.otp.attempts_remaining() == 0 && !reverifiable {
            slot.finish(Status::Failed);
        }
        slot.push_store_event(now, EventKind::VerifyResult { valid, source });
        Ok(VerifyOutcome {
            valid,
            status: slot.otp.status,
            attempts_remaining: slot.otp.attempts_remaining(),
        })
    }

    fn cancel(&self, id: &OtpId, now: SystemTime) -> Result<Otp, CancelError> {
        let mut slot = self.otps.get_mut(id).ok_or(CancelError::NotFound)?;
        slot.expire_if_due(now);
        if slot.otp.status.is_final() {
            return Err(CancelError::Final {
                status: slot.otp.status,
            });
        }
        slot.finish(Status::Canceled);
        slot.push_store_event(
            now,
            EventKind::Canceled {
                reason: CancelReason::Api,
            },
        );
        Ok(slot.otp.clone())
    }

    fn purge_expired(&self, now: SystemTime) -> Result<usize, BackendError> {
        let mut expired = 0;
        let mut forgotten: Vec<(Arc<AppState>, Otp)> = Vec::new();
        let retention = self.config.retention;
        self.otps.retain(|_, slot| {
            if slot.expire_if_due(now) {
                expired += 1;
            }
            let forget_at = slot.otp.expires_at.checked_add(retention);
            if forget_at.is_some_and(|at| now >= at) {
                slot.set_in_call(false);
                forgotten.push((Arc::clone(&slot.app), slot.otp.clone()));
                false
            } else {
                true
            }
        });
        for (app, otp) in &forgotten {
            let mut inner = lock(&app.inner);
            if let Some(number) = inner.numbers.get_mut(&otp.to) {
                number.otps.retain(|id| *id != otp.id);
            }
        }
        // Forget send logs older than the retention, and numbers with nothing left.
        let apps: Vec<Arc<AppState>> = self.apps.iter().map(|a| Arc::clone(&a)).collect();
        for app in apps {
            let mut inner = lock(&app.inner);
            inner.sends.forget(retention, now);
            inner.numbers.retain(|_, number| {
                number.sends.forget(retention, now);
                !(number.otps.is_empty() && number.sends.is_empty())
            });
        }
        if !forgotten.is_empty() {
            let mut order = lock(&self.order);
            for (_, otp) in &forgotten {
                order.remove(&(unix_nanos(otp.created_at), otp.id));
            }
            drop(order);
            let mut archive = lock(&self.archive);
            for (_, otp) in &forgotten {
                if let Some(day) = to_utc(otp.created_at).map(|t| t.date()) {
                    archive
                        .entry((otp.application.clone(), day))
                        .or_default()
                        .add(otp.status, otp.to.country_code(), 1);
                }
            }
        }
        Ok(expired)
    }

    fn usage(
        &self,
        granularity: Granularity,
        filter: &UsageFilter,
    ) -> Result<Vec<UsageRow>, BackendError> {
        let mut rows: BTreeMap<(String, Application), Tally> = BTreeMap::new();
        let in_range = |at: SystemTime| {
            filter.since.is_none_or(|since| at >= since)
                && filter.until.is_none_or(|until| at < until)
        };
        for slot in self.otps.iter() {
            let otp = &slot.otp;
            if filter
                .application
                .as_ref()
                .is_some_and(|a| *a != otp.application)
                || !in_range(otp.created_at)
            {
                continue;
            }
            let Some(day) = to_utc(otp.created_at).map(|t| t.date()) else {
                continue;
            };
            rows.entry((period_of(day, granularity), otp.application.clone()))
                .or_default()
                .add(otp.status, otp.to.country_code(), 1);
        }
        let since_day = filter.since.and_then(to_utc).map(|t| t.date());
        // `until` is exclusive; a day is in range if any of it is.
        let until_day = filter
            .until
            .and_then(|u| u.checked_sub(Duration::from_nanos(1)))
            .and_then(to_utc)
            .map(|t| t.date());
        for ((application, day), tally) in lock(&self.archive).iter() {
            if filter
                .application
                .as_ref()
                .is_some_and(|a| a != application)
                || since_day.is_some_and(|s| *day < s)
                || until_day.is_some_and(|u| *day > u)
            {
                continue;
            }
            rows.entry((period_of(*day, granularity), application.clone()))
                .or_default()
                .merge(tally);
        }
        Ok(rows
            .into_iter()
            .map(|((period, application), tally)| tally.into_row(period, application))
            .collect())
    }
}
