//! The trigger's failures, mapped once to the Lambda `errorType`s of the invoke contract (docs/app-backend.md,
//! "trigger-verification-call").

/// Every failure of an invoke. The variant name is the `errorType` the caller sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    /// The event is invalid, or reuses an idempotencyKey with a different payload. Nothing was sent or stored.
    #[error("{0}")]
    InvalidRequest(String),
    /// This number was called too recently. Nothing was sent.
    #[error("too many calls to this number; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The same idempotencyKey is being processed by another invocation right now.
    #[error("{0}")]
    IdempotencyConflict(String),
    /// Huawei refused the request (bad parameter, display number, account state…). No call was placed.
    #[error("Huawei refused the call: {0}")]
    ProviderRejected(String),
    /// Huawei's flow control or call quota. No call was placed; retry later.
    #[error("Huawei is throttling: {0}")]
    ProviderThrottled(String),
    /// Huawei (or our storage, before anything was sent) could not be reached or failed. No call was placed.
    #[error("{0}")]
    ProviderUnavailable(String),
    /// The request may have reached Huawei but no answer came back: the call may or may not ring. Never
    /// retried automatically (a second callVerify could ring the user twice); the status/CDR pushes settle it.
    #[error("{0}")]
    ProviderOutcomeUnknown(String),
    /// A resend for a verification that is no longer `pending`, or that had its `MAX_SENDS` calls. No call was
    /// placed.
    #[error("{0}")]
    VerificationClosed(String),
    /// The fraud guard refused the call (its reason first: `country_not_allowed: …`, `prefix_budget: …`,
    /// `country_budget: …`, `daily_cap: …`, `prefix_blocked: …`). No call was placed.
    #[error("{0}")]
    Blocked(String),
    /// Our configuration is wrong (missing setting, callback URL too long, credentials refused by Huawei).
    #[error("{0}")]
    ConfigurationError(String),
}

impl TriggerError {
    /// Every `errorType` of the trigger, as [`TriggerError::error_type`] names them (the schema's enum).
    pub const ALL: [&'static str; 10] = [
        "InvalidRequest",
        "RateLimited",
        "IdempotencyConflict",
        "ProviderRejected",
        "ProviderThrottled",
        "ProviderUnavailable",
        "ProviderOutcomeUnknown",
        "VerificationClosed",
        "Blocked",
        "ConfigurationError",
    ];

    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::RateLimited { .. } => "RateLimited",
            Self::IdempotencyConflict(_) => "IdempotencyConflict",
            Self::ProviderRejected(_) => "ProviderRejected",
            Self::ProviderThrottled(_) => "ProviderThrottled",
            Self::ProviderUnavailable(_) => "ProviderUnavailable",
            Self::ProviderOutcomeUnknown(_) => "ProviderOutcomeUnknown",
            Self::VerificationClosed(_) => "VerificationClosed",
            Self::Blocked(_) => "Blocked",
            Self::ConfigurationError(_) => "ConfigurationError",
        }
    }

    /// Whether Huawei certainly placed no call (so the idempotency key may be used again).
    pub fn nothing_placed(&self) -> bool {
        !matches!(self, Self::ProviderOutcomeUnknown(_))
    }
}

#[cfg(test)]
mod tests {
    use super::TriggerError;

    /// One error of each variant. The match below does not compile once a variant is added: add it here and to
    /// `ALL`.
    fn one_of_each() -> Vec<TriggerError> {
        let all = vec![
            TriggerError::InvalidRequest(String::new()),
            TriggerError::RateLimited { retry_after_secs: 1 },
            TriggerError::IdempotencyConflict(String::new()),
            TriggerError::ProviderRejected(String::new()),
            TriggerError::ProviderThrottled(String::new()),
            TriggerError::ProviderUnavailable(String::new()),
            TriggerError::ProviderOutcomeUnknown(String::new()),
            TriggerError::VerificationClosed(String::new()),
            TriggerError::Blocked(String::new()),
            TriggerError::ConfigurationError(String::new()),
        ];
        for error in &all {
            match error {
                TriggerError::InvalidRequest(_)
                | TriggerError::RateLimited { .. }
                | TriggerError::IdempotencyConflict(_)
                | TriggerError::ProviderRejected(_)
                | TriggerError::ProviderThrottled(_)
                | TriggerError::ProviderUnavailable(_)
                | TriggerError::ProviderOutcomeUnknown(_)
                | TriggerError::VerificationClosed(_)
                | TriggerError::Blocked(_)
                | TriggerError::ConfigurationError(_) => {}
            }
        }
        all
    }

    #[test]
    fn all_lists_the_error_type_of_every_variant_once() {
        let named: Vec<&str> = one_of_each().iter().map(TriggerError::error_type).collect();
        assert_eq!(named, TriggerError::ALL);
    }
}
