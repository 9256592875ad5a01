"""The example client against a running stack (`make run`; tests/integration/tests/make_run.rs runs it).

Environment: the SDK's (AWS_DEFAULT_REGION, credentials, AWS_ENDPOINT_URL_LAMBDA = the stack's invoke front,
AWS_ENDPOINT_URL_SQS = moto), OUTCOME_QUEUE_URL or OUTCOME_QUEUE_NAME (the app's queue of outcome events) and
LOCAL_SIMULATOR_URL (the simulator's GET /sim/heard stands in for the user's ear).

    AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\
    AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:9300 AWS_ENDPOINT_URL_SQS=http://127.0.0.1:9200 \\
    OUTCOME_QUEUE_NAME=huawei-voice-outcomes LOCAL_SIMULATOR_URL=http://127.0.0.1:9100 \\
    .venv/bin/python -m unittest discover -s examples/python -v

Numbers: the range +8613700000xxx is this suite's (make run allows 3 calls a range an hour; the Node suite uses
+8613600000xxx), and a callee's last four digits pick the simulator's scenario (0408: Huawei holds the request).
"""

import json
import os
import random
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3

import voice_client as vc

ANSWERED = "+8613700000001"
HELD = "+8613700000408"
ABROAD = "+447700900124"


def key(name: str) -> str:
    return f"py-{name}-{uuid.uuid4()}"


def heard_code(session_id: str) -> str:
    url = os.environ["LOCAL_SIMULATOR_URL"] + "/sim/heard/" + urllib.parse.quote(session_id, safe="")
    for _ in range(100):
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.loads(answer.read())["verifyCode"]
        except urllib.error.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the phone heard no code")


class Sends:
    """Counts the HTTP requests a client sends (each SDK attempt is one)."""

    def __init__(self, client):
        self.count = 0
        client.meta.events.register("before-send.lambda.Invoke", self.sent)

    def sent(self, **_):
        self.count += 1


class ExampleClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = vc.lambda_client()
        cls.sqs = boto3.client("sqs")
        cls.queue_url = os.environ.get("OUTCOME_QUEUE_URL") or cls.sqs.get_queue_url(
            QueueName=os.environ["OUTCOME_QUEUE_NAME"])["QueueUrl"]

    def test_a_verification_end_to_end_and_its_events_reduced_to_the_greatest_final_version(self):
        started = vc.start_verification(self.client, ANSWERED, key("e2e"))
        session_id, verification_id = started["sessionId"], started["verificationId"]
        self.assertEqual((started["status"], started["replayed"]), ("requested", False))

        outcome = vc.wait_for_outcome(self.client, session_id)
        self.assertEqual((outcome.session_id, outcome.status, outcome.final, outcome.answered, outcome.decided_by),
                         (session_id, "completed", True, True, "cdr"))

        code = heard_code(session_id)
        wrong = "".join(str((int(d) + 1) % 10) for d in code)
        self.assertFalse(vc.check_code(self.client, verification_id, wrong))
        self.assertTrue(vc.check_code(self.client, verification_id, code))

        # The events of the call, as they come off the app's queue, reduced per sessionId.
        reducer, seen = vc.OutcomeReducer(), []
        add = reducer.add
        reducer.add = lambda envelope: seen.append(envelope) or add(envelope)
        deadline = time.monotonic() + 60
        while not (session_id in reducer.latest and reducer.latest[session_id].final):
            self.assertLess(time.monotonic(), deadline, f"no final event for the call: {seen}")
            vc.read_outcome_events(self.sqs, self.queue_url, reducer)
        kept = reducer.latest[session_id]
        self.assertEqual((kept.status, kept.final, kept.decided_by), ("completed", True, "cdr"))
        self.assertLessEqual(kept.version, outcome.version)
        ours = [e for e in seen if e["detail-type"] == "Call Outcome Changed" and e["detail"]["sessionId"] == session_id]
        self.assertGreaterEqual(len(ours), 2, "progress events before the final one")
        # Any order and any repetition of the same events reduce to the same outcome.
        shuffled = ours * 2
        random.shuffle(shuffled)
        again = vc.OutcomeReducer()
        for envelope in shuffled:
            again.add(envelope)
        self.assertEqual(again.latest[session_id], kept)

        # The same number again within a minute: RateLimited, with the wait in its message; longer than the
        # caller will wait (max_wait_s), so raised, not slept on.
        with self.assertRaises(vc.FunctionError) as raised:
            vc.start_verification(self.client, ANSWERED, key("again"), max_wait_s=0, sleep=self.fail)
        limited = raised.exception
        self.assertEqual((limited.error_type, limited.retry_same_key), ("RateLimited", True))
        self.assertIn(f"retry after {int(limited.retry_after_s())} s", limited.message)

    def test_invalid_request_is_a_function_error_in_one_http_attempt(self):
        sends = Sends(self.client)
        answer = self.client.invoke(FunctionName="trigger-verification-call",
                                    Payload=json.dumps({"calleeNbr": "0000", "idempotencyKey": key("bad")}))
        body = json.loads(answer["Payload"].read())
        self.assertEqual((answer["StatusCode"], answer.get("FunctionError")), (200, "Unhandled"))
        self.assertEqual(body["errorType"], "InvalidRequest")
        self.assertEqual((sends.count, answer["ResponseMetadata"]["RetryAttempts"]), (1, 0))
        # The example's own handling: the caller's fault, not retried.
        with self.assertRaises(vc.FunctionError) as raised:
            vc.start_verification(self.client, "0000", key("bad"), sleep=self.fail)
        self.assertEqual(raised.exception.error_type, "InvalidRequest")
        self.assertTrue(raised.exception.callers_fault)
        self.assertEqual(sends.count, 2)

    def test_an_unknown_session_is_not_found(self):
        with self.assertRaises(vc.FunctionError) as raised:
            vc.wait_for_outcome(self.client, f"1201_9_{uuid.uuid4().int % 10**9}_20260101000000@example", 0)
        self.assertEqual(raised.exception.error_type, "NotFound")
        self.assertTrue(raised.exception.callers_fault)

    def test_a_duplicate_while_the_first_is_in_progress_is_idempotency_conflict(self):
        # Huawei holds the first request (scenario 0408) past the trigger's 8 s timeout: the outcome is unknown.
        event, first = {"calleeNbr": HELD, "idempotencyKey": key("dup")}, {}

        def invoke_first():
            try:
                first["answer"] = vc.invoke(self.client, "trigger-verification-call", event)
            except vc.FunctionError as error:
                first["error"] = error

        thread = threading.Thread(target=invoke_first)
        thread.start()
        time.sleep(2)
        with self.assertRaises(vc.FunctionError) as raised:
            vc.invoke(self.client, "trigger-verification-call", event)
        thread.join(60)
        self.assertEqual(raised.exception.error_type, "IdempotencyConflict")
        self.assertTrue(raised.exception.retry_same_key)
        self.assertEqual(first["error"].error_type, "ProviderOutcomeUnknown", first)
        # Retried with the same key, as the table says: the unknown outcome again, never a second ring.
        with self.assertRaises(vc.FunctionError) as again:
            vc.start_verification(self.client, HELD, event["idempotencyKey"], sleep=self.fail)
        self.assertEqual(again.exception.error_type, "ProviderOutcomeUnknown")
        self.assertIn("ProviderOutcomeUnknown", vc.FOLLOW_THE_OUTCOME)

    def test_a_number_outside_the_allowed_countries_is_blocked(self):
        with self.assertRaises(vc.FunctionError) as raised:
            vc.start_verification(self.client, ABROAD, key("abroad"), sleep=self.fail)
        self.assertEqual(raised.exception.error_type, "Blocked")
        self.assertTrue(raised.exception.message.startswith("country_not_allowed:"), raised.exception.message)
        self.assertTrue(raised.exception.callers_fault)
        self.assertNotIn(ABROAD[1:], raised.exception.message)


class WithoutTheStack(unittest.TestCase):
    def test_keeps_the_greatest_final_then_version_whatever_the_order(self):
        def event(status, final, version):
            return {"detail-type": "Call Outcome Changed",
                    "detail": {"sessionId": "s", "status": status, "final": final, "version": version,
                               "answered": status != "busy", "decidedBy": "cdr" if final else "progress"}}

        reducer = vc.OutcomeReducer()
        for envelope in [event("busy", True, 3), event("calling", False, 4), event("busy", False, 2),
                         event("busy", True, 3), {"detail-type": "Verification Status Changed", "detail": {}}]:
            reducer.add(envelope)
        self.assertEqual((reducer.latest["s"].status, reducer.latest["s"].final), ("busy", True))

    def test_a_retry_waits_only_when_safe_and_short(self):
        day = vc.FunctionError("RateLimited", "too many calls to this number; retry after 86263 s")
        soon = vc.FunctionError("RateLimited", "too many calls to this number; retry after 9 s")
        self.assertEqual(vc.pause_before_retry(soon, 1, 3, 60), 9)
        self.assertIsNone(vc.pause_before_retry(day, 1, 3, 60), "a day is the user's to hear, not a sleep")
        self.assertIsNone(vc.pause_before_retry(soon, 3, 3, 60), "attempts spent")
        self.assertIsNone(vc.pause_before_retry(vc.FunctionError("InvalidRequest", "x"), 1, 3, 60))
        self.assertEqual(vc.pause_before_retry(vc.FunctionError("IdempotencyConflict", "x"), 1, 3, 60), 1)

    def test_a_renamed_field_is_an_error_not_a_none(self):
        with self.assertRaises(KeyError):
            vc.CallOutcome.parse({"status": "busy", "final": True, "version": 3, "decided_by": "cdr",
                                  "answered": False})


if __name__ == "__main__":
    unittest.main()
