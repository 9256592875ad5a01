//! The trigger's flow over its two ports (storage, Huawei API):
//! validate → claim the idempotency key → take a rate-limit slot → callVerify (bounded retries) →
//! complete the key and store the call beside its future callbacks.

use std::time::Duration;

use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::time::Instant;
use tracing::Instrument;

use super::attempt::interpret;
use super::request::payload_hash;
use super::{CallRequest, CloseOutScheduler, Defaults, NoCloseOuts, TriggerError, TriggerStore, VoiceApi};
use crate::guard::{Geo, GuardPolicy, Refusal};
use crate::idempotency::{Claim, Completion};
use crate::ids::{IdempotencyKey, SessionId, VerificationCode, VerificationId};
use crate::rate_limit::{callee_key, RateLimits};
use crate::records::verification::{CodeSource, VerificationChange};
use crate::records::{call_record, CallDetails, CloseoutStage, Stamp};
use crate::storage::{retry, StoreError};
use crate::telemetry::metrics::{self, Dimensions, Metric};
use crate::verification_state::{code_hash, Changed, Verification};

/// At most this many callVerify attempts per invoke, and only for failures that placed no call.
const MAX_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Time kept for the writes after the call (completion, call record) and the answer.
const FINISH_MARGIN: Duration = Duration::from_millis(1500);
/// An attempt with less time than this is not started.
const MIN_ATTEMPT: Duration = Duration::from_millis(1000);
/// Deadline assumed when the runtime gives none (tests).
const DEFAULT_BUDGET: Duration = Duration::from_secs(15);

/// The invoke's success answer (docs/app-backend.md, "trigger-verification-call").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "trigger-verification-call answer", deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct TriggerAnswer {
    /// Huawei's id of the call placed: get-call-outcome's key, and the `sessionId` of its outcome events.
    pub session_id: SessionId,
    /// Always `requested`: how the call goes on is its outcome's.
    #[cfg_attr(feature = "schema", schemars(extend("const" = "requested")))]
    pub status: &'static str,
    /// The answer of an earlier invoke with the same idempotency key: no call was placed now.
    pub replayed: bool,
    /// The verification the call belongs to (the app's, or a generated one).
    pub verification_id: VerificationId,
}

impl TriggerAnswer {
    fn requested(session_id: SessionId, replayed: bool, verification_id: VerificationId) -> Self {
        Self { session_id, status: "requested", replayed, verification_id }
    }
}

/// The verifications' policy (docs/app-backend.md, "Verifications").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationPolicy {
    /// How long a verification's codes are accepted after its first send (`CODE_TTL_SECONDS`).
    pub code_ttl: Duration,
    /// Calls per verification (`MAX_SENDS`).
    pub max_sends: u32,
    /// Wrong codes before a verification ends (`MAX_CHECK_ATTEMPTS`), fixed at its first send.
    pub max_checks: u32,
}

impl Default for VerificationPolicy {
    fn default() -> Self {
        Self { code_ttl: Duration::from_secs(600), max_sends: 5, max_checks: 5 }
    }
}

/// The trigger's policy, from configuration.
pub struct TriggerSettings {
    pub defaults: Defaults,
    pub limits: RateLimits,
    pub record_ttl: Duration,
    /// `AWS_REGION`, stamped on the call record as `writtenRegion`.
    pub region: String,
    /// Bound of one callVerify attempt.
    pub api_timeout: Duration,
    /// Keys every hash the trigger stores: the callee's rate-limit key, the idempotency `payloadHash` and the
    /// codes' hashes (the app secret: never stored or logged).
    pub hash_key: SecretString,
    pub verifications: VerificationPolicy,
    /// The fraud guard's settings (docs/operations.md, "Fraud guard").
    pub guard: GuardPolicy,
}

/// When a placed call's close-out checks run, after the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseOutDelays {
    pub provisional: Duration,
    pub last: Duration,
}

pub struct TriggerService<S, A, C = NoCloseOuts> {
    store: S,
    api: A,
    settings: TriggerSettings,
    close_outs: C,
    close_out_delays: CloseOutDelays,
}

impl<S: TriggerStore, A: VoiceApi> TriggerService<S, A> {
    /// A trigger that schedules no close-out checks; see [`TriggerService::with_close_outs`].
    pub fn new(store: S, api: A, settings: TriggerSettings) -> Self {
        let close_out_delays = CloseOutDelays { provisional: Duration::ZERO, last: Duration::ZERO };
        Self { store, api, settings, close_outs: NoCloseOuts, close_out_delays }
    }

    /// Schedules both close-out checks of every call it places, `delays` after the request.
    pub fn with_close_outs<C: CloseOutScheduler>(
        self,
        scheduler: C,
        delays: CloseOutDelays,
    ) -> TriggerService<S, A, C> {
        let Self { store, api, settings, .. } = self;
        TriggerService { store, api, settings, close_outs: scheduler, close_out_delays: delays }
    }
}

impl<S: TriggerStore, A: VoiceApi, C: CloseOutScheduler> TriggerService<S, A, C> {
    pub fn store(&self) -> &S {
        &self.store
    }

    /// One invoke. `deadline` is the Lambda deadline, when known.
    pub async fn handle(&self, event: Value, deadline: Option<Instant>) -> Result<TriggerAnswer, TriggerError> {
        let request = CallRequest::from_event(event, &self.settings.defaults)
            .inspect_err(|e| tracing::warn!(errorType = e.error_type(), reason = %e, "invoke refused"))?;
        let deadline = deadline.unwrap_or_else(|| Instant::now() + DEFAULT_BUDGET);
        let span = tracing::info_span!(
            "trigger",
            callee = %request.callee_nbr,
            // A caller may use the number itself as its key.
            idempotencyKey = %request.idempotency_key.as_ref().map(ToString::to_string).unwrap_or_default()
        );
        async {
            let result = self.run(&request, deadline).await;
            match &result {
                Ok(answer) => {
                    tracing::info!(sessionId = %answer.session_id, replayed = answer.replayed, "call requested")
                }
                Err(e) => tracing::warn!(errorType = e.error_type(), reason = %e, "invoke failed"),
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn run(&self, request: &CallRequest, deadline: Instant) -> Result<TriggerAnswer, TriggerError> {
        // The country list first: a refusal writes nothing, not even the idempotency key.
        match self.settings.guard.geo(&request.callee_nbr) {
            Geo::Allowed => {}
            Geo::Monitored(refusal) => {
                metrics::count(Metric::GuardMonitored, Dimensions::result(refusal.reason.as_str()));
                tracing::warn!(reason = %refusal, "GEO_MODE=monitor: placed all the same");
            }
            Geo::Refused(refusal) => return Err(blocked(refusal)),
        }
        let verification = request.verification_id(self.settings.hash_key.expose_secret().as_bytes());
        let Some(key) = request.idempotency_key.as_ref() else {
            let session_id = self.place_call(request, &verification, deadline).await?;
            self.record_call(request, &session_id, &verification, deadline).await;
            self.schedule_close_outs(&session_id, deadline).await;
            return Ok(TriggerAnswer::requested(session_id, false, verification));
        };
        let now_ms = epoch_ms(OffsetDateTime::now_utc());
        let in_progress_until = now_ms + deadline.saturating_duration_since(Instant::now()).as_millis() as i64;
        let claim = self
            .store
            .claim_request(
                key,
                &payload_hash(self.settings.hash_key.expose_secret().as_bytes(), request),
                in_progress_until,
                now_ms,
                self.expires_at(),
            )
            .await
            .map_err(storage_unavailable)?;
        match claim {
            Claim::Claimed => {}
            Claim::Completed(Completion::Requested { session_id }) => {
                return Ok(TriggerAnswer::requested(session_id, true, verification))
            }
            Claim::Completed(Completion::OutcomeUnknown) => {
                return Err(TriggerError::ProviderOutcomeUnknown(
                    "an earlier invoke with this idempotencyKey may have placed the call; not calling again".into(),
                ))
            }
            Claim::InProgress => {
                return Err(TriggerError::IdempotencyConflict(
                    "an invoke with this idempotencyKey is in progress".into(),
                ))
            }
            Claim::DifferentPayload => {
                return Err(TriggerError::InvalidRequest(
                    "idempotencyKey was already used for a different request".into(),
                ))
            }
        }
        let placed = match self.place_call(request, &verification, deadline).await {
            Err(error) if error.nothing_placed() => {
                // Nothing rang: give the key back so the caller can retry with it.
                let released = retry::until_deadline(deadline, || self.store.release_request(key)).await;
                if let Err(e) = released {
                    tracing::error!(error = %e, "could not release the idempotency key; it frees itself at the deadline");
                }
                return Err(error);
            }
            placed => placed,
        };
        let completion = match &placed {
            Ok(session_id) => Completion::Requested { session_id: session_id.clone() },
            Err(_) => Completion::OutcomeUnknown,
        };
        // Completing the key first: it is what prevents a second call on retry.
        if let Err(e) = retry::until_deadline(deadline, || self.store.complete_request(key, &completion)).await {
            tracing::error!(error = %e, outcome = ?completion, "NOT STORED: idempotency completion; a retry after the deadline could call again");
        }
        let session_id = placed?;
        self.record_call(request, &session_id, &verification, deadline).await;
        self.schedule_close_outs(&session_id, deadline).await;
        Ok(TriggerAnswer::requested(session_id, false, verification))
    }

    /// Rate limit, the code's send (stored before anyone can hear it), then callVerify with bounded, jittered
    /// retries of failures that placed no call.
    async fn place_call(
        &self,
        request: &CallRequest,
        verification: &VerificationId,
        deadline: Instant,
    ) -> Result<SessionId, TriggerError> {
        let callee = callee_key(self.settings.hash_key.expose_secret().as_bytes(), request.callee_nbr.expose());
        let now = OffsetDateTime::now_utc().unix_timestamp();
        match self.store.take_rate_slot(&callee, &self.settings.limits, now).await.map_err(storage_unavailable)? {
            Ok(()) => {}
            Err(retry_after_secs) => return Err(TriggerError::RateLimited { retry_after_secs }),
        }
        let cut_off = deadline.checked_sub(FINISH_MARGIN + MIN_ATTEMPT).unwrap_or(deadline);
        let guard = &self.settings.guard;
        if let Some(refusal) =
            guard.admit(&self.store, &request.callee_nbr, now, cut_off).await.map_err(storage_unavailable)?
        {
            return Err(blocked(refusal));
        }
        let code = request.verify_code.clone().unwrap_or_else(|| VerificationCode::generate(request.code_length));
        let starts = self.send_code(request, verification, &code, now, cut_off).await?;
        let mut backoff = FIRST_BACKOFF;
        let mut last_error = TriggerError::ProviderUnavailable("no time left to call Huawei".into());
        for attempt in 1..=MAX_ATTEMPTS {
            let Some(time_left) =
                deadline.checked_duration_since(Instant::now()).and_then(|d| d.checked_sub(FINISH_MARGIN))
            else {
                return Err(last_error);
            };
            if time_left < MIN_ATTEMPT {
                return Err(last_error);
            }
            let failure = match interpret(
                &self.api.call_verify(request, &code, time_left.min(self.settings.api_timeout)).await,
            ) {
                Ok(session_id) => {
                    if starts {
                        // Conversion's denominator counts verifications whose first call was placed.
                        let country = request.callee_nbr.country_code().unwrap_or("unknown");
                        metrics::count(Metric::VerificationsStarted, Dimensions::country(country));
                    }
                    return Ok(session_id);
                }
                Err(failure) => failure,
            };
            if !failure.retry_now || attempt == MAX_ATTEMPTS {
                return Err(failure.error);
            }
            let pause = rand::rng().random_range(backoff / 2..=backoff);
            tracing::warn!(attempt, errorType = failure.error.error_type(), reason = %failure.error, retry_in_ms = pause.as_millis() as u64, "callVerify failed, retrying");
            last_error = failure.error;
            tokio::time::sleep(pause).await;
            backoff *= 2;
        }
        Err(last_error)
    }

    /// Adds the code to its verification (starting it on the first send): one conditional write, refused with
    /// `VerificationClosed` once the verification ended or had `MAX_SENDS` sends. Only the code's keyed hash is
    /// stored. Answers whether this send started the verification. Storage is retried until `cut_off`, which
    /// leaves callVerify its time.
    async fn send_code(
        &self,
        request: &CallRequest,
        id: &VerificationId,
        code: &VerificationCode,
        now: i64,
        cut_off: Instant,
    ) -> Result<bool, TriggerError> {
        let policy = self.settings.verifications;
        let source = if request.verify_code.is_some() { CodeSource::App } else { CodeSource::Generated };
        let change = VerificationChange::Send {
            id: id.clone(),
            hash: code_hash(self.settings.hash_key.expose_secret().as_bytes(), id, code),
            source,
            country_code: request.callee_nbr.country_code().unwrap_or_default().to_owned(),
            prefix: self.settings.guard.prefix(&request.callee_nbr),
            now,
            codes_expire_at: now + policy.code_ttl.as_secs() as i64,
            max_sends: policy.max_sends,
            max_checks: policy.max_checks,
            record_expires_at: self.expires_at(),
        };
        let changed =
            retry::until_deadline(cut_off, || self.store.change(&change)).await.map_err(storage_unavailable)?;
        let record = match changed.settled(&change) {
            Changed::Done(record) => record,
            Changed::Refused(Some(record)) if record.code_source != source => {
                return Err(TriggerError::InvalidRequest(format!(
                    "verificationId was started with {} codes: a resend must be the same",
                    if record.code_source == CodeSource::App { "the app's own (verifyCode)" } else { "generated" }
                )))
            }
            Changed::Refused(Some(record)) => {
                let verification = Verification::of(id, &record, Some(now));
                return Err(TriggerError::VerificationClosed(match verification.status.is_terminal() {
                    true => format!("the verification is {}: start a new one", verification.status.as_str()),
                    false => format!("the verification had its {} calls (MAX_SENDS)", record.sends),
                }));
            }
            Changed::Refused(None) => return Err(storage_unavailable(StoreError::rejected("no verification record"))),
        };
        let verification = Verification::of(id, &record, Some(now));
        if verification.status.is_terminal() {
            // The send was added to an ended verification, where it changes nothing.
            return Err(TriggerError::VerificationClosed(format!(
                "the verification is {}: start a new one",
                verification.status.as_str()
            )));
        }
        Ok(record.sends == 1)
    }

    /// The call under its sessionId, so its status events and CDR land beside it. Best effort: the call is
    /// placed whatever happens here.
    async fn record_call(
        &self,
        request: &CallRequest,
        session_id: &SessionId,
        verification: &VerificationId,
        deadline: Instant,
    ) {
        let callee_masked = request.callee_nbr.to_string();
        let raw = json!({"calleeNbr": callee_masked, "displayNbr": request.display_nbr,
            "languageType": request.language_type, "preTone": request.pre_tone, "posTone": request.pos_tone,
            "times": request.times, "userData": request.user_data})
        .to_string();
        let details = CallDetails {
            session_id,
            callee_masked: &callee_masked,
            display_nbr: &request.display_nbr,
            idempotency_key: request.idempotency_key.as_ref().map(IdempotencyKey::as_str),
            user_data: request.user_data.as_deref(),
            verification_id: Some(verification.as_str()),
            raw: &raw,
        };
        let stamp = Stamp::new(OffsetDateTime::now_utc(), self.settings.record_ttl, &self.settings.region);
        let record = call_record(&details, &stamp);
        if let Err(e) = retry::until_deadline(deadline, || self.store.put_new(&record)).await {
            tracing::error!(error = %e, sessionId = %session_id, "NOT STORED: call record (the call was placed)");
        }
    }

    /// Both close-out checks of a placed call, side by side, each cut off in time to answer before the
    /// invocation's `deadline`. Best effort: the call is ringing whatever happens here, so a failure is logged
    /// (`CLOSE-OUT NOT SCHEDULED`) and the answer stays a success.
    async fn schedule_close_outs(&self, session_id: &SessionId, deadline: Instant) {
        let requested_at = OffsetDateTime::now_utc();
        let cut_off = deadline.checked_sub(retry::ANSWER_MARGIN).unwrap_or(deadline);
        let delays = self.close_out_delays;
        let schedule = |stage: CloseoutStage, delay: Duration| async move {
            let scheduled =
                tokio::time::timeout_at(cut_off, self.close_outs.schedule(session_id, stage, requested_at + delay));
            let error = match scheduled.await {
                Ok(Ok(())) => return,
                Ok(Err(e)) => crate::telemetry::error_chain(&e),
                Err(_) => "no time left before the invocation's deadline".to_owned(),
            };
            tracing::error!(error = %error, sessionId = %session_id, stage = stage.as_str(), "CLOSE-OUT NOT SCHEDULED");
        };
        futures::join!(
            schedule(CloseoutStage::Provisional, delays.provisional),
            schedule(CloseoutStage::Final, delays.last)
        );
    }

    fn expires_at(&self) -> i64 {
        OffsetDateTime::now_utc().unix_timestamp() + self.settings.record_ttl.as_secs() as i64
    }
}

fn storage_unavailable(error: StoreError) -> TriggerError {
    TriggerError::ProviderUnavailable(format!("storage unavailable, nothing was sent: {error}"))
}

fn epoch_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A refusal of the fraud guard, counted (`GuardRefusals` by reason).
fn blocked(refusal: Refusal) -> TriggerError {
    metrics::count(Metric::GuardRefusals, Dimensions::result(refusal.reason.as_str()));
    TriggerError::Blocked(refusal.to_string())
}

/// The operator's command `{"liftBlock": "<digits>"}`: a number range's digits, country code included.
pub fn lift_block_prefix(event: &Value) -> Option<Result<String, TriggerError>> {
    let prefix = event.get("liftBlock")?;
    let valid = |text: &&str| (1..=15).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    Some(match prefix.as_str().filter(valid) {
        Some(prefix) if event.as_object().is_some_and(|fields| fields.len() == 1) => Ok(prefix.to_owned()),
        _ => Err(TriggerError::InvalidRequest(
            "liftBlock takes the blocked range's digits (country code included, no +) and nothing else".into(),
        )),
    })
}

impl<S: TriggerStore, A: VoiceApi, C: CloseOutScheduler> TriggerService<S, A, C> {
    /// Lifts the fraud guard's block of a number range (docs/operations.md, "Fraud guard"): `{"prefix", "lifted"}`.
    pub async fn lift_block(&self, prefix: &str) -> Result<Value, TriggerError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let lifted = self.store.lift(prefix, now).await.map_err(storage_unavailable)?;
        tracing::warn!(prefix, lifted, "block lifted by the operator");
        Ok(json!({"prefix": prefix, "lifted": lifted}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::MemoryStore;
    use crate::calls::attempt::Attempt;
    use crate::idempotency::IdempotencyStore;
    use crate::ids::key;
    use crate::records::verification::VerificationRecord;
    use crate::records::RecordKind;
    use crate::verification_state::VerificationStore;
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Plays scripted attempts, then succeeds; counts the requests "Huawei" received.
    #[derive(Default)]
    struct ScriptedApi {
        script: Mutex<VecDeque<Attempt>>,
        calls: AtomicUsize,
        /// The codes "Huawei" was asked to speak.
        spoken: Mutex<Vec<String>>,
    }

    impl VoiceApi for ScriptedApi {
        async fn call_verify(&self, _request: &CallRequest, code: &VerificationCode, _timeout: Duration) -> Attempt {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            self.spoken.lock().unwrap().push(code.expose().to_owned());
            self.script.lock().unwrap().pop_front().unwrap_or_else(|| Attempt::Answered {
                status: 200,
                body: format!(r#"{{"resultcode":"0","resultdesc":"Success","sessionId":"1201_{n}@callenabler245.huaweicaas.com"}}"#),
            })
        }
    }

    fn service(limits: RateLimits, script: Vec<Attempt>) -> TriggerService<MemoryStore, ScriptedApi> {
        let api = ScriptedApi { script: Mutex::new(script.into()), ..Default::default() };
        let defaults = Defaults {
            display_nbr: Some("+8675528000088".into()),
            pre_tone: Some("welcome.wav".into()),
            language_type: 2,
            allow_endless_playback: false,
            code_length: 6,
        };
        let settings = TriggerSettings {
            defaults,
            limits,
            record_ttl: Duration::from_secs(86_400),
            region: "us-east-1".into(),
            api_timeout: Duration::from_secs(5),
            hash_key: "secret".to_string().into(),
            verifications: VerificationPolicy { code_ttl: Duration::from_secs(600), max_sends: 2, max_checks: 5 },
            guard: GuardPolicy {
                prefix_limit: 0,
                allowed_countries: ["86", "44"].map(String::from).into(),
                ..Default::default()
            },
        };
        TriggerService::new(MemoryStore::default(), api, settings)
    }

    fn event(key: Option<&str>, code: &str) -> Value {
        let mut event = json!({"calleeNbr": "+8613800000001", "verifyCode": code});
        if let Some(key) = key {
            event["idempotencyKey"] = key.into();
        }
        event
    }

    fn calls<S>(service: &TriggerService<S, ScriptedApi>) -> usize {
        service.api.calls.load(Ordering::SeqCst)
    }

    fn huawei(status: u16, code: &str) -> Attempt {
        Attempt::Answered { status, body: format!(r#"{{"resultcode":"{code}","resultdesc":"x"}}"#) }
    }

    /// Records the checks it is asked to schedule; refuses them all when `down`.
    #[derive(Default)]
    struct RecordingScheduler {
        scheduled: Mutex<Vec<(String, CloseoutStage, OffsetDateTime)>>,
        down: bool,
    }

    impl CloseOutScheduler for &RecordingScheduler {
        async fn schedule(
            &self,
            session_id: &SessionId,
            stage: CloseoutStage,
            at: OffsetDateTime,
        ) -> Result<(), super::super::ScheduleError> {
            if self.down {
                return Err(super::super::ScheduleError("Scheduler is unreachable".into()));
            }
            self.scheduled.lock().unwrap().push((session_id.as_str().to_owned(), stage, at));
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_placed_call_gets_both_close_out_checks_and_a_replay_none() {
        let scheduler = RecordingScheduler::default();
        let delays = CloseOutDelays { provisional: Duration::from_secs(600), last: Duration::from_secs(25_200) };
        let s = service(RateLimits::new(0, 0), vec![]).with_close_outs(&scheduler, delays);
        let before = OffsetDateTime::now_utc();
        let answer = s.handle(event(Some("k-close"), "1234"), None).await.unwrap();
        s.handle(event(Some("k-close"), "1234"), None).await.unwrap();
        let scheduled = scheduler.scheduled.lock().unwrap().clone();
        let stages: Vec<_> = scheduled.iter().map(|(id, stage, _)| (id.as_str(), *stage)).collect();
        let id = answer.session_id.as_str();
        assert_eq!(stages, [(id, CloseoutStage::Provisional), (id, CloseoutStage::Final)], "once, not on the replay");
        let after = OffsetDateTime::now_utc();
        for ((_, _, at), delay) in scheduled.iter().zip([600, 25_200]) {
            let delay = time::Duration::seconds(delay);
            assert!(*at >= before + delay && *at <= after + delay, "{at} is {delay} after the request");
        }
    }

    /// Never answers.
    struct HangingScheduler;

    impl CloseOutScheduler for HangingScheduler {
        async fn schedule(
            &self,
            _: &SessionId,
            _: CloseoutStage,
            _: OffsetDateTime,
        ) -> Result<(), super::super::ScheduleError> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_scheduler_that_never_answers_does_not_hold_the_answer_past_the_deadline() {
        let delays = CloseOutDelays { provisional: Duration::from_secs(600), last: Duration::from_secs(25_200) };
        let s = service(RateLimits::new(0, 0), vec![]).with_close_outs(HangingScheduler, delays);
        let deadline = Instant::now() + Duration::from_secs(10);
        let answered = tokio::time::timeout_at(deadline, s.handle(event(None, "1234"), Some(deadline))).await;
        let answer = answered.expect("answered before the deadline").expect("a success");
        assert_eq!(answer.status, "requested");
        assert!(Instant::now() <= deadline - retry::ANSWER_MARGIN, "answered in time: {:?}", deadline - Instant::now());
    }

    #[tokio::test]
    async fn a_scheduler_failure_never_fails_the_call() {
        let scheduler = RecordingScheduler { down: true, ..Default::default() };
        let delays = CloseOutDelays { provisional: Duration::from_secs(600), last: Duration::from_secs(25_200) };
        let s = service(RateLimits::new(0, 0), vec![]).with_close_outs(&scheduler, delays);
        let answer = s.handle(event(None, "1234"), None).await.expect("the call is placed and answered");
        assert_eq!(answer.status, "requested");
    }

    #[tokio::test]
    async fn success_stores_the_call_and_a_retried_key_replays_without_calling() {
        let s = service(RateLimits::new(0, 0), vec![]);
        let first = s.handle(event(Some("k1"), "1234"), None).await.unwrap();
        assert!(!first.replayed && first.status == "requested");
        let again = s.handle(event(Some("k1"), "1234"), None).await.unwrap();
        assert_eq!((again.session_id.as_str(), again.replayed), (first.session_id.as_str(), true));
        assert_eq!(calls(&s), 1, "Huawei received one request");
        let records = s.store().records();
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].pk.as_str(), records[0].sk.as_str(), records[0].kind),
            (first.session_id.as_str(), "call", RecordKind::Call)
        );
        assert_eq!(records[0].fields["calleeMasked"], "+86138****0001");
        assert!(
            !records[0].raw.contains("8613800000001") && !records[0].raw.contains("1234"),
            "no full number, no code"
        );
    }

    #[tokio::test]
    async fn a_key_reused_for_another_payload_or_held_by_another_invoke_is_refused() {
        let s = service(RateLimits::new(0, 0), vec![]);
        s.handle(event(Some("k2"), "1234"), None).await.unwrap();
        let other = s.handle(event(Some("k2"), "9999"), None).await.unwrap_err();
        assert_eq!(other.error_type(), "InvalidRequest");
        let request = CallRequest::from_event(event(Some("k3"), "1234"), &s.settings.defaults).unwrap();
        let far = epoch_ms(OffsetDateTime::now_utc()) + 60_000;
        s.store().claim_request(&key("k3"), &payload_hash(b"secret", &request), far, 0, 0).await.unwrap();
        assert_eq!(s.handle(event(Some("k3"), "1234"), None).await.unwrap_err().error_type(), "IdempotencyConflict");
        assert_eq!(calls(&s), 1);
    }

    #[tokio::test]
    async fn the_second_call_to_a_number_within_a_minute_is_rate_limited() {
        let s = service(RateLimits::new(1, 5), vec![]);
        s.handle(event(None, "1234"), None).await.unwrap();
        match s.handle(event(Some("other-key"), "5678"), None).await.unwrap_err() {
            TriggerError::RateLimited { retry_after_secs } => assert!((1..=60).contains(&retry_after_secs)),
            other => panic!("{other:?}"),
        }
        assert_eq!(calls(&s), 1);
        // The refused key was released: it is not stuck in progress.
        assert_eq!(s.handle(event(Some("other-key"), "5678"), None).await.unwrap_err().error_type(), "RateLimited");
    }

    #[tokio::test]
    async fn transient_failures_are_retried_a_bounded_number_of_times() {
        let s = service(RateLimits::new(0, 0), vec![Attempt::NotSent("refused".into()), huawei(500, "1010001")]);
        assert!(s.handle(event(None, "1234"), None).await.is_ok());
        assert_eq!(calls(&s), 3);
        let always_down = service(
            RateLimits::new(0, 0),
            vec![huawei(500, "1010001"), huawei(500, "1010001"), huawei(500, "1010001"), huawei(500, "1010001")],
        );
        assert_eq!(
            always_down.handle(event(None, "1234"), None).await.unwrap_err().error_type(),
            "ProviderUnavailable"
        );
        assert_eq!(calls(&always_down), MAX_ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn an_unanswered_request_is_never_sent_again_even_on_replay() {
        let s = service(RateLimits::new(0, 0), vec![Attempt::NoAnswer("timed out".into())]);
        assert_eq!(s.handle(event(Some("k4"), "1234"), None).await.unwrap_err().error_type(), "ProviderOutcomeUnknown");
        assert_eq!(s.handle(event(Some("k4"), "1234"), None).await.unwrap_err().error_type(), "ProviderOutcomeUnknown");
        assert_eq!(calls(&s), 1);
    }

    #[tokio::test]
    async fn refusals_that_placed_no_call_free_the_key_and_are_not_retried() {
        let s = service(RateLimits::new(0, 0), vec![huawei(403, "1010002"), huawei(200, "1010010")]);
        assert_eq!(s.handle(event(Some("k5"), "1234"), None).await.unwrap_err().error_type(), "ProviderRejected");
        assert_eq!(calls(&s), 1, "a rejection is not retried");
        assert_eq!(s.handle(event(Some("k5"), "1234"), None).await.unwrap_err().error_type(), "ProviderThrottled");
        assert_eq!(calls(&s), 2, "the released key could be used again; flow control is not retried");
        assert!(!s.handle(event(Some("k5"), "1234"), None).await.unwrap().replayed);
    }

    #[tokio::test]
    async fn storage_down_means_nothing_is_sent() {
        let s = service(RateLimits::new(1, 5), vec![]);
        s.store().set_unavailable(true);
        assert_eq!(s.handle(event(Some("k6"), "1234"), None).await.unwrap_err().error_type(), "ProviderUnavailable");
        assert_eq!(s.handle(event(None, "1234"), None).await.unwrap_err().error_type(), "ProviderUnavailable");
        assert_eq!(calls(&s), 0);
    }

    #[tokio::test]
    async fn no_attempt_starts_without_time_to_finish() {
        let s = service(RateLimits::new(0, 0), vec![]);
        let almost_over = Instant::now() + Duration::from_millis(1200);
        assert_eq!(
            s.handle(event(None, "1234"), Some(almost_over)).await.unwrap_err().error_type(),
            "ProviderUnavailable"
        );
        assert_eq!(calls(&s), 0);
    }

    fn spoken(s: &TriggerService<MemoryStore, ScriptedApi>) -> Vec<String> {
        s.api.spoken.lock().unwrap().clone()
    }

    fn verification(s: &TriggerService<MemoryStore, ScriptedApi>, id: &VerificationId) -> VerificationRecord {
        s.store().verification(&format!("verification#{}", id.as_str())).expect("a verification record")
    }

    async fn check(s: &TriggerService<MemoryStore, ScriptedApi>, id: &VerificationId, code: &str) -> Verification {
        let code = VerificationCode::parse(code).unwrap();
        let change = VerificationChange::Check {
            id: id.clone(),
            hash: code_hash(b"secret", id, &code),
            request: rand::random::<u64>().to_string(),
            now: OffsetDateTime::now_utc().unix_timestamp(),
        };
        match s.store().change(&change).await.unwrap() {
            Changed::Done(record) | Changed::Refused(Some(record)) => Verification::of(id, &record, None),
            Changed::Refused(None) => panic!("no verification"),
        }
    }

    #[tokio::test]
    async fn without_a_code_one_is_generated_spoken_and_only_its_keyed_hash_is_stored() {
        let s = service(RateLimits::new(0, 0), vec![]);
        let answer = s.handle(json!({"calleeNbr": "+8613800000001"}), None).await.unwrap();
        let said = spoken(&s);
        assert_eq!(said.len(), 1);
        assert!(said[0].len() == 6 && said[0].bytes().all(|b| b.is_ascii_digit()), "six digits");
        let record = verification(&s, &answer.verification_id);
        assert_eq!((record.code_source, record.sends, record.country_code.as_str()), (CodeSource::Generated, 1, "86"));
        let stored = serde_json::to_string(&record).unwrap();
        assert!(!stored.contains(&said[0]), "the code itself is never stored");
        let hash = code_hash(b"secret", &answer.verification_id, &VerificationCode::parse(said[0].clone()).unwrap());
        assert!(stored.contains(&hash), "its keyed hash is");
        let call = &s.store().records()[0];
        assert_eq!(call.fields["verificationId"], answer.verification_id.as_str());
        assert!(!call.raw.contains(&said[0]));
        let eight = s.handle(json!({"calleeNbr": "+8613800000002", "codeLength": 8}), None).await.unwrap();
        assert_eq!(spoken(&s)[1].len(), 8);
        assert_ne!(eight.verification_id, answer.verification_id);
    }

    #[tokio::test]
    async fn a_resend_speaks_a_new_code_and_every_code_sent_stays_valid() {
        let s = service(RateLimits::new(0, 0), vec![]);
        let first =
            s.handle(json!({"calleeNbr": "+8613800000001", "verificationId": "signup-42"}), None).await.unwrap();
        let second =
            s.handle(json!({"calleeNbr": "+8613800000001", "verificationId": "signup-42"}), None).await.unwrap();
        assert_eq!((first.verification_id.as_str(), second.verification_id.as_str()), ("signup-42", "signup-42"));
        assert_ne!(first.session_id, second.session_id, "a second call");
        let record = verification(&s, &first.verification_id);
        assert_eq!((record.sends, record.steps.len()), (2, 2));
        let old_code = spoken(&s)[0].clone();
        assert_eq!(check(&s, &first.verification_id, "00").await.status.as_str(), "pending");
        assert_eq!(check(&s, &first.verification_id, &old_code).await.status.as_str(), "approved", "the first code");
    }

    #[tokio::test]
    async fn a_verification_takes_max_sends_calls_and_none_once_it_ended() {
        let s = service(RateLimits::new(0, 0), vec![]);
        let event = json!({"calleeNbr": "+8613800000001", "verificationId": "v-max"});
        s.handle(event.clone(), None).await.unwrap();
        s.handle(event.clone(), None).await.unwrap();
        let third = s.handle(event, None).await.unwrap_err();
        assert_eq!(third.error_type(), "VerificationClosed");
        assert!(third.to_string().contains("MAX_SENDS"), "{third}");
        assert_eq!(calls(&s), 2, "no third call");
        let approved =
            s.handle(json!({"calleeNbr": "+8613800000001", "verificationId": "v-done"}), None).await.unwrap();
        let code = spoken(&s)[2].clone();
        check(&s, &approved.verification_id, &code).await;
        let resend = s.handle(json!({"calleeNbr": "+8613800000001", "verificationId": "v-done"}), None).await;
        let error = resend.unwrap_err();
        assert_eq!(error.error_type(), "VerificationClosed");
        assert!(error.to_string().contains("approved"), "{error}");
        assert_eq!(calls(&s), 3, "an approved verification is never called again");
    }

    #[tokio::test]
    async fn a_resend_keeps_the_code_source_and_a_retried_key_answers_the_same_verification() {
        let s = service(RateLimits::new(0, 0), vec![]);
        s.handle(json!({"calleeNbr": "+8613800000001", "verificationId": "v-app", "verifyCode": "4829"}), None)
            .await
            .unwrap();
        let mixed = s.handle(json!({"calleeNbr": "+8613800000001", "verificationId": "v-app"}), None).await;
        assert_eq!(mixed.unwrap_err().error_type(), "InvalidRequest");
        assert_eq!(verification(&s, &crate::ids::vid("v-app")).code_source, CodeSource::App);
        let keyed = json!({"calleeNbr": "+8613800000009", "idempotencyKey": "signup-7"});
        let first = s.handle(keyed.clone(), None).await.unwrap();
        let replay = s.handle(keyed, None).await.unwrap();
        assert!(replay.replayed);
        assert_eq!(replay.verification_id, first.verification_id, "derived from the key, not stored");
        let text = first.verification_id.as_str();
        assert_eq!((text.len(), &text[14..15]), (36, "4"), "shaped as a UUID v4: {text}");
    }

    #[tokio::test]
    async fn a_started_verification_is_counted_once_by_country() {
        let s = service(RateLimits::new(0, 0), vec![]);
        let ((), values) = metrics::collect(async {
            let event = json!({"calleeNbr": "+447700900123", "verificationId": "v-uk"});
            s.handle(event.clone(), None).await.unwrap();
            s.handle(event, None).await.unwrap();
        })
        .await;
        assert_eq!(values[&Dimensions::country("44")][&Metric::VerificationsStarted], 1.0, "a resend starts nothing");
    }

    #[tokio::test]
    async fn a_verification_whose_call_was_never_placed_is_not_counted_as_started() {
        let s = service(RateLimits::new(0, 0), vec![huawei(403, "1010002")]);
        let ((), values) = metrics::collect(async {
            let refused = s.handle(json!({"calleeNbr": "+447700900123", "verificationId": "v-refused"}), None).await;
            assert_eq!(refused.unwrap_err().error_type(), "ProviderRejected");
        })
        .await;
        let started = values.get(&Dimensions::country("44")).and_then(|v| v.get(&Metric::VerificationsStarted));
        assert_eq!(started, None, "conversion counts the verifications whose call rang");
    }
}
