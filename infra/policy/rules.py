"""The project's own policy rules for infra/template.yaml (see docs/deploy.md and infra/lint.sh).

Each rule takes a parsed template (cfn_yaml.load) and returns a list of violations (empty = compliant). The rules
encode the invariants of the design that generic scanners do not know: which function may do what on which
resource, the Huawei-facing routes, the storage guarantees, the logging and alarm coverage, the TLS policy.

Conventions the rules rely on:
* functions are AWS::Serverless::Function resources built by cargo-lambda; a function is identified by its
  binary name (Metadata.BuildProperties.Binary), not by its logical id;
* every function has an explicit AWS::IAM::Role (Role: !GetAtt <Role>.Arn), no SAM `Policies`, no managed policies;
* an IAM Resource may not contain "*". The only resource that resolves to a wildcard is !GetAtt <LogGroup>.Arn
  (CloudFormation returns the group ARN with a ":*" suffix, the canonical form covering the group's streams); it
  is accepted for logs:CreateLogStream / logs:PutLogEvents on the function's OWN log group only.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable, Iterator

CALLBACK_BINS = ("status-callback", "fee-callback", "sms-callback")
TRIGGER_BIN = "trigger-verification-call"
ALL_BINS = (*CALLBACK_BINS, TRIGGER_BIN)

EXPECTED_ROUTES = {
    ("POST", "/voice/status/{token}"): "status-callback",
    ("POST", "/voice/fee/{token}"): "fee-callback",
    ("POST", "/privacy-number/sms/{token}"): "sms-callback",
}

LOG_WRITE_ACTIONS = {"logs:createlogstream", "logs:putlogevents"}
CALLBACK_DYNAMODB_ACTIONS = {"dynamodb:putitem"}
TRIGGER_DYNAMODB_ACTIONS = {"dynamodb:putitem", "dynamodb:updateitem", "dynamodb:getitem", "dynamodb:deleteitem"}
SECRET_ACTIONS = {"secretsmanager:getsecretvalue"}

ENV_ALL = ("TABLE_NAME", "RECORD_TTL_DAYS", "VOICE_CREDENTIALS_SECRET_ID", "RUST_LOG")
ENV_CALLBACKS = ("SIGNATURE_MODE", "STORE_RETRY_BUDGET_MS")
ENV_TRIGGER = ("CALLBACK_BASE_URL", "VOICE_API_BASE_URL", "DISPLAY_NBR", "PRE_TONE", "LANGUAGE_TYPE")
# Credentials and tokens live in Secrets Manager only.
ENV_FORBIDDEN = ("CALLBACK_TOKENS", "VOICE_APP_KEY", "VOICE_APP_SECRET")

NO_VALUE = {"Ref": "AWS::NoValue"}

Rule = Callable[[dict], list[str]]
RULES: dict[str, Rule] = {}


def rule(func: Rule) -> Rule:
    RULES[func.__name__] = func
    return func


def check_all(template: dict) -> dict[str, list[str]]:
    """Every rule's violations, by rule name (rules with none are left out)."""
    found = {name: check(template) for name, check in RULES.items()}
    return {name: violations for name, violations in found.items() if violations}


# ------------------------------------------------------------------------------------------------- helpers
def resources(t: dict, *types: str) -> Iterator[tuple[str, dict]]:
    for logical_id, res in (t.get("Resources") or {}).items():
        if isinstance(res, dict) and (not types or res.get("Type") in types):
            yield logical_id, res


def props(res: dict) -> dict:
    return res.get("Properties") or {}


def as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def strings_in(value: Any) -> Iterator[str]:
    """Every literal string inside a value, intrinsic functions included (both branches of Fn::If)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


def if_branches(value: Any) -> list:
    """The possible values of a (possibly nested) Fn::If, AWS::NoValue dropped."""
    if isinstance(value, dict) and set(value) == {"Fn::If"} and isinstance(value["Fn::If"], list):
        _, yes, no = value["Fn::If"]
        return if_branches(yes) + if_branches(no)
    return [] if value == NO_VALUE else [value]


def ref_of(value: Any) -> str | None:
    return value.get("Ref") if isinstance(value, dict) and set(value) == {"Ref"} else None


def getatt_of(value: Any) -> tuple[str, str] | None:
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        if isinstance(target, list) and len(target) == 2:
            return target[0], target[1]
        if isinstance(target, str):
            resource, _, attribute = target.partition(".")
            return resource, attribute
    return None


def sub_text(value: Any) -> str | None:
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        body = value["Fn::Sub"]
        if isinstance(body, str):
            return body
        if isinstance(body, list) and body and isinstance(body[0], str):
            return body[0]
    return None


def resource_type(t: dict, logical_id: str | None) -> str | None:
    res = (t.get("Resources") or {}).get(logical_id or "")
    return res.get("Type") if isinstance(res, dict) else None


def globals_function(t: dict) -> dict:
    return ((t.get("Globals") or {}).get("Function")) or {}


def effective(t: dict, res: dict, key: str) -> Any:
    """A function property, falling back to Globals.Function like SAM does."""
    p = props(res)
    return p[key] if key in p else globals_function(t).get(key)


def environment(t: dict, res: dict) -> dict:
    merged = dict(((globals_function(t).get("Environment") or {}).get("Variables")) or {})
    merged.update(((props(res).get("Environment") or {}).get("Variables")) or {})
    return merged


def functions(t: dict) -> dict[str, tuple[str, dict]]:
    """Binary name -> (logical id, resource) of every SAM function."""
    out = {}
    for logical_id, res in resources(t, "AWS::Serverless::Function"):
        binary = (((res.get("Metadata") or {}).get("BuildProperties")) or {}).get("Binary")
        out[binary or f"<no binary: {logical_id}>"] = (logical_id, res)
    return out


def role_of(t: dict, res: dict) -> tuple[str, dict] | None:
    target = getatt_of(props(res).get("Role"))
    if not target or target[1] != "Arn" or resource_type(t, target[0]) != "AWS::IAM::Role":
        return None
    return target[0], t["Resources"][target[0]]


def statements_of_document(document: Any) -> list[dict]:
    if not isinstance(document, dict):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def role_statements(role: dict) -> list[dict]:
    out = []
    for policy in as_list(props(role).get("Policies")):
        if isinstance(policy, dict):
            out += statements_of_document(policy.get("PolicyDocument"))
    return out


def all_policy_statements(t: dict) -> Iterator[tuple[str, dict]]:
    """(where, statement) of every identity policy statement in the template."""
    for logical_id, res in resources(t, "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
        for s in role_statements(res):
            yield logical_id, s
    for logical_id, res in resources(t, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        for s in statements_of_document(props(res).get("PolicyDocument")):
            yield logical_id, s
    for logical_id, res in resources(t, "AWS::Serverless::Function"):
        for policy in as_list(props(res).get("Policies")):
            for s in statements_of_document(policy):
                yield logical_id, s


def actions(statement: dict) -> list[str]:
    return [a for a in as_list(statement.get("Action")) if isinstance(a, str)]


def table_resource(t: dict) -> tuple[str, dict] | None:
    tables = list(resources(t, "AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"))
    return tables[0] if len(tables) == 1 else None


def table_name_param(t: dict) -> str | None:
    table = table_resource(t)
    return ref_of(props(table[1]).get("TableName")) if table else None


TABLE_ARN_SUB = re.compile(r"^arn:\$\{AWS::Partition\}:dynamodb:\$\{AWS::Region\}:\$\{AWS::AccountId\}:table/\$\{(\w+)\}$")
SECRET_ARN_SUB = re.compile(
    r"^arn:\$\{AWS::Partition\}:secretsmanager:\$\{AWS::Region\}:\$\{AWS::AccountId\}:secret:\$\{(\w+)\}$"
)


def is_table_arn(t: dict, value: Any) -> bool:
    """This stack's table (replica) ARN: GetAtt <table>.Arn, or the ARN built from the table name parameter."""
    target = getatt_of(value)
    if target:
        return target[1] == "Arn" and resource_type(t, target[0]) in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table")
    text = sub_text(value)
    match = TABLE_ARN_SUB.match(text or "")
    return bool(match) and match.group(1) == table_name_param(t)


def is_secret_arn(t: dict, value: Any) -> bool:
    """The credentials secret: Ref to the secret, or (secondary region) its replica ARN; both branches of an If."""
    branches = if_branches(value)
    if not branches:
        return False
    for branch in branches:
        if resource_type(t, ref_of(branch)) == "AWS::SecretsManager::Secret":
            continue
        text = sub_text(branch)
        if not text or not SECRET_ARN_SUB.match(text) or any("*" in s for s in strings_in(branch)):
            return False
    return True


def parameter(t: dict, name: str | None) -> dict | None:
    return (t.get("Parameters") or {}).get(name or "")


# ------------------------------------------------------------------------------------------------- IAM rules
@rule
def iam_no_wildcard_resources(t: dict) -> list[str]:
    """No "*" anywhere in an IAM Resource, no NotResource; GetAtt <LogGroup>.Arn only for log writes to it."""
    out = []
    for where, s in all_policy_statements(t):
        if "NotResource" in s:
            out.append(f"{where}: NotResource is not allowed")
        statement_actions = {a.lower() for a in actions(s)}
        for item in as_list(s.get("Resource")):
            if any("*" in text for text in strings_in(item)):
                out.append(f"{where}: wildcard in Resource {item!r}")
            target = getatt_of(item)
            if target and resource_type(t, target[0]) == "AWS::Logs::LogGroup" and not statement_actions <= LOG_WRITE_ACTIONS:
                out.append(f"{where}: log group ARN (ends in ':*') used for non-log actions {sorted(statement_actions)}")
        if not as_list(s.get("Resource")) and "NotResource" not in s:
            out.append(f"{where}: statement without Resource")
    return out


@rule
def iam_no_wildcard_actions(t: dict) -> list[str]:
    """No "*" in any Action ("*", "dynamodb:*", "s3:Get*"), no NotAction."""
    out = []
    for where, s in all_policy_statements(t):
        if "NotAction" in s:
            out.append(f"{where}: NotAction is not allowed")
        for action in as_list(s.get("Action")):
            if not isinstance(action, str) or "*" in action:
                out.append(f"{where}: wildcard or non-literal Action {action!r}")
    return out


@rule
def iam_explicit_function_roles(t: dict) -> list[str]:
    """Each function has its own explicit role, with inline policies only (no SAM Policies, no managed policies)."""
    out = []
    seen: dict[str, str] = {}
    if "Policies" in globals_function(t) or "Role" in globals_function(t):
        out.append("Globals.Function must not set Policies or Role")
    for binary, (logical_id, res) in functions(t).items():
        if "Policies" in props(res):
            out.append(f"{binary}: uses SAM Policies; give it an explicit least-privilege Role instead")
        role = role_of(t, res)
        if not role:
            out.append(f"{binary}: Role must be !GetAtt <an AWS::IAM::Role of this template>.Arn")
            continue
        role_id, role_res = role
        if role_id in seen:
            out.append(f"{binary}: shares role {role_id} with {seen[role_id]}")
        seen[role_id] = binary
        if props(role_res).get("ManagedPolicyArns"):
            out.append(f"{binary}: role {role_id} has managed policies (AWSLambdaBasicExecutionRole uses Resource '*')")
        principals = [
            stmt.get("Principal")
            for stmt in statements_of_document(props(role_res).get("AssumeRolePolicyDocument"))
        ]
        if principals != [{"Service": "lambda.amazonaws.com"}]:
            out.append(f"{binary}: role {role_id} must be assumable by lambda.amazonaws.com only, got {principals}")
    return out


def _function_permissions(t: dict, binary: str, allowed_dynamodb: set[str]) -> list[str]:
    entry = functions(t).get(binary)
    if not entry:
        return [f"{binary}: function missing"]
    _, res = entry
    role = role_of(t, res)
    if not role:
        return [f"{binary}: no explicit role"]
    role_id, role_res = role
    own_log_group = ref_of((props(res).get("LoggingConfig") or {}).get("LogGroup"))
    out = []
    granted: set[str] = set()
    for s in role_statements(role_res):
        if s.get("Effect") != "Allow":
            continue
        statement_actions = {a.lower() for a in actions(s)}
        granted |= statement_actions
        items = as_list(s.get("Resource"))
        for action in sorted(statement_actions):
            service = action.split(":", 1)[0]
            if action in LOG_WRITE_ACTIONS:
                ok = all(getatt_of(i) == (own_log_group, "Arn") for i in items)
                want = f"its own log group ({own_log_group})"
            elif service == "dynamodb":
                ok = action in allowed_dynamodb and all(is_table_arn(t, i) for i in items)
                want = f"only {sorted(allowed_dynamodb)} on this stack's table ARN"
            elif action in SECRET_ACTIONS:
                ok = all(is_secret_arn(t, i) for i in items)
                want = "the credentials secret only"
            else:
                ok, want = False, "nothing else"
            if not ok or not items:
                out.append(f"{binary} ({role_id}): {action} on {items!r}; allowed: {want}")
    missing = (allowed_dynamodb | SECRET_ACTIONS | LOG_WRITE_ACTIONS) - granted
    if missing:
        out.append(f"{binary} ({role_id}): missing {sorted(missing)}")
    return out


@rule
def iam_callbacks_put_only(t: dict) -> list[str]:
    """Callbacks: dynamodb:PutItem on the table, GetSecretValue on the secret, log writes to their group; nothing else."""
    return [v for binary in CALLBACK_BINS for v in _function_permissions(t, binary, CALLBACK_DYNAMODB_ACTIONS)]


@rule
def iam_trigger_permissions(t: dict) -> list[str]:
    """Trigger: PutItem (claim, rate log, call), UpdateItem (completion), GetItem (rate log), DeleteItem (release a
    key when no call was placed) on the table, GetSecretValue on the secret, its log group."""
    return _function_permissions(t, TRIGGER_BIN, TRIGGER_DYNAMODB_ACTIONS)


@rule
def trigger_invoke_permission(t: dict) -> list[str]:
    """Only the app backend role may invoke the trigger; no public Lambda permission anywhere."""
    out = []
    trigger = functions(t).get(TRIGGER_BIN)
    found = False
    for logical_id, res in resources(t, "AWS::Lambda::Permission"):
        p = props(res)
        if p.get("Principal") == "*" or any(s == "*" for s in strings_in(p.get("Principal"))):
            out.append(f"{logical_id}: public principal")
        target = getatt_of(p.get("FunctionName")) or (ref_of(p.get("FunctionName")), "Ref")
        if trigger and target[0] == trigger[0]:
            found = True
            if ref_of(p.get("Principal")) != "AppBackendRoleArn" or p.get("Action") != "lambda:InvokeFunction":
                out.append(f"{logical_id}: trigger invoke permission must be lambda:InvokeFunction for AppBackendRoleArn")
    if not found:
        out.append("no AWS::Lambda::Permission lets AppBackendRoleArn invoke the trigger")
    return out


# ------------------------------------------------------------------------------------------------- functions
@rule
def functions_runtime_and_build(t: dict) -> list[str]:
    """Every function: arm64, provided.al2023, bootstrap, Zip, CodeUri ../ (the workspace), cargo-lambda binary."""
    out = []
    for logical_id, _ in resources(t, "AWS::Lambda::Function"):
        out.append(f"{logical_id}: plain AWS::Lambda::Function; use AWS::Serverless::Function built by cargo-lambda")
    fns = functions(t)
    if sorted(fns) != sorted(ALL_BINS):
        out.append(f"function binaries {sorted(fns)} != expected {sorted(ALL_BINS)}")
    for binary, (logical_id, res) in fns.items():
        expect = {
            "Architectures": ["arm64"],
            "Runtime": "provided.al2023",
            "Handler": "bootstrap",
            "PackageType": "Zip",
            # Relative to infra/template.yaml: the cargo workspace root (a member crate path breaks sam build).
            "CodeUri": "../",
        }
        for key, want in expect.items():
            got = effective(t, res, key)
            if got != want:
                out.append(f"{binary} ({logical_id}): {key} = {got!r}, expected {want!r}")
        if (res.get("Metadata") or {}).get("BuildMethod") != "rust-cargolambda":
            out.append(f"{binary} ({logical_id}): Metadata.BuildMethod must be rust-cargolambda")
    return out


@rule
def functions_timeouts_and_memory(t: dict) -> list[str]:
    """Callbacks answer within a few seconds (timeout 6-10 s, above the DynamoDB retry budget); trigger 11-30 s."""
    out = []
    budget = parameter(t, "StoreRetryBudgetMs") or {}
    budget_max_ms = int(budget.get("MaxValue", budget.get("Default", 3000)))
    for binary, (logical_id, res) in functions(t).items():
        timeout, memory = effective(t, res, "Timeout"), effective(t, res, "MemorySize")
        if not isinstance(memory, int) or not 128 <= memory <= 1024:
            out.append(f"{binary}: MemorySize {memory!r} outside 128-1024")
        if binary in CALLBACK_BINS:
            if not isinstance(timeout, int) or not 6 <= timeout <= 10:
                out.append(f"{binary}: Timeout {timeout!r} outside 6-10 s")
            elif timeout * 1000 < budget_max_ms + 3000:
                out.append(f"{binary}: Timeout {timeout}s leaves < 3 s over the max retry budget {budget_max_ms} ms")
        elif binary == TRIGGER_BIN and (not isinstance(timeout, int) or not 11 <= timeout <= 30):
            out.append(f"{binary}: Timeout {timeout!r} outside 11-30 s (Huawei HTTP timeouts are <= 10 s)")
    return out


@rule
def functions_logging(t: dict) -> list[str]:
    """LogFormat JSON into the function's own log group of this template (which has a retention)."""
    out = []
    used: dict[str, str] = {}
    for binary, (logical_id, res) in functions(t).items():
        cfg = effective(t, res, "LoggingConfig") or {}
        if cfg.get("LogFormat") != "JSON":
            out.append(f"{binary}: LoggingConfig.LogFormat must be JSON")
        group = ref_of(cfg.get("LogGroup"))
        if resource_type(t, group) != "AWS::Logs::LogGroup":
            out.append(f"{binary}: LoggingConfig.LogGroup must !Ref an AWS::Logs::LogGroup of this template")
        elif group in used:
            out.append(f"{binary}: log group {group} shared with {used[group]}")
        else:
            used[group] = binary
    return out


@rule
def functions_environment(t: dict) -> list[str]:
    """The environment the Rust code reads; credentials and tokens only via the secret."""
    out = []
    table_param = table_name_param(t)
    for binary, (logical_id, res) in functions(t).items():
        env = environment(t, res)
        required = ENV_ALL + (ENV_CALLBACKS if binary in CALLBACK_BINS else ()) + (ENV_TRIGGER if binary == TRIGGER_BIN else ())
        for name in required:
            if name not in env:
                out.append(f"{binary}: environment lacks {name}")
        for name in ENV_FORBIDDEN:
            if name in env:
                out.append(f"{binary}: {name} must not be in the environment (it belongs in the secret)")
        if "TABLE_NAME" in env and ref_of(env["TABLE_NAME"]) not in (table_param, (table_resource(t) or ("",))[0]):
            out.append(f"{binary}: TABLE_NAME must reference the table name ({table_param})")
        if "VOICE_CREDENTIALS_SECRET_ID" in env and not is_secret_arn(t, env["VOICE_CREDENTIALS_SECRET_ID"]):
            out.append(f"{binary}: VOICE_CREDENTIALS_SECRET_ID must be the credentials secret's ARN")
        if env.get("RUST_LOG", "info") != "info":
            out.append(f"{binary}: RUST_LOG should be info")
    mode = parameter(t, "SignatureMode") or {}
    if mode.get("Default") != "log" or sorted(mode.get("AllowedValues") or []) != ["enforce", "log", "off"]:
        out.append("parameter SignatureMode: Default log, AllowedValues off|log|enforce")
    return out


@rule
def routes(t: dict) -> list[str]:
    """The three Huawei callback routes (POST, {token} path parameter) and nothing else from functions."""
    out = []
    found: dict[tuple[str, str], str] = {}
    for binary, (logical_id, res) in functions(t).items():
        if "FunctionUrlConfig" in props(res):
            out.append(f"{binary}: no function URLs (the API carries throttling and access logs)")
        for name, event in (props(res).get("Events") or {}).items():
            kind = event.get("Type")
            if binary == TRIGGER_BIN:
                out.append(f"{binary}: event {name} ({kind}); the trigger is invoked with the Lambda Invoke API only")
                continue
            if kind != "HttpApi":
                out.append(f"{binary}: event {name} has type {kind}, expected HttpApi")
                continue
            ep = event.get("Properties") or {}
            if resource_type(t, ref_of(ep.get("ApiId"))) != "AWS::Serverless::HttpApi":
                out.append(f"{binary}: event {name} must reference the template's HttpApi")
            found[(str(ep.get("Method", "")).upper(), ep.get("Path"))] = binary
    if found != EXPECTED_ROUTES:
        out.append(f"routes {found} != expected {EXPECTED_ROUTES}")
    return out


# ------------------------------------------------------------------------------------------------- storage
@rule
def table_guarantees(t: dict) -> list[str]:
    """pk/sk strings, on-demand, TTL expiresAt, SSE KMS, PITR + deletion protection on every replica, Retain."""
    table = table_resource(t)
    if not table:
        return ["exactly one DynamoDB table (AWS::DynamoDB::GlobalTable) expected"]
    logical_id, res = table
    p = props(res)
    out = []
    if res.get("DeletionPolicy") != "Retain" or res.get("UpdateReplacePolicy") != "Retain":
        out.append(f"{logical_id}: DeletionPolicy and UpdateReplacePolicy must be Retain")
    keys = {k.get("AttributeName"): k.get("KeyType") for k in as_list(p.get("KeySchema"))}
    if keys != {"pk": "HASH", "sk": "RANGE"}:
        out.append(f"{logical_id}: KeySchema {keys} != pk HASH, sk RANGE")
    types = {a.get("AttributeName"): a.get("AttributeType") for a in as_list(p.get("AttributeDefinitions"))}
    if types.get("pk") != "S" or types.get("sk") != "S":
        out.append(f"{logical_id}: pk and sk must be strings (S)")
    if p.get("BillingMode") != "PAY_PER_REQUEST":
        out.append(f"{logical_id}: BillingMode must be PAY_PER_REQUEST")
    ttl = p.get("TimeToLiveSpecification") or {}
    if ttl.get("AttributeName") != "expiresAt" or ttl.get("Enabled") is not True:
        out.append(f"{logical_id}: TTL must be enabled on expiresAt")
    sse = p.get("SSESpecification") or {}
    if sse.get("SSEEnabled") is not True or sse.get("SSEType") != "KMS":
        out.append(f"{logical_id}: SSESpecification must be SSEEnabled true, SSEType KMS")
    if res.get("Type") == "AWS::DynamoDB::GlobalTable":
        replicas = [r for item in as_list(p.get("Replicas")) for r in if_branches(item)]
        if not any(ref_of(r.get("Region")) == "AWS::Region" for r in replicas if isinstance(r, dict)):
            out.append(f"{logical_id}: the deploying region (AWS::Region) must be a replica")
        settings = replicas
    else:
        settings = [p]
    for r in settings:
        where = f"{logical_id} replica {r.get('Region')!r}" if r is not p else logical_id
        if (r.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is not True:
            out.append(f"{where}: point-in-time recovery must be enabled")
        if r.get("DeletionProtectionEnabled") is not True:
            out.append(f"{where}: deletion protection must be enabled")
    return out


@rule
def secret_shape(t: dict) -> list[str]:
    """The secret holds appKey/appSecret placeholders and a generated callbackTokens (URL-safe characters)."""
    secrets = list(resources(t, "AWS::SecretsManager::Secret"))
    if len(secrets) != 1:
        return [f"expected one AWS::SecretsManager::Secret, found {len(secrets)}"]
    logical_id, res = secrets[0]
    p = props(res)
    out = []
    if "SecretString" in p:
        out.append(f"{logical_id}: no literal SecretString in the template")
    gen = p.get("GenerateSecretString") or {}
    try:
        template_keys = set(json.loads(gen.get("SecretStringTemplate", "")))
    except (TypeError, ValueError):
        template_keys = set()
    if not {"appKey", "appSecret"} <= template_keys or gen.get("GenerateStringKey") != "callbackTokens":
        out.append(f"{logical_id}: GenerateSecretString must template appKey/appSecret and generate callbackTokens")
    if gen.get("ExcludePunctuation") is not True or int(gen.get("PasswordLength", 0)) < 20:
        out.append(f"{logical_id}: callback token: >= 20 characters, letters and digits only (Huawei URL rules)")
    return out


# ------------------------------------------------------------------------------------------------- logs & API
@rule
def log_groups_retention(t: dict) -> list[str]:
    """Every log group has a retention (Ref to a parameter or a number)."""
    return [
        f"{logical_id}: RetentionInDays missing"
        for logical_id, res in resources(t, "AWS::Logs::LogGroup")
        if props(res).get("RetentionInDays") is None
    ]


PATH_IN_LOG = re.compile(r"path", re.IGNORECASE)


def _access_log_problems(t: dict, where: str, settings: Any) -> list[str]:
    if not isinstance(settings, dict):
        return [f"{where}: access logs must be enabled (AccessLogSettings)"]
    out = []
    target = getatt_of(settings.get("DestinationArn"))
    if not target or resource_type(t, target[0]) != "AWS::Logs::LogGroup":
        out.append(f"{where}: access log destination must be a log group of this template")
    fmt = settings.get("Format")
    try:
        fields = json.loads(fmt) if isinstance(fmt, str) else None
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        return out + [f"{where}: access log Format must be a JSON object"]
    for key in ("requestId", "status", "routeKey"):
        if key not in fields:
            out.append(f"{where}: access log lacks {key}")
    leaking = [f"{k}={v}" for k, v in fields.items() if PATH_IN_LOG.search(str(v))]
    if leaking:
        out.append(f"{where}: access log must not record the request path (it carries the token): {leaking}")
    return out


@rule
def api_throttling_and_access_logs(t: dict) -> list[str]:
    """Every HTTP API: default-route throttling and JSON access logs without the (token-bearing) path."""
    out = []
    apis = list(resources(t, "AWS::Serverless::HttpApi"))
    if not apis:
        out.append("no AWS::Serverless::HttpApi")
    for logical_id, res in apis:
        p = props(res)
        route = p.get("DefaultRouteSettings") or {}
        if route.get("ThrottlingBurstLimit") is None or route.get("ThrottlingRateLimit") is None:
            out.append(f"{logical_id}: DefaultRouteSettings needs ThrottlingBurstLimit and ThrottlingRateLimit")
        out += _access_log_problems(t, logical_id, p.get("AccessLogSettings"))
    for logical_id, res in resources(t, "AWS::ApiGatewayV2::Stage"):
        p = props(res)
        route = p.get("DefaultRouteSettings") or {}
        if route.get("ThrottlingBurstLimit") is None or route.get("ThrottlingRateLimit") is None:
            out.append(f"{logical_id}: DefaultRouteSettings needs throttling")
        out += _access_log_problems(t, logical_id, p.get("AccessLogSettings"))
    # SAM writes the routes into the API's OpenAPI body; a later update re-imports the body and deletes any route
    # declared beside it. Extra routes belong in DefinitionBody.
    for logical_id, _ in resources(t, "AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::Integration"):
        out.append(f"{logical_id}: declare extra routes in the HttpApi DefinitionBody, not as separate resources")
    return out


@rule
def health_check_path(t: dict) -> list[str]:
    """Each HTTPS health check targets a GET route of the API body that is not a Lambda (answers 200 to GET)."""
    out = []
    body_paths: dict = {}
    for _, res in resources(t, "AWS::Serverless::HttpApi"):
        body_paths.update(((props(res).get("DefinitionBody") or {}).get("paths")) or {})
    for logical_id, res in resources(t, "AWS::Route53::HealthCheck"):
        cfg = props(res).get("HealthCheckConfig") or {}
        if not str(cfg.get("Type", "")).startswith("HTTP"):
            continue
        if not str(cfg.get("Type")).startswith("HTTPS"):
            out.append(f"{logical_id}: health check must use HTTPS")
        get = (body_paths.get(cfg.get("ResourcePath")) or {}).get("get") or {}
        integration = get.get("x-amazon-apigateway-integration") or {}
        if integration.get("type") != "http_proxy":
            out.append(f"{logical_id}: ResourcePath {cfg.get('ResourcePath')!r} is not a GET http_proxy route of the API")
        if "execute-api" not in (sub_text(cfg.get("FullyQualifiedDomainName")) or ""):
            out.append(f"{logical_id}: target this region's execute-api host, not the shared (latency-routed) domain")
    return out


@rule
def custom_domain(t: dict) -> list[str]:
    """Custom domains: regional, TLS_1_2, mapped to the API, latency record per region with a health check."""
    out = []
    domains = [logical_id for logical_id, _ in resources(t, "AWS::ApiGatewayV2::DomainName")]
    for logical_id, res in resources(t, "AWS::ApiGatewayV2::DomainName"):
        for cfg in as_list(props(res).get("DomainNameConfigurations")):
            if cfg.get("SecurityPolicy") != "TLS_1_2":
                out.append(f"{logical_id}: SecurityPolicy must be TLS_1_2")
            if cfg.get("EndpointType") != "REGIONAL":
                out.append(f"{logical_id}: EndpointType must be REGIONAL")
    for logical_id, res in resources(t, "AWS::ApiGateway::DomainName"):
        if props(res).get("SecurityPolicy") != "TLS_1_2":
            out.append(f"{logical_id}: SecurityPolicy must be TLS_1_2")
    for domain in domains:
        mapped = [m for m, r in resources(t, "AWS::ApiGatewayV2::ApiMapping") if ref_of(props(r).get("DomainName")) == domain]
        if not mapped:
            out.append(f"{domain}: no ApiMapping")
        records = [
            (r_id, props(r))
            for r_id, r in resources(t, "AWS::Route53::RecordSet")
            if (getatt_of((props(r).get("AliasTarget") or {}).get("DNSName")) or ("",))[0] == domain
        ]
        if not records:
            out.append(f"{domain}: no Route 53 alias record")
        for r_id, p in records:
            if ref_of(p.get("SetIdentifier")) != "AWS::Region" or ref_of(p.get("Region")) != "AWS::Region":
                out.append(f"{r_id}: latency record needs SetIdentifier and Region = AWS::Region")
            if resource_type(t, ref_of(p.get("HealthCheckId"))) != "AWS::Route53::HealthCheck":
                out.append(f"{r_id}: needs this region's HealthCheckId")
    return out


# ------------------------------------------------------------------------------------------------- alarms
def _alarm_metrics(res: dict) -> Iterator[tuple[str, str, dict]]:
    p = props(res)
    if p.get("MetricName"):
        dims = {d.get("Name"): d.get("Value") for d in as_list(p.get("Dimensions"))}
        yield p.get("Namespace"), p.get("MetricName"), dims
    for query in as_list(p.get("Metrics")):
        metric = ((query.get("MetricStat") or {}).get("Metric")) or {}
        if metric:
            dims = {d.get("Name"): d.get("Value") for d in as_list(metric.get("Dimensions"))}
            yield metric.get("Namespace"), metric.get("MetricName"), dims


@rule
def alarms(t: dict) -> list[str]:
    """Alarms go to AlarmTopicArn and cover API 5xx, 401 spikes, Lambda Errors/Throttles, DynamoDB throttles/errors."""
    out = []
    metrics: list[tuple[str, str, dict]] = []
    for logical_id, res in resources(t, "AWS::CloudWatch::Alarm"):
        if {"Ref": "AlarmTopicArn"} not in as_list(props(res).get("AlarmActions")):
            out.append(f"{logical_id}: AlarmActions must include !Ref AlarmTopicArn")
        metrics += list(_alarm_metrics(res))

    def covered(namespace: str, name: str, **dims: Any) -> bool:
        return any(
            ns == namespace and mn == name and all(d.get(k) == v for k, v in dims.items()) for ns, mn, d in metrics
        )

    apis = [logical_id for logical_id, _ in resources(t, "AWS::Serverless::HttpApi")]
    for api in apis:
        if not covered("AWS/ApiGateway", "5xx", ApiId={"Ref": api}):
            out.append(f"{api}: no 5xx alarm")
    filters = [
        props(r) for _, r in resources(t, "AWS::Logs::MetricFilter") if "401" in str(props(r).get("FilterPattern"))
    ]
    unauthorized = [
        (m.get("MetricNamespace"), m.get("MetricName")) for f in filters for m in as_list(f.get("MetricTransformations"))
    ]
    if not unauthorized or not any(
        ns == want_ns and mn == want_mn for ns, mn, _ in metrics for want_ns, want_mn in unauthorized
    ):
        out.append("no alarm on a 401 metric filter of the access log")
    for binary, (logical_id, _) in functions(t).items():
        for metric in ("Errors", "Throttles"):
            if not covered("AWS/Lambda", metric, FunctionName={"Ref": logical_id}):
                out.append(f"{binary}: no Lambda {metric} alarm")
    names = {mn for ns, mn, _ in metrics if ns == "AWS/DynamoDB"}
    if not names & {"ThrottledRequests", "WriteThrottleEvents", "ReadThrottleEvents"}:
        out.append("no DynamoDB throttling alarm")
    if "SystemErrors" not in names:
        out.append("no DynamoDB SystemErrors alarm")
    return out


# ------------------------------------------------------------------------------------------------- meta
@rule
def scanner_skips_justified(t: dict) -> list[str]:
    """Every checkov skip names a check and says why (comment of at least 20 characters)."""
    out = []
    for logical_id, res in resources(t):
        for skip in as_list(((res.get("Metadata") or {}).get("checkov") or {}).get("skip")):
            if not re.fullmatch(r"CKV2?_AWS_\d+", str(skip.get("id", ""))):
                out.append(f"{logical_id}: checkov skip without a valid id: {skip!r}")
            if len(str(skip.get("comment", "")).strip()) < 20:
                out.append(f"{logical_id}: checkov skip {skip.get('id')} needs a justification comment")
    return out


@rule
def outputs(t: dict) -> list[str]:
    """Callback URLs with a <token> placeholder, trigger ARN, table name and secret ARN are outputs."""
    o = t.get("Outputs") or {}
    out = [f"output {name} missing" for name in (
        "StatusCallbackUrl", "FeeCallbackUrl", "SmsCallbackUrl", "TriggerFunctionArn", "TableName",
        "VoiceCredentialsSecretArn",
    ) if name not in o]
    for name in ("StatusCallbackUrl", "FeeCallbackUrl", "SmsCallbackUrl"):
        if name in o and not any("<token>" in s for s in strings_in(o[name].get("Value"))):
            out.append(f"output {name} must show the <token> placeholder")
    return out


def describe(names: Iterable[str] | None = None) -> str:
    return "\n".join(f"{n}: {(RULES[n].__doc__ or '').strip()}" for n in (names or RULES))
