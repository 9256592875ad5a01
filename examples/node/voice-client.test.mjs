// The example client against a running stack (`make run`; tests/integration/tests/make_run.rs runs it).
// Environment: the SDK's (AWS_REGION, credentials, AWS_ENDPOINT_URL_LAMBDA = the stack's invoke front,
// AWS_ENDPOINT_URL_SQS = moto), OUTCOME_QUEUE_URL or OUTCOME_QUEUE_NAME (the app's queue of outcome events) and
// LOCAL_SIMULATOR_URL (the simulator's GET /sim/heard stands in for the user's ear); then, in examples/node:
//   node --test
// Numbers: the range +8613600000xxx is this suite's (make run allows 3 calls a range an hour; the Python suite
// uses +8613700000xxx), and a callee's last four digits pick the simulator's scenario (0408: Huawei holds it).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import * as vc from "./voice-client.mjs";

const ANSWERED = "+8613600000001";
const HELD = "+8613600000408";
const ABROAD = "+447700900125";
const key = (name) => `node-${name}-${randomUUID()}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const noRetry = () => assert.fail("no retry expected");

async function heardCode(sessionId) {
  const url = `${process.env.LOCAL_SIMULATOR_URL}/sim/heard/${encodeURIComponent(sessionId)}`;
  for (let i = 0; i < 100; i++) {
    const answer = await fetch(url);
    if (answer.ok) return (await answer.json()).verifyCode;
    await sleep(200);
  }
  assert.fail("the phone heard no code");
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof vc.FunctionError, `a FunctionError, not ${error}`);
    return error;
  }
  assert.fail("expected a function error");
}

describe("the example client against the stack", () => {
  const client = vc.lambdaClient();
  const sqs = new SQSClient({});
  const queueUrl = async () =>
    process.env.OUTCOME_QUEUE_URL ??
    (await sqs.send(new GetQueueUrlCommand({ QueueName: process.env.OUTCOME_QUEUE_NAME }))).QueueUrl;

  test("a verification end to end, and its events reduced to the greatest (final, version)", async () => {
    const started = await vc.startVerification(client, ANSWERED, key("e2e"));
    const { sessionId, verificationId } = started;
    assert.deepEqual([started.status, started.replayed], ["requested", false]);

    const outcome = await vc.waitForOutcome(client, sessionId);
    assert.deepEqual(
      [outcome.sessionId, outcome.status, outcome.final, outcome.answered, outcome.decidedBy],
      [sessionId, "completed", true, true, "cdr"],
    );

    const code = await heardCode(sessionId);
    const wrong = [...code].map((d) => (Number(d) + 1) % 10).join("");
    assert.equal(await vc.checkCode(client, verificationId, wrong), false);
    assert.equal(await vc.checkCode(client, verificationId, code), true);

    const reducer = new vc.OutcomeReducer();
    const url = await queueUrl();
    const seen = [];
    const deadline = Date.now() + 60_000;
    while (!reducer.latest.get(sessionId)?.final) {
      assert.ok(Date.now() < deadline, `no final event for the call: ${JSON.stringify(seen)}`);
      seen.push(...(await vc.readOutcomeEvents(sqs, url, reducer)));
    }
    const kept = reducer.latest.get(sessionId);
    assert.deepEqual([kept.status, kept.final, kept.decidedBy], ["completed", true, "cdr"]);
    assert.ok(kept.version <= outcome.version);
    const ours = seen.filter((e) => e["detail-type"] === "Call Outcome Changed" && e.detail.sessionId === sessionId);
    assert.ok(ours.length >= 2, "progress events before the final one");
    // Any order and any repetition of the same events reduce to the same outcome.
    const again = new vc.OutcomeReducer();
    for (const envelope of [...ours, ...ours].sort(() => Math.random() - 0.5)) again.add(envelope);
    assert.deepEqual(again.latest.get(sessionId), kept);

    // The same number again within a minute: RateLimited, with the wait in its message; longer than the caller
    // will wait (maxWaitMs), so thrown, not slept on.
    const limited = await rejection(
      vc.startVerification(client, ANSWERED, key("again"), { maxWaitMs: 0, sleep: noRetry }),
    );
    assert.deepEqual([limited.errorType, limited.retrySameKey], ["RateLimited", true]);
    assert.ok(limited.errorMessage.includes(`retry after ${limited.retryAfterMs() / 1000} s`), limited.errorMessage);
  });

  test("InvalidRequest is a function error in one HTTP attempt", async () => {
    let sends = 0;
    client.middlewareStack.add((next) => (args) => (sends++, next(args)), { step: "deserialize", name: "countSends" });
    try {
      const answer = await client.send(
        new InvokeCommand({
          FunctionName: "trigger-verification-call",
          Payload: JSON.stringify({ calleeNbr: "0000", idempotencyKey: key("bad") }),
        }),
      );
      const body = JSON.parse(new TextDecoder().decode(answer.Payload));
      assert.deepEqual([answer.StatusCode, answer.FunctionError, body.errorType], [200, "Unhandled", "InvalidRequest"]);
      assert.deepEqual([sends, answer.$metadata.attempts], [1, 1]);
      // The example's own handling: the caller's fault, not retried.
      const error = await rejection(vc.startVerification(client, "0000", key("bad"), { sleep: noRetry }));
      assert.deepEqual([error.errorType, error.callersFault], ["InvalidRequest", true]);
      assert.equal(sends, 2);
    } finally {
      client.middlewareStack.remove("countSends");
    }
  });

  test("an unknown session is NotFound", async () => {
    const error = await rejection(vc.waitForOutcome(client, `1201_9_${Date.now()}_20260101000000@example`, 0));
    assert.deepEqual([error.errorType, error.callersFault], ["NotFound", true]);
  });

  test("a duplicate while the first is in progress is IdempotencyConflict", async () => {
    // Huawei holds the first request (scenario 0408) past the trigger's 8 s timeout: the outcome is unknown.
    const event = { calleeNbr: HELD, idempotencyKey: key("dup") };
    const first = vc.invoke(client, "trigger-verification-call", event).catch((error) => error);
    await sleep(2000);
    const conflict = await rejection(vc.invoke(client, "trigger-verification-call", event));
    assert.deepEqual([conflict.errorType, conflict.retrySameKey], ["IdempotencyConflict", true]);
    const unknown = await first;
    assert.equal(unknown.errorType, "ProviderOutcomeUnknown", String(unknown));
    // Retried with the same key, as the table says: the unknown outcome again, never a second ring.
    const again = await rejection(vc.startVerification(client, HELD, event.idempotencyKey, { sleep: noRetry }));
    assert.equal(again.errorType, "ProviderOutcomeUnknown");
    assert.ok(vc.FOLLOW_THE_OUTCOME.has(again.errorType));
  });

  test("a number outside the allowed countries is Blocked", async () => {
    const error = await rejection(vc.startVerification(client, ABROAD, key("abroad"), { sleep: noRetry }));
    assert.equal(error.errorType, "Blocked");
    assert.ok(error.errorMessage.startsWith("country_not_allowed:"), error.errorMessage);
    assert.ok(error.callersFault);
    assert.ok(!error.errorMessage.includes(ABROAD.slice(1)));
  });
});

describe("without the stack", () => {
  const event = (status, final, version) => ({
    "detail-type": "Call Outcome Changed",
    detail: { sessionId: "s", status, final, version, answered: status !== "busy", decidedBy: final ? "cdr" : "progress" },
  });

  test("keeps the greatest (final, version) whatever the order", () => {
    const reducer = new vc.OutcomeReducer();
    for (const e of [event("busy", true, 3), event("calling", false, 4), event("busy", false, 2), event("busy", true, 3)])
      reducer.add(e);
    reducer.add({ "detail-type": "Verification Status Changed", detail: {} });
    assert.deepEqual([reducer.latest.get("s").status, reducer.latest.get("s").final], ["busy", true]);
  });

  test("a retry waits only when it is safe and short", () => {
    const day = new vc.FunctionError("RateLimited", "too many calls to this number; retry after 86263 s");
    const soon = new vc.FunctionError("RateLimited", "too many calls to this number; retry after 9 s");
    assert.equal(vc.pauseBeforeRetry(soon, 1, 3, 60_000), 9_000);
    assert.equal(vc.pauseBeforeRetry(day, 1, 3, 60_000), undefined, "a day is the user's to hear, not a sleep");
    assert.equal(vc.pauseBeforeRetry(soon, 3, 3, 60_000), undefined, "attempts spent");
    assert.equal(vc.pauseBeforeRetry(new vc.FunctionError("InvalidRequest", "x"), 1, 3, 60_000), undefined);
    assert.equal(vc.pauseBeforeRetry(new vc.FunctionError("IdempotencyConflict", "x"), 1, 3, 60_000), 1_000);
  });

  test("a renamed field is an error, not an undefined", () => {
    assert.throws(() =>
      vc.parseOutcome({ status: "busy", final: true, version: 3, decided_by: "cdr", answered: false }),
    );
  });
});
