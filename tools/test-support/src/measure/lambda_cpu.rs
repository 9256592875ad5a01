//! Function processes at a Lambda-sized CPU: cold starts (a new process per round, as in [`super::cold_start`])
//! and warm invocations (the first rounds' processes kept alive and handed one event after another, as Lambda
//! reuses an execution environment), each process inside the [`CpuCgroup`] of its memory size when one is given,
//! with `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` set to that size.
//!
//! Billing follows Lambda's rule for a custom runtime (`provided.al2023`): an invocation is billed its duration
//! (the event handed out → the answer posted) rounded up to the next millisecond, and the invocation that follows
//! a cold start is billed its init too (spawn → first `next`), so a cold round is billed spawn → answer, rounded
//! up (see [`billed_ms`]).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::cold_start::{command, log_path, Target};
use super::cpu_quota::CpuCgroup;
use super::runtime_api::{Invocation, RuntimeApi, Timing};
use super::steady::{halves_gap, Steadiness};
use super::Samples;
use crate::processes;

/// Offset of the warm invocations' events from the cold ones' (`Target::event` gets distinct indexes).
pub const WARM_EVENTS_FROM: usize = 100_000;
/// The first processes of a series that share its warm invocations (each its part, one after another).
const WARM_PROCESSES: usize = 10;

/// What is measured at one memory size.
pub struct Plan<'a> {
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, and the share of a vCPU when `cgroup` is set.
    pub memory_mb: u64,
    /// The quota; `None` runs on the whole machine.
    pub cgroup: Option<&'a CpuCgroup>,
    /// New processes per target (the first one also serves the warm invocations).
    pub cold_rounds: usize,
    /// Warm invocations, shared out over the first (up to ten) rounds' processes, one after another in each.
    pub warm: usize,
    /// Index of the first cold event (`Target::event`), so that runs at several sizes never repeat an event.
    pub first_event: usize,
}

/// One target at one memory size. Only rounds and invocations that answered count; the rest are in `failures`.
#[derive(Debug, Clone, Default)]
pub struct SizedRun {
    pub name: String,
    pub memory_mb: u64,
    /// Spawn → first `GET …/invocation/next` (init done), per cold round.
    pub init: Samples,
    /// Spawn → the cold invocation's answer posted.
    pub answered: Samples,
    /// Billed duration of each cold round (init + first invocation), in ms.
    pub cold_billed_ms: Vec<u64>,
    /// Event handed out → answer posted, per warm invocation.
    pub warm: Samples,
    /// Billed duration of each warm invocation, in ms.
    pub warm_billed_ms: Vec<u64>,
    pub failures: Vec<String>,
    /// Every answer (cold and warm), for the caller to check.
    pub answers: Vec<Value>,
    /// Cold rounds taken (the same for every row of one measurement).
    pub rounds: usize,
    /// [`halves_gap`] of the cold starts (spawn → answer): how well two runs of these rounds agree.
    pub halves_gap: f64,
}

impl SizedRun {
    /// Mean billed ms of a warm invocation (what a million of them cost); zero when none answered.
    pub fn warm_billed_mean_ms(&self) -> f64 {
        mean(&self.warm_billed_ms)
    }

    pub fn cold_billed_mean_ms(&self) -> f64 {
        mean(&self.cold_billed_ms)
    }
}

fn mean(values: &[u64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<u64>() as f64 / values.len() as f64
}

/// Lambda's billed duration of `duration`: rounded up to the next whole millisecond (at least 1 ms).
pub fn billed_ms(duration: Duration) -> u64 {
    let micros = duration.as_micros();
    (micros.div_ceil(1000) as u64).max(1)
}

/// Every target, `plan.cold_rounds` new processes each, rounds interleaved (round 0 of every target, then round 1,
/// …) so that the machine's noise falls on all alike.
pub async fn measure(targets: &[Target], plan: &Plan<'_>) -> Vec<SizedRun> {
    let fixed = Steadiness::fixed(plan.cold_rounds);
    measure_sizes(targets, std::slice::from_ref(plan), fixed).await.pop().unwrap_or_default()
}

/// Every target at every size of `plans`, interleaved: each round starts every target once at every size (round
/// 0 of every size, then round 1, …), so that a slow minute of the machine falls on all sizes alike instead of on
/// the one measured then. Rounds are added until [`Steadiness`] holds. The answer has one list per plan, in order.
pub async fn measure_sizes(targets: &[Target], plans: &[Plan<'_>], steady: Steadiness) -> Vec<Vec<SizedRun>> {
    let mut runs: Vec<Vec<SizedRun>> = plans
        .iter()
        .map(|plan| {
            targets
                .iter()
                .map(|t| SizedRun { name: t.name.clone(), memory_mb: plan.memory_mb, ..SizedRun::default() })
                .collect()
        })
        .collect();
    // Per plan and target: init, answered (in round order, for the halves) and warm durations.
    let mut series: Vec<Vec<[Vec<Duration>; 3]>> =
        plans.iter().map(|_| targets.iter().map(|_| Default::default()).collect()).collect();
    let mut round = 0;
    while round < steady.max_rounds.max(1) {
        for _ in 0..steady.step.max(1) {
            for ((plan, plan_runs), plan_series) in plans.iter().zip(&mut runs).zip(&mut series) {
                if let Some(group) = plan.cgroup {
                    wake(group).await;
                }
                for ((target, run), [init, answered, warm]) in targets.iter().zip(plan_runs).zip(plan_series) {
                    match run_process(target, plan, round).await {
                        Ok(process) => {
                            init.push(process.cold.ready);
                            answered.push(process.cold.answered);
                            run.cold_billed_ms.push(billed_ms(process.cold.answered));
                            run.answers.push(process.cold_answer);
                            for (duration, answer) in process.warm {
                                warm.push(duration);
                                run.warm_billed_ms.push(billed_ms(duration));
                                run.answers.push(answer);
                            }
                            run.failures.extend(process.warm_failure);
                        }
                        Err(failure) => run.failures.push(format!("round {round}: {failure}")),
                    }
                }
            }
            round += 1;
        }
        if steady.reached(round, series.iter().flatten().map(|[_, answered, _]| answered.as_slice())) {
            break;
        }
    }
    for (plan_runs, plan_series) in runs.iter_mut().zip(series) {
        for (run, [init, answered, warm]) in plan_runs.iter_mut().zip(plan_series) {
            run.rounds = round;
            run.halves_gap = halves_gap(&answered);
            run.init = Samples::new(init);
            run.answered = Samples::new(answered);
            run.warm = Samples::new(warm);
        }
    }
    runs
}

/// A cgroup that sat idle while the other sizes ran starts its CFS bandwidth timer again on its next process,
/// which then waited for it: the first target of every size (the hello-world) answered in ~17 ms at every quota
/// against ~4 ms on the whole core, slower than the functions. A process of no work of the caller's (`true`),
/// not measured, wakes the group before the measured ones.
async fn wake(group: &CpuCgroup) {
    let mut command = std::process::Command::new("true");
    command.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    group.confine(&mut command);
    let _ = tokio::task::spawn_blocking(move || command.status()).await;
}

/// One process: its cold invocation, then (the first rounds) the warm ones.
struct Process {
    cold: Timing,
    cold_answer: Value,
    warm: Vec<(Duration, Value)>,
    /// Why the warm series stopped early, if it did.
    warm_failure: Option<String>,
}

async fn run_process(target: &Target, plan: &Plan<'_>, round: usize) -> Result<Process, String> {
    let log = log_path(&format!("{}-{}mb", target.name, plan.memory_mb), round);
    let mut api = RuntimeApi::open().await.map_err(|e| format!("runtime API on 127.0.0.1: {e}"))?;
    api.queue_invocation(Invocation::new(&target.name, (target.event)(plan.first_event + round).to_string()));
    let mut command =
        command(target, api.addr, &log, plan.memory_mb).map_err(|e| format!("log file {}: {e}", log.display()))?;
    if let Some(group) = plan.cgroup {
        group.confine(&mut command);
    }
    let started = Instant::now();
    let mut child = processes::spawn(command).map_err(|e| format!("spawn {}: {e}", target.binary.display()))?;
    let outcome = serve(&mut api, &mut child, target, plan, round, started).await;
    processes::kill_group(&mut child);
    if outcome.as_ref().is_ok_and(|process| process.warm_failure.is_none()) {
        let _ = std::fs::remove_file(&log);
    }
    outcome.map_err(|failure| format!("{failure} (log: {})", log.display()))
}

async fn serve(
    api: &mut RuntimeApi,
    child: &mut std::process::Child,
    target: &Target,
    plan: &Plan<'_>,
    round: usize,
    started: Instant,
) -> Result<Process, String> {
    let cold = api.await_answer(child, started).await?;
    let cold_answer = json(&cold.body)?;
    if let Some(group) = plan.cgroup {
        if !group.holds(child.id()) {
            return Err(format!("the process is not in {}", group.path().display()));
        }
    }
    let mut process = Process { cold, cold_answer, warm: Vec::new(), warm_failure: None };
    // The warm invocations are shared out over the first processes: one process's warm series moved with that
    // process's luck (the p50 of a callback's 100 came out 1.6 ms in one run and 2.9 ms in the next).
    let sharing = plan.cold_rounds.clamp(1, WARM_PROCESSES);
    if round >= sharing {
        return Ok(process);
    }
    for k in round * plan.warm / sharing..(round + 1) * plan.warm / sharing {
        let event = (target.event)(plan.first_event + WARM_EVENTS_FROM + k).to_string();
        let queued = Instant::now();
        if !api.queue_invocation(Invocation::new(&target.name, event)) {
            process.warm_failure = Some("the runtime API's queue closed".into());
            break;
        }
        match api.await_answer(child, queued).await.and_then(|t| Ok((t.answered - t.ready, json(&t.body)?))) {
            Ok(done) => process.warm.push(done),
            Err(failure) => {
                process.warm_failure = Some(format!("warm invocation {k}: {failure}"));
                break;
            }
        }
    }
    Ok(process)
}

fn json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("answered with no JSON ({e}): {}", String::from_utf8_lossy(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_is_billed_its_duration_rounded_up_to_the_millisecond() {
        assert_eq!(billed_ms(Duration::from_micros(1)), 1);
        assert_eq!(billed_ms(Duration::from_micros(1_000)), 1);
        assert_eq!(billed_ms(Duration::from_micros(1_001)), 2);
        assert_eq!(billed_ms(Duration::from_micros(12_400)), 13);
        assert_eq!(billed_ms(Duration::ZERO), 1);
        let run = SizedRun { warm_billed_ms: vec![2, 3, 4], ..SizedRun::default() };
        assert_eq!(run.warm_billed_mean_ms(), 3.0);
        assert_eq!(SizedRun::default().cold_billed_mean_ms(), 0.0);
    }
}
