// An app backend's client of the voice verification functions (docs/app-backend.md), with the AWS SDK for
// JavaScript v3. Copy what you need. Endpoints and credentials come from the environment as for any SDK program, so
// the same code runs against AWS and against `make run` (AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_SQS); the
// function names from TRIGGER_FUNCTION, CHECK_FUNCTION and OUTCOME_FUNCTION (in AWS, the stack outputs
// TriggerFunctionArn, CheckVerificationFunctionArn and GetCallOutcomeFunctionArn).
//
//   node voice-client.mjs +8613800000001 [code]   start a verification, wait for its call, check a typed code
// With OUTCOME_QUEUE_URL (the app's queue of outcome events) it also prints the call's events as they come.
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";

// What to do about each errorType (docs/app-backend.md, "Errors and retries" and the tables it points to;
// docs/operations.md, "What happens when a region fails", for the other region).
export const RETRY_SAME_KEY = new Set([
  "IdempotencyConflict", // another invoke with the key is running: the retry replays its answer
  "RateLimited", // after the `retry after N s` of the message
  "ProviderThrottled", // after a minute
  "ProviderUnavailable",
  "StorageUnavailable", // check-verification and get-call-outcome
]);
// Huawei certainly did not take the call: the other region's trigger may.
export const TRY_OTHER_REGION = new Set(["ProviderUnavailable", "ConfigurationError"]);
export const CALLERS_FAULT = new Set(["InvalidRequest", "NotFound", "ProviderRejected", "VerificationClosed", "Blocked"]);
// The call may ring: never invoke again, follow the outcome by idempotency key.
export const FOLLOW_THE_OUTCOME = new Set(["ProviderOutcomeUnknown"]);

/** A function answered an error: Lambda's 200 with X-Amz-Function-Error and {errorType, errorMessage}. */
export class FunctionError extends Error {
  constructor(errorType, message) {
    super(`${errorType}: ${message}`);
    this.errorType = errorType;
    this.errorMessage = message;
  }
  get retrySameKey() {
    return RETRY_SAME_KEY.has(this.errorType);
  }
  get tryOtherRegion() {
    return TRY_OTHER_REGION.has(this.errorType);
  }
  get callersFault() {
    return CALLERS_FAULT.has(this.errorType);
  }
  /** The pause before a retry with the same key, in ms. */
  retryAfterMs() {
    const wait = /retry after (\d+) s/.exec(this.errorMessage);
    if (this.errorType === "RateLimited" && wait) return Number(wait[1]) * 1000;
    return this.errorType === "ProviderThrottled" ? 60_000 : 1_000;
  }
}

function required(body, field, type) {
  if (typeof body[field] !== type) throw new TypeError(`not a CallOutcome (${field}): ${JSON.stringify(body)}`);
  return body[field];
}

/** The fields of a CallOutcome this client relies on, read by name: a renamed field throws here. */
export function parseOutcome(body) {
  return {
    sessionId: body.sessionId,
    status: required(body, "status", "string"),
    final: required(body, "final", "boolean"),
    version: required(body, "version", "number"),
    decidedBy: required(body, "decidedBy", "string"),
    answered: required(body, "answered", "boolean"),
  };
}

/** Greater is newer: keep the outcome with the greatest (final, version). */
export function newer(a, b) {
  return a.final !== b.final ? a.final : a.version > b.version;
}

// Function errors are answers (HTTP 200), never retried by the SDK; its retries are for throttles and faults.
export function lambdaClient(region) {
  return new LambdaClient({ region, maxAttempts: 3 });
}

const fn = (variable, fallback) => process.env[variable] ?? fallback;

/** One synchronous invoke: the answer, or a thrown FunctionError. */
export async function invoke(client, functionName, event) {
  const answer = await client.send(
    new InvokeCommand({ FunctionName: functionName, InvocationType: "RequestResponse", Payload: JSON.stringify(event) }),
  );
  const body = JSON.parse(new TextDecoder().decode(answer.Payload ?? new Uint8Array()) || "null");
  if (answer.FunctionError) throw new FunctionError(body.errorType, body.errorMessage ?? "");
  return body;
}

/** The pause before retrying with the same key, in ms, or undefined: not safe, attempts spent, or too long. */
export function pauseBeforeRetry(error, attempt, attempts, maxWaitMs) {
  if (!error.retrySameKey || attempt >= attempts) return undefined;
  const wait = error.retryAfterMs();
  return wait <= maxWaitMs ? wait : undefined;
}

/**
 * Starts a verification with a code the function makes (none given): {verificationId, sessionId, ...}. Retries
 * what is safe with the same key when the wait is at most maxWaitMs (a number's rate limit may ask for hours: tell
 * the user instead), then tries the other region's trigger for what Huawei did not take; throws FunctionError for
 * the rest (its getters say whose fault it is).
 */
export async function startVerification(client, callee, idempotencyKey, options = {}) {
  const { otherRegionClient, attempts = 3, maxWaitMs = 60_000 } = options;
  const sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const event = { calleeNbr: callee, idempotencyKey };
  const trigger = fn("TRIGGER_FUNCTION", "trigger-verification-call");
  for (let attempt = 1; ; attempt++) {
    try {
      return await invoke(client, trigger, event);
    } catch (error) {
      if (!(error instanceof FunctionError)) throw error;
      const pause = pauseBeforeRetry(error, attempt, attempts, maxWaitMs);
      if (pause !== undefined) {
        await sleep(pause);
        continue;
      }
      if (error.tryOtherRegion && otherRegionClient) return invoke(otherRegionClient, trigger, event);
      throw error;
    }
  }
}

/** How the call ended: get-call-outcome waits up to waitMs for the final outcome and answers the latest. */
export async function waitForOutcome(client, sessionId, waitMs = 20_000) {
  const body = await invoke(client, fn("OUTCOME_FUNCTION", "get-call-outcome"), { sessionId, waitForFinalMs: waitMs });
  return parseOutcome(body);
}

/** Whether the code the user typed approves the verification: status approved AND valid. */
export async function checkCode(client, verificationId, code) {
  const answer = await invoke(client, fn("CHECK_FUNCTION", "check-verification"), { verificationId, code });
  return answer.status === "approved" && answer.valid === true;
}

/** Per sessionId, the outcome with the greatest (final, version), whatever the order or repetition of events. */
export class OutcomeReducer {
  latest = new Map();
  add(envelope) {
    if (envelope["detail-type"] !== "Call Outcome Changed") return undefined;
    const outcome = parseOutcome(envelope.detail);
    const kept = this.latest.get(outcome.sessionId);
    if (!kept || newer(outcome, kept)) this.latest.set(outcome.sessionId, outcome);
    return outcome;
  }
}

/** Reads one batch of events from the app's queue into `reducer`, deleting what it has read; the envelopes. */
export async function readOutcomeEvents(sqs, queueUrl, reducer, waitSeconds = 1) {
  const answer = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }),
  );
  const envelopes = [];
  for (const message of answer.Messages ?? []) {
    const envelope = JSON.parse(message.Body);
    reducer.add(envelope);
    envelopes.push(envelope);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
  }
  return envelopes;
}

/** Prints the call's outcome events as they come, until its final one. */
async function followEvents(sqs, queueUrl, sessionId, seconds = 60) {
  const reducer = new OutcomeReducer();
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline && !reducer.latest.get(sessionId)?.final) {
    await readOutcomeEvents(sqs, queueUrl, reducer);
    const kept = reducer.latest.get(sessionId);
    if (kept) console.log(`  event: ${kept.status}, final ${kept.final}, version ${kept.version}`);
  }
}

async function main([callee, code]) {
  if (!callee) {
    console.error("usage: node voice-client.mjs <callee number, +E.164> [the code the user typed]");
    return 2;
  }
  const client = lambdaClient();
  let started;
  try {
    started = await startVerification(client, callee, `example-${Date.now()}`);
  } catch (error) {
    if (!(error instanceof FunctionError)) throw error;
    console.error(`not started: ${error.errorType} (${error.callersFault ? "fix the request" : "try again later"})`);
    return 1;
  }
  console.log(`verification ${started.verificationId}, call ${started.sessionId}`);
  if (process.env.OUTCOME_QUEUE_URL) await followEvents(new SQSClient({}), process.env.OUTCOME_QUEUE_URL, started.sessionId);
  const outcome = await waitForOutcome(client, started.sessionId);
  console.log(`the call: ${outcome.status}, final ${outcome.final}, decided by ${outcome.decidedBy}`);
  if (code) console.log((await checkCode(client, started.verificationId, code)) ? "approved" : "not approved");
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
