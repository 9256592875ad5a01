//! Settings of get-call-outcome.

use std::time::Duration;

use super::{store_retry_budget, table_name, ConfigError, Env};

#[derive(Debug, Clone)]
pub struct OutcomeConfig {
    pub table_name: String,
    /// How long one read keeps retrying transient DynamoDB errors (`STORE_RETRY_BUDGET_MS`, as the callbacks).
    pub read_retry_budget: Duration,
}

impl OutcomeConfig {
    pub fn load(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self { table_name: table_name(env)?, read_retry_budget: store_retry_budget(env)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_STORE_RETRY_BUDGET;

    #[test]
    fn the_table_is_required_and_the_budget_is_the_callbacks() {
        let config = OutcomeConfig::load(&[("TABLE_NAME", "t")]).unwrap();
        assert_eq!(config.read_retry_budget, DEFAULT_STORE_RETRY_BUDGET);
        let config = OutcomeConfig::load(&[("TABLE_NAME", "t"), ("STORE_RETRY_BUDGET_MS", "500")]).unwrap();
        assert_eq!(config.read_retry_budget, Duration::from_millis(500));
        assert!(matches!(OutcomeConfig::load(&[("X", "y")]), Err(ConfigError::Missing("TABLE_NAME"))));
        assert!(OutcomeConfig::load(&[("TABLE_NAME", "t"), ("STORE_RETRY_BUDGET_MS", "0")]).is_err());
    }
}
