//! Settings of outcome-publisher.

use std::time::Duration;

use super::guard::guard_policy;
use super::{record_ttl, region, store_retry_budget, table_name, ConfigError, Env};
use crate::guard::GuardPolicy;

#[derive(Debug, Clone)]
pub struct PublisherConfig {
    pub table_name: String,
    /// `EVENT_BUS_NAME`: this region's outcome bus.
    pub event_bus_name: String,
    /// `AWS_REGION`: the publisher publishes the records written here, and stamps its close-out records with it.
    pub region: String,
    pub record_ttl: Duration,
    /// How long a Query or a close-out write keeps retrying transient DynamoDB errors (`STORE_RETRY_BUDGET_MS`).
    pub store_retry_budget: Duration,
    /// The fraud guard's settings; the publisher applies `AUTO_BLOCK_*` (it learns the ranges' conversion).
    pub guard: GuardPolicy,
}

impl PublisherConfig {
    pub fn load(env: &impl Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: table_name(env)?,
            event_bus_name: env.get("EVENT_BUS_NAME").ok_or(ConfigError::Missing("EVENT_BUS_NAME"))?,
            region: region(env)?,
            record_ttl: record_ttl(env)?,
            store_retry_budget: store_retry_budget(env)?,
            guard: guard_policy(env, None)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_STORE_RETRY_BUDGET;

    #[test]
    fn the_bus_the_table_and_the_region_are_required() {
        let env = [("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b"), ("AWS_REGION", "eu-west-1")];
        let config = PublisherConfig::load(&env).unwrap();
        assert_eq!((config.event_bus_name.as_str(), config.region.as_str()), ("b", "eu-west-1"));
        assert_eq!(config.store_retry_budget, DEFAULT_STORE_RETRY_BUDGET);
        for missing in ["TABLE_NAME", "EVENT_BUS_NAME", "AWS_REGION"] {
            let without: Vec<_> = env.iter().copied().filter(|(name, _)| *name != missing).collect();
            assert!(matches!(PublisherConfig::load(&without.as_slice()), Err(ConfigError::Missing(m)) if m == missing));
        }
    }
}
