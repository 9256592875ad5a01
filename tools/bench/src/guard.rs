//! The regression guard: at the end of `make bench`, every ratio of the run against its goal, on stderr, and
//! which goals are not met. The goals are those the sections of BENCHMARKS.md state (report.rs), plus section 8's:
//! every function's cold start within 1.5× the hello-world's on the whole core and at its chosen memory size.

use crate::fraud_guard::{Case, FraudGuard};
use crate::lambda_cpu::{LambdaCpu, FUNCTIONS};
use crate::ratio;
use crate::report::{
    Report, CHECK_RATIO_TARGET, COLD_START_RATIO_TARGET, FEE_50_RATIO_TARGET, GUARD_ADDED_REQUESTS_TARGET,
    GUARD_FLOOR_RATIO_TARGET, LATENCY_RATIO_TARGET, LEAST_POSSIBLE_RATIO_TARGET, OUTCOME_READ_RATIO_TARGET,
    PEAK_RSS_TARGET_MIB, ZIP_TARGET_BYTES,
};
use crate::verification::Verifications;
use std::time::Duration;

use test_support::measure::lambda_cpu::SizedRun;
use test_support::measure::HELLO_RUNTIME;

/// One ratio against its goal.
#[derive(Debug, Clone)]
pub struct Check {
    pub what: String,
    pub value: f64,
    /// `≤ 1.10`, `= 1`, …
    pub goal: String,
    pub met: bool,
}

fn at_most(what: impl Into<String>, value: f64, goal: f64) -> Check {
    Check { what: what.into(), value, goal: format!("≤ {goal:.2}"), met: value <= goal }
}

fn exactly(what: impl Into<String>, value: f64, goal: f64) -> Check {
    Check { what: what.into(), value, goal: format!("= {goal:.2}"), met: (value - goal).abs() < 1e-9 }
}

/// Every check of a full run.
pub fn checks(report: &Report) -> Vec<Check> {
    let mut checks = Vec::new();
    for row in &report.write_cost.callbacks {
        checks.push(exactly(format!("1. {}: writes per new record", row.notification), row.new.writes, 1.0));
        checks.push(exactly(format!("1. {}: reads per new record", row.notification), row.new.reads, 0.0));
    }
    let l = &report.latency;
    checks.push(at_most(
        "2. status push / raw PutItem, p50",
        ratio(l.status_push.p50(), l.raw_put.p50()),
        LATENCY_RATIO_TARGET,
    ));
    checks.push(at_most(
        "2. status push / raw PutItem, p99",
        ratio(l.status_push.p99(), l.raw_put.p99()),
        LATENCY_RATIO_TARGET,
    ));
    checks.push(at_most(
        "2. 50-CDR push / 1-CDR push, p50",
        ratio(l.fee_push_50.p50(), l.fee_push_1.p50()),
        FEE_50_RATIO_TARGET,
    ));
    if let Some(floor) = report.cold_starts.iter().find(|s| s.name == HELLO_RUNTIME) {
        for start in report.cold_starts.iter().filter(|s| s.name != HELLO_RUNTIME) {
            let value = ratio(start.answered.p50(), floor.answered.p50());
            checks.push(at_most(format!("3. {} cold / hello-world, p50", start.name), value, COLD_START_RATIO_TARGET));
            let rss = start.peak_rss_kib.iter().copied().max().unwrap_or(0) as f64 / 1024.0;
            checks.push(at_most(format!("3. {} peak RSS, MiB", start.name), rss, PEAK_RSS_TARGET_MIB));
        }
    }
    for size in report.sizes.iter().filter(|s| s.step == "as configured") {
        let value = size.zip as f64 / ZIP_TARGET_BYTES as f64;
        checks.push(at_most(format!("4. {} zip / 4 MiB", size.function), value, 1.0));
    }
    let read = &report.outcome_read;
    let by_session = ratio(read.by_session.p50(), read.raw_query.p50());
    checks.push(at_most("6. outcome read / raw Query, p50", by_session, OUTCOME_READ_RATIO_TARGET));
    for (operation, per_read) in &read.requests_per_read.0 {
        checks.push(exactly(format!("6. {operation} per read by sessionId"), *per_read, 1.0));
    }
    let e = &report.outcome_events;
    checks.push(exactly("7. events / status changes", e.events as f64 / e.changes.max(1) as f64, 1.0));
    checks.push(at_most("7. Queries per stream record", e.queries as f64 / e.stream_records.max(1) as f64, 1.0));
    checks.push(exactly("7. new outcomeIds on re-delivery", e.new_ids_on_redelivery as f64, 0.0));
    checks.extend(cold_start_checks(&report.lambda_cpu));
    checks.extend(verification_checks(&report.verification));
    checks.extend(fraud_guard_checks(&report.fraud_guard));
    checks
}

/// Section 11: the guard adds at most two requests to a call it lets through (exactly one `TransactWriteItems`,
/// with or without budgets), none to a call the country list refuses, and only its refused transaction, which takes
/// nothing, to a call a spent budget refuses; the trigger with the guard within 1.15× of its floor, the trigger
/// without it plus the guard's admission alone (p50).
pub fn fraud_guard_checks(g: &FraudGuard) -> Vec<Check> {
    let mut checks = Vec::new();
    for (case, key) in [(Case::BlockCheckOnly, "no budgets"), (Case::AllBudgets, "every budget")] {
        checks.push(at_most(
            format!("11. requests the guard adds to a call ({key})"),
            g.added(case),
            GUARD_ADDED_REQUESTS_TARGET,
        ));
        let transactions = g.case(case).map_or(f64::NAN, |w| w.of("TransactWriteItems"));
        checks.push(exactly(format!("11. TransactWriteItems per call ({key})"), transactions, 1.0));
    }
    let abroad = g.case(Case::CountryRefused).map_or(f64::NAN, |w| w.requests());
    checks.push(exactly("11. requests of a call refused by the country list", abroad, 0.0));
    let spent = g.case(Case::BudgetRefused);
    let guard_requests = spent.map_or(f64::NAN, |w| w.guard_requests());
    checks.push(exactly("11. guard's requests of a call refused by a budget", guard_requests, 1.0));
    let taken = spent.map_or(f64::NAN, |w| w.counters_taken as f64);
    checks.push(exactly("11. budget calls taken by refused calls", taken, 0.0));
    checks.push(at_most(
        "11. trigger with the guard / (without + admission alone), p50",
        ratio(g.on.p50(), g.off.p50() + g.admit.p50()),
        GUARD_FLOOR_RATIO_TARGET,
    ));
    checks
}

/// Section 10: the check within 1.15× of a raw conditional `UpdateItem` (p50); exactly one `UpdateItem` and no
/// other request per check, right or wrong; a start adds exactly one `UpdateItem`, of the `verification#` item, to
/// the trigger's requests.
pub fn verification_checks(v: &Verifications) -> Vec<Check> {
    let mut checks =
        vec![at_most("10. check / raw UpdateItem, p50", ratio(v.check.p50(), v.raw_update.p50()), CHECK_RATIO_TARGET)];
    for m in &v.metered {
        checks.push(exactly(format!("10. UpdateItem per check, {}", m.what), m.of("UpdateItem"), 1.0));
        // An empty f64 sum is -0.0.
        let others = m.requests.iter().filter(|(op, _)| op != "UpdateItem").map(|(_, n)| n).sum::<f64>() + 0.0;
        checks.push(exactly(format!("10. other requests per check, {}", m.what), others, 0.0));
    }
    for t in &v.trigger {
        let on_verification = |operation: &str| {
            t.by_item.iter().find(|(item, _)| *item == format!("{operation} verification#")).map_or(0.0, |(_, n)| *n)
        };
        let key = if t.what.starts_with("with ") { "with a key" } else { "no key" };
        let update = on_verification("UpdateItem");
        checks.push(exactly(format!("10. start: UpdateItem of verification# ({key})"), update, 1.0));
        let others = t.verification_requests() - update + 0.0;
        checks.push(exactly(format!("10. start: other requests on verification# ({key})"), others, 0.0));
    }
    checks
}

/// Section 8: cold start (answered p50) within 1.5× the hello-world's at the same CPU, on the whole core and at
/// the function's memory size in the template. Beside it, the same cold start over the least any code doing this function's work
/// could take ([`least_possible`]): the part of the gap that start-up work of ours, not the database, makes.
/// How far apart the medians of a cold-start row's even and odd rounds may be (`main::steadiness`).
pub const STEADY_TOLERANCE: f64 = 0.10;

pub fn cold_start_checks(cpu: &LambdaCpu) -> Vec<Check> {
    let mut checks = Vec::new();
    for function in FUNCTIONS {
        let mut sizes = vec![&cpu.whole_core];
        sizes.extend(cpu.sized.iter().filter(|s| s.memory_mb == crate::cost_model::memory_mb(function)));
        for size in sizes {
            let (Some(run), Some(floor)) = (size.run(function), size.run(HELLO_RUNTIME)) else { continue };
            let value = ratio(run.answered.p50(), floor.answered.p50());
            let what = format!("8. {function} cold / hello-world at {}, p50", size.label());
            checks.push(at_most(what, value, COLD_START_RATIO_TARGET));
            let value = ratio(run.answered.p50(), least_possible(run, floor));
            let what = format!("8. {function} cold / (hello-world + own warm) at {}, p50", size.label());
            checks.push(at_most(what, value, LEAST_POSSIBLE_RATIO_TARGET));
            // A ratio of medians that two halves of the rounds disagree on by more than 10 % says little.
            let what = format!("8. {function} cold, even vs odd rounds' p50 at {}", size.label());
            checks.push(at_most(what, 1.0 + run.halves_gap, 1.0 + STEADY_TOLERANCE));
        }
    }
    checks
}

/// The least cold start a function could have: a hello-world's start, then one invocation as long as a warm one
/// of its own. A function must hear from DynamoDB (and the trigger from Huawei) before it answers, and that wait
/// is in its warm invocation too; the hello-world answers with no I/O. When
/// `least_possible / hello-world` exceeds the goal, no code meets "cold ≤ 1.5× hello-world".
pub fn least_possible(run: &SizedRun, hello_world: &SizedRun) -> Duration {
    hello_world.answered.p50() + run.warm.p50()
}

/// Prints every check, then the ones not met.
pub fn print(checks: &[Check]) {
    eprintln!("bench: regression guard, every ratio against its goal:");
    for check in checks {
        let verdict = if check.met { "met" } else { "NOT MET" };
        eprintln!("  {:<62} {:>9.2}  goal {:<7} {verdict}", check.what, check.value, check.goal);
    }
    let missed: Vec<&Check> = checks.iter().filter(|c| !c.met).collect();
    match missed.len() {
        0 => eprintln!("bench: every goal met ({} checks)", checks.len()),
        n => {
            eprintln!("bench: {n} of {} goals not met:", checks.len());
            for check in missed {
                eprintln!("  {} = {:.2} (goal {})", check.what, check.value, check.goal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fraud_guard::WireCase;
    use crate::lambda_cpu::AtSize;
    use test_support::measure::Samples;

    fn wire(case: Case, per_operation: &[(&str, f64)], guard_requests: f64, counters_taken: u64) -> WireCase {
        let per = |pairs: &[(&str, f64)]| pairs.iter().map(|(name, n)| ((*name).to_owned(), *n)).collect();
        WireCase {
            case,
            answered: String::new(),
            invokes: 1,
            per_operation: per(per_operation),
            by_item: per(&[("TransactWriteItems guard#", guard_requests)]),
            actions: Vec::new(),
            units_by_item: Vec::new(),
            counters_taken,
        }
    }

    #[test]
    fn the_guard_is_held_to_its_added_requests_and_to_its_floor() {
        let trigger = [("GetItem", 1.0), ("PutItem", 2.0), ("UpdateItem", 1.0)];
        let with = |transactions: f64| [&trigger[..], &[("TransactWriteItems", transactions)]].concat();
        let ms = |m: u64| Samples::new(vec![Duration::from_millis(m)]);
        let mut g = FraudGuard {
            wire: vec![
                wire(Case::Off, &trigger, 0.0, 0),
                wire(Case::BlockCheckOnly, &with(1.0), 1.0, 0),
                // Every budget, the transaction sent twice (a retry): 2 added requests, within the 2 allowed, but
                // not exactly one transaction.
                wire(Case::AllBudgets, &with(2.0), 2.0, 3),
                wire(Case::CountryRefused, &[], 0.0, 0),
                wire(Case::BudgetRefused, &[("GetItem", 1.0), ("PutItem", 1.0), ("TransactWriteItems", 1.0)], 1.0, 0),
            ],
            on: ms(13),
            off: ms(6),
            admit: ms(6),
            admit_block_check: ms(3),
            raw_update: ms(2),
        };
        let verdicts = |g: &FraudGuard| -> Vec<(String, bool)> {
            fraud_guard_checks(g).into_iter().map(|c| (c.what, c.met)).collect()
        };
        let not_met: Vec<String> = verdicts(&g).into_iter().filter(|(_, met)| !met).map(|(what, _)| what).collect();
        assert_eq!(not_met, ["11. TransactWriteItems per call (every budget)"], "{:?}", verdicts(&g));
        assert_eq!(g.added(Case::AllBudgets), 2.0);
        // The trigger with the guard 3 ms slower than the trigger without it plus the guard's admission: 15 / 12.
        g.on = ms(15);
        let floor = fraud_guard_checks(&g).into_iter().find(|c| c.what.contains("admission alone")).unwrap();
        assert!((floor.value - 1.25).abs() < 1e-9 && !floor.met, "{floor:?}");
    }

    fn run(name: &str, answered_ms: u64, warm_ms: u64) -> SizedRun {
        let ms = |m: u64| Samples::new(vec![Duration::from_millis(m)]);
        SizedRun { name: name.into(), answered: ms(answered_ms), warm: ms(warm_ms), ..SizedRun::default() }
    }

    #[test]
    fn a_cold_start_is_held_against_the_hello_world_and_against_the_least_it_could_take() {
        // hello-world 5 ms; status-callback answers cold in 15 ms and warm in 3 ms: 3× the hello-world, and 15 / 8
        // over the least possible. get-call-outcome: 9 ms cold, 4 ms warm, 1.8× and exactly at its least.
        let whole_core = AtSize {
            memory_mb: 1769,
            quota_us: None,
            runs: vec![run(HELLO_RUNTIME, 5, 0), run("status-callback", 15, 3), run("get-call-outcome", 9, 4)],
        };
        let cpu = LambdaCpu { cold_rounds: 1, warm: 1, whole_core, sized: vec![], skipped: None, metered: vec![] };
        let checks = cold_start_checks(&cpu);
        let found = |what: &str| checks.iter().find(|c| c.what == what).unwrap_or_else(|| panic!("{what}: {checks:?}"));
        let status = found("8. status-callback cold / hello-world at whole core, p50");
        assert!((status.value - 3.0).abs() < 1e-9 && !status.met);
        let status_least = found("8. status-callback cold / (hello-world + own warm) at whole core, p50");
        assert!((status_least.value - 15.0 / 8.0).abs() < 1e-9 && !status_least.met);
        let outcome_least = found("8. get-call-outcome cold / (hello-world + own warm) at whole core, p50");
        assert!((outcome_least.value - 1.0).abs() < 1e-9 && outcome_least.met);
        assert_eq!(checks.len(), 4, "two checks per measured function, none for those not measured: {checks:?}");
    }
}
