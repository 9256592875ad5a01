"""An app backend's client of the voice verification functions (docs/app-backend.md), with boto3.

Copy what you need. Endpoints and credentials come from the environment as for any boto3 program, so the same
code runs against AWS and against `make run` (AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_SQS); the function names
from TRIGGER_FUNCTION, CHECK_FUNCTION and OUTCOME_FUNCTION (in AWS, the stack outputs TriggerFunctionArn,
CheckVerificationFunctionArn and GetCallOutcomeFunctionArn).

    python voice_client.py +8613800000001 [code]   # start a verification, wait for its call, check a typed code

With OUTCOME_QUEUE_URL (the app's queue of outcome events) it also prints the call's events as they come.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

import boto3
from botocore.config import Config

# What to do about each errorType (docs/app-backend.md, "Errors and retries" and the tables it points to;
# docs/operations.md, "What happens when a region fails", for the other region).
RETRY_SAME_KEY = {
    "IdempotencyConflict",  # another invoke with the key is running: the retry replays its answer
    "RateLimited",  # after the `retry after N s` of the message
    "ProviderThrottled",  # after a minute
    "ProviderUnavailable",
    "StorageUnavailable",  # check-verification and get-call-outcome
}
# Huawei certainly did not take the call: the other region's trigger may (same key; the claim does not replicate
# in time to refuse it, which is why nothing else goes there).
TRY_OTHER_REGION = {"ProviderUnavailable", "ConfigurationError"}
CALLERS_FAULT = {"InvalidRequest", "NotFound", "ProviderRejected", "VerificationClosed", "Blocked"}
# The call may ring: never invoke again, follow the outcome by idempotency key.
FOLLOW_THE_OUTCOME = {"ProviderOutcomeUnknown"}


class FunctionError(Exception):
    """A function answered an error: Lambda's 200 with X-Amz-Function-Error and {errorType, errorMessage}."""

    def __init__(self, error_type: str, message: str):
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message

    @property
    def retry_same_key(self) -> bool:
        return self.error_type in RETRY_SAME_KEY

    @property
    def try_other_region(self) -> bool:
        return self.error_type in TRY_OTHER_REGION

    @property
    def callers_fault(self) -> bool:
        return self.error_type in CALLERS_FAULT

    def retry_after_s(self) -> float:
        """The pause before a retry with the same key."""
        if self.error_type == "RateLimited":
            words = self.message.split("retry after ", 1)
            if len(words) == 2 and words[1].split(" ")[0].isdigit():
                return float(words[1].split(" ")[0])
        return 60.0 if self.error_type == "ProviderThrottled" else 1.0


@dataclass(frozen=True)
class CallOutcome:
    """The fields of a CallOutcome this client relies on, read by name: a renamed field is an error here, not a
    silent None further on."""

    session_id: Optional[str]
    status: str
    final: bool
    version: int
    decided_by: str
    answered: bool

    @staticmethod
    def parse(body: dict) -> "CallOutcome":
        fields = (body["status"], body["final"], body["version"], body["decidedBy"], body["answered"])
        if not (isinstance(fields[0], str) and isinstance(fields[1], bool) and isinstance(fields[2], int)):
            raise ValueError(f"not a CallOutcome: {body}")
        return CallOutcome(body.get("sessionId"), *fields)

    def rank(self) -> tuple:
        """Greater is newer: keep the outcome with the greatest (final, version)."""
        return (self.final, self.version)


def lambda_client(region: Optional[str] = None):
    # Function errors are answers (HTTP 200), never retried by the SDK; its retries are for throttles and faults.
    retries = {"mode": "standard", "total_max_attempts": 3}
    return boto3.client("lambda", region_name=region, config=Config(retries=retries))


def function_name(variable: str, default: str) -> str:
    return os.environ.get(variable, default)


def invoke(client, function: str, event: dict) -> dict:
    """One synchronous invoke: the answer, or FunctionError."""
    answer = client.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event))
    body = json.loads(answer["Payload"].read() or b"null")
    if "FunctionError" in answer:
        raise FunctionError(body["errorType"], body.get("errorMessage", ""))
    return body


def pause_before_retry(error: FunctionError, attempt: int, attempts: int, max_wait_s: float) -> Optional[float]:
    """The pause before retrying with the same key, or None: not safe to retry, attempts spent, or too long a wait."""
    if not error.retry_same_key or attempt >= attempts:
        return None
    wait = error.retry_after_s()
    return wait if wait <= max_wait_s else None


def start_verification(client, callee: str, idempotency_key: str, other_region_client=None, attempts: int = 3,
                       max_wait_s: float = 60, sleep: Callable[[float], None] = time.sleep) -> dict:
    """Starts a verification with a code the function makes (none given): {verificationId, sessionId, ...}.

    Retries what is safe with the same key when the wait is at most max_wait_s (a number's rate limit may ask for
    hours: tell the user instead), then tries the other region's trigger for what Huawei did not take; raises
    FunctionError for the rest (its flags say whose fault it is)."""
    event = {"calleeNbr": callee, "idempotencyKey": idempotency_key}
    trigger = function_name("TRIGGER_FUNCTION", "trigger-verification-call")
    for attempt in range(1, attempts + 1):
        try:
            return invoke(client, trigger, event)
        except FunctionError as error:
            pause = pause_before_retry(error, attempt, attempts, max_wait_s)
            if pause is not None:
                sleep(pause)
                continue
            if error.try_other_region and other_region_client is not None:
                return invoke(other_region_client, trigger, event)
            raise
    raise AssertionError("unreachable")


def wait_for_outcome(client, session_id: str, wait_ms: int = 20000) -> CallOutcome:
    """How the call ended: get-call-outcome waits up to wait_ms for the final outcome and answers the latest."""
    body = invoke(client, function_name("OUTCOME_FUNCTION", "get-call-outcome"),
                  {"sessionId": session_id, "waitForFinalMs": wait_ms})
    return CallOutcome.parse(body)


def check_code(client, verification_id: str, code: str) -> bool:
    """Whether the code the user typed approves the verification: status approved AND valid."""
    answer = invoke(client, function_name("CHECK_FUNCTION", "check-verification"),
                    {"verificationId": verification_id, "code": code})
    return answer["status"] == "approved" and answer["valid"] is True


class OutcomeReducer:
    """Per sessionId, the outcome with the greatest (final, version): the right answer whatever the order or the
    repetition of the events (docs/app-backend.md, "Outcome events")."""

    def __init__(self):
        self.latest: dict[str, CallOutcome] = {}

    def add(self, envelope: dict) -> Optional[CallOutcome]:
        if envelope["detail-type"] != "Call Outcome Changed":
            return None
        outcome = CallOutcome.parse(envelope["detail"])
        kept = self.latest.get(outcome.session_id)
        if kept is None or outcome.rank() > kept.rank():
            self.latest[outcome.session_id] = outcome
        return outcome


def read_outcome_events(sqs, queue_url: str, reducer: OutcomeReducer, wait_s: int = 1) -> int:
    """Reads one batch of events from the app's queue into `reducer`, deleting what it has read; how many."""
    answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s)
    messages = answer.get("Messages", [])
    for message in messages:
        reducer.add(json.loads(message["Body"]))
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)


def follow_events(sqs, queue_url: str, session_id: str, seconds: float = 60) -> None:
    """Prints the call's outcome events as they come, until its final one."""
    reducer, deadline = OutcomeReducer(), time.monotonic() + seconds
    while time.monotonic() < deadline and not getattr(reducer.latest.get(session_id), "final", False):
        read_outcome_events(sqs, queue_url, reducer)
        kept = reducer.latest.get(session_id)
        if kept:
            print(f"  event: {kept.status}, final {kept.final}, version {kept.version}")


def main(callee: str, code: Optional[str]) -> int:
    client = lambda_client()
    key = f"example-{int(time.time())}"
    try:
        started = start_verification(client, callee, key)
    except FunctionError as error:
        whose = "fix the request" if error.callers_fault else "try again later"
        print(f"not started: {error.error_type} ({whose})", file=sys.stderr)
        return 1
    print(f"verification {started['verificationId']}, call {started['sessionId']}")
    if os.environ.get("OUTCOME_QUEUE_URL"):
        follow_events(boto3.client("sqs"), os.environ["OUTCOME_QUEUE_URL"], started["sessionId"])
    outcome = wait_for_outcome(client, started["sessionId"])
    print(f"the call: {outcome.status}, final {outcome.final}, decided by {outcome.decided_by}")
    if code:
        print("approved" if check_code(client, started["verificationId"], code) else "not approved")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print("usage: python voice_client.py <callee number, +E.164> [the code the user typed]", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None))
