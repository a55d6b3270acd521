"""Checks sandbox responses against Pipedrive's official OpenAPI specs, operation by operation.

``SpecValidator`` loads ``resources/openapi/openapi-v1.yaml`` and ``openapi-v2.yaml`` (once;
tests share one instance per session), maps a concrete request (method + URL) back to the
sandbox operation that answers it, and validates the response's status and JSON body against
that operation's documented response schema with openapi-schema-validator's ``OAS30Validator``
(``$ref`` resolved against the whole spec document). Formats: OAS 3.0's own checker (int32,
int64, float, double, byte, ...) plus ``date``, ``date-time`` and ``uuid``, which that checker
leaves unasserted; stricter, never looser.

Status codes: the schema of the exact status is used, else the spec's ``2XX``-style range, else
``default``. A status the operation documents no schema for is an *undocumented status*: a
violation for 2xx (and 5xx), tolerated but recorded for 4xx; such a 4xx body must still be
Pipedrive's error envelope (``success: false`` and an ``error`` string).

One relaxation, and only this one: a property whose spec ``description`` says the value will
be ``null`` (v2 ``next_cursor``: "The value of the `next_cursor` field will be `null` if you have
reached the end of the dataset"; v1 field ``options``: "When there are no options, `null` is
returned") is treated as ``nullable: true``, since the spec's prose documents the null its
schema forgets. Everything else is validated as written: a failure means the sandbox must
change, not this validator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource

from explorer.sandbox.app import operations as registered_operations
from explorer.sandbox.routing import Operation

SPEC_DIR = Path(__file__).resolve().parents[2] / "resources" / "openapi"
VERSIONS = ("v1", "v2")
# The URL prefixes each version is mounted under (see explorer/sandbox/app.py).
PREFIXES = (("/api/v2", "v2"), ("/api/v1", "v1"), ("/v1", "v1"))
MAX_ERRORS = 12  # per response; the rest are counted
# The conformance walk's one-line summary, printed by conftest at the end of the run.
SUMMARY_KEY = pytest.StashKey[str]()

FORMATS = FormatChecker(["date", "date-time", "uuid"])
FORMATS.checkers.update(OAS30Validator.FORMAT_CHECKER.checkers)

# Prose in a description that says the value itself is null (not that a client may send null).
_SAYS_NULL = re.compile(
    r"(?:will be|otherwise|then)\s+[`'\"]null[`'\"]|[`'\"]null[`'\"]\s+is returned",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Violation:
    """One way a response differs from the spec.

    Attributes:
        method: request method.
        url: request URL (path and query).
        status: response status code.
        path: JSON path in the body (``$.data[0].title``), ``$`` for the whole response.
        message: what is wrong.
    """

    method: str
    url: str
    status: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.method} {self.url} -> {self.status} at {self.path}: {self.message}"


@dataclass
class Check:
    """The outcome of checking one response.

    Attributes:
        method: request method.
        url: request URL (path and query).
        status: response status code.
        operation: the registered operation answering the URL, or None (unknown route).
        violations: everything found wrong (empty when the response conforms).
        undocumented: True when the spec documents no schema for this status (recorded for 4xx,
            a violation otherwise).
        exempt: why the response was not validated per operation (``"unknown route"``,
            ``"401"``, or an opt-out reason), else None.
    """

    method: str
    url: str
    status: int
    operation: Operation | None
    violations: list[Violation] = field(default_factory=list)
    undocumented: bool = False
    exempt: str | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        op = self.operation.operation_id if self.operation else "-"
        flags = " (undocumented status)" if self.undocumented else ""
        return f"{self.method} {self.url} -> {self.status} [{op}]{flags}"


@dataclass
class _Route:
    op: Operation
    pattern: re.Pattern[str]
    static: bool


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}/?$")


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _pointer_escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _message(error: ValidationError) -> str:
    """The error's message, with the most specific reason when it is an anyOf/oneOf miss."""
    text = error.message
    if error.context:
        inner = best_match(error.context)
        where = _json_path(inner.relative_path)
        text += f" (e.g. {_short(inner.message, 160)}{'' if where == '$' else ' at +' + where[1:]})"
    return _short(text)


def _readable(errors: Iterable[ValidationError]) -> list[tuple[str, str]]:
    """(JSON path, message) per error, sorted by path; one message per null that is not allowed.

    OAS30's ``type`` reports a null twice (not nullable, and not of the type).
    """
    out: list[tuple[str, str]] = []
    nulls: set[str] = set()
    for error in sorted(errors, key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        path = _json_path(error.absolute_path)
        if error.validator == "type" and error.instance is None:
            if path not in nulls:
                nulls.add(path)
                out.append((path, f"null, but the spec does not mark it nullable "
                                  f"(expected {error.validator_value}; omit the key instead)"))
            continue
        out.append((path, _message(error)))
    return out


def relax_nullable_by_description(node: Any) -> list[str]:
    """Mark ``nullable: true`` every property whose description says the value is null.

    Returns the affected property names (for inspection in tests). Mutates ``node``.
    """
    relaxed: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            props = x.get("properties")
            if isinstance(props, dict):
                for name, prop in props.items():
                    if (isinstance(prop, dict) and not prop.get("nullable")
                            and _SAYS_NULL.search(str(prop.get("description", "")))):
                        prop["nullable"] = True
                        relaxed.append(name)
            for value in x.values():
                walk(value)
        elif isinstance(x, list):
            for value in x:
                walk(value)

    walk(node)
    return relaxed


class SpecValidator:
    """Validates sandbox responses against the official spec of the operation they answer.

    Attributes:
        spec_dir: where ``openapi-v1.yaml`` and ``openapi-v2.yaml`` are.
        operations: the sandbox operations requests are mapped to.
        relaxed: per version, the properties made nullable by the documented relaxation.
    """

    def __init__(self, spec_dir: Path = SPEC_DIR,
                 operations: Sequence[Operation] | None = None) -> None:
        self.spec_dir = spec_dir
        self.operations = list(registered_operations() if operations is None else operations)
        self.relaxed: dict[str, list[str]] = {}
        self._specs: dict[str, dict[str, Any]] = {}
        self._registries: dict[str, Registry[Any]] = {}
        self._validators: dict[tuple[str, str], OAS30Validator | None] = {}
        self._routes: dict[str, list[_Route]] = {v: [] for v in VERSIONS}
        for op in self.operations:
            self._routes[op.version].append(
                _Route(op, _template_regex(op.path), "{" not in op.path))
        for routes in self._routes.values():
            routes.sort(key=lambda r: (not r.static, r.op.path.count("{"), r.op.path))

    # ------------------------------------------------------------------ spec documents

    def spec(self, version: str) -> dict[str, Any]:
        """The (relaxed) spec document of ``version``, loaded on first use."""
        if version not in self._specs:
            path = self.spec_dir / f"openapi-{version}.yaml"
            with path.open("rb") as fh:
                doc = yaml.load(fh, Loader=yaml.CSafeLoader)
            self.relaxed[version] = relax_nullable_by_description(doc)
            self._specs[version] = doc
            self._registries[version] = Registry().with_resource(
                self._uri(version), Resource.opaque(doc))
        return self._specs[version]

    @staticmethod
    def _uri(version: str) -> str:
        return f"urn:pipedrive:openapi-{version}"

    def _resolve(self, version: str, node: Any) -> tuple[Any, str | None]:
        """``node`` with a local ``$ref`` followed, and the JSON pointer it came from."""
        pointer = None
        doc = self.spec(version)
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"].lstrip("#")
            node = doc
            for part in pointer.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def spec_operation(self, version: str, method: str, path: str) -> dict[str, Any]:
        """The spec's Operation Object for ``method path`` (KeyError when it has none)."""
        op: dict[str, Any] = self.spec(version)["paths"][path][method.lower()]
        return op

    def documented_statuses(self, version: str, method: str, path: str) -> list[str]:
        """The response keys the spec lists for an operation (``"200"``, ``"404"``, ``default``)."""
        return list(self.spec_operation(version, method, path).get("responses", {}))

    def _response_pointer(self, op: Operation, status: int) -> str | None:
        """JSON pointer of the JSON schema documented for ``status``, or None."""
        spec_op = self.spec_operation(op.version, op.method, op.path)
        responses = spec_op.get("responses") or {}
        key = next((k for k in (str(status), f"{status // 100}XX", f"{status // 100}xx",
                                "default") if k in responses), None)
        if key is None:
            return None
        response, pointer = self._resolve(op.version, responses[key])
        if pointer is None:
            pointer = "/" + "/".join(_pointer_escape(p) for p in
                                     ("paths", op.path, op.method.lower(), "responses", key))
        content = (response or {}).get("content") or {}
        ctype = next((c for c in content if c.split(";")[0].strip().endswith("json")), None)
        if ctype is None or "schema" not in content[ctype]:
            return None
        return f"{pointer}/content/{_pointer_escape(ctype)}/schema"

    def _validator(self, op: Operation, status: int) -> OAS30Validator | None:
        key = (f"{op.version} {op.method} {op.path}", str(status))
        if key not in self._validators:
            pointer = self._response_pointer(op, status)
            self._validators[key] = None if pointer is None else OAS30Validator(
                {"$ref": f"{self._uri(op.version)}#{pointer}"},
                registry=self._registries[op.version],
                format_checker=FORMATS,
            )
        return self._validators[key]

    # ------------------------------------------------------------------ URL → operation

    def operation_for(self, method: str, url: str) -> Operation | None:
        """The registered operation answering ``method url`` (a full URL or a path)."""
        path = urlsplit(url).path
        for prefix, version in PREFIXES:
            if path == prefix or path.startswith(prefix + "/"):
                rest = path[len(prefix):] or "/"
                for route in self._routes[version]:
                    if route.op.method == method.upper() and route.pattern.match(rest):
                        return route.op
                return None
        return None

    # ------------------------------------------------------------------ validation

    def schema_errors(self, op: Operation, status: int, body: Any) -> Iterator[ValidationError]:
        """Schema errors of ``body`` for ``op``'s documented ``status`` (none if undocumented)."""
        validator = self._validator(op, status)
        if validator is not None:
            yield from validator.iter_errors(body)

    def is_documented(self, op: Operation, status: int) -> bool:
        return self._validator(op, status) is not None

    def check(self, method: str, url: str, status: int, content_type: str | None,
              content: bytes, *, exempt: str | None = None) -> Check:
        """Check one response; ``exempt`` (a reason) skips per-operation validation."""
        parts = urlsplit(url)
        shown = parts.path + (f"?{parts.query}" if parts.query else "")
        op = self.operation_for(method, url)
        check = Check(method.upper(), shown, status, op)
        if exempt is not None:
            check.exempt = exempt
            return check

        def violation(path: str, message: str) -> None:
            check.violations.append(Violation(check.method, shown, status, path, message))

        body: Any = None
        is_json = (content_type or "").split(";")[0].strip().lower().endswith("json")
        try:
            body = json.loads(content) if content else None
        except ValueError:
            is_json = False
        if not is_json:
            violation("$", f"body is not JSON (content-type {content_type!r})")
            return check
        if op is None:
            check.exempt = "unknown route"
            return check
        try:
            spec_id = self.spec_operation(op.version, op.method, op.path).get("operationId")
        except KeyError:
            violation("$", f"{op.method} {op.path} ({op.operation_id}) is not in the "
                           f"{op.version} spec")
            return check
        if spec_id != op.operation_id:
            violation("$", f"registered as {op.operation_id}, but the spec calls "
                           f"{op.method} {op.path} {spec_id}")
        if status == 401 and not self.is_documented(op, 401):
            check.exempt = "401"
            for path, message in self.envelope_errors(body, unauthorized=True):
                violation(path, message)
            return check
        if not self.is_documented(op, status):
            check.undocumented = True
            if 400 <= status < 500:
                for path, message in self.envelope_errors(body):
                    violation(path, message)
            else:
                documented = self.documented_statuses(op.version, op.method, op.path)
                violation("$", f"status {status} is not documented for {op.operation_id} "
                               f"(documented: {', '.join(documented)})")
            return check
        errors = self.envelope_errors(body) if 400 <= status < 500 else []
        errors += _readable(self.schema_errors(op, status, body))
        for path, message in errors[:MAX_ERRORS]:
            violation(path, message)
        if len(errors) > MAX_ERRORS:
            violation("$", f"... and {len(errors) - MAX_ERRORS} more schema errors")
        return check

    def envelope_errors(self, body: Any, *, unauthorized: bool = False) -> list[tuple[str, str]]:
        """How ``body`` misses Pipedrive's error envelope (the 401 one when ``unauthorized``).

        The 401 envelope is the one the v1 spec documents for ``GET /users/me``.
        """
        problems: list[tuple[str, str]] = []
        if not isinstance(body, dict):
            return [("$", "error body is not a JSON object")]
        if body.get("success") is not False:
            problems.append(("$.success", "an error response must have success: false"))
        if not isinstance(body.get("error"), str) or not body["error"]:
            problems.append(("$.error", "an error response must carry an 'error' message"))
        if unauthorized:
            me = self.unauthorized_operation()
            problems += _readable(self.schema_errors(me, 401, body))
        return problems

    def unauthorized_operation(self) -> Operation:
        """A stand-in operation whose spec documents the 401 envelope (v1 ``GET /users/me``)."""
        return Operation("v1", "GET", "/users/me", "getCurrentUser", _no_handler)


async def _no_handler(request: Any) -> Any:  # pragma: no cover - never served
    raise NotImplementedError


# ---------------------------------------------------------------------- per-test log

# A request carrying this header (its value: why) is not validated; meant for tests that
# deliberately provoke something outside the spec, never to hide a sandbox problem.
OPT_OUT_HEADER = "x-spec-check-skip"


def exemption(request: httpx.Request, response: httpx.Response) -> str | None:
    """Why a response is not checked against the API spec, or None to check it.

    Only API operations are in the specs: the OAuth pages and the ``/_sandbox`` admin are not.
    Two API responses are deliberately off-spec, as on Pipedrive: a fault the sandbox was told
    to inject (marked ``x-sandbox-fault``), and the HTML 403 block page sent to a token that
    kept hammering after a 429.
    """
    reason = request.headers.get(OPT_OUT_HEADER)
    if reason is not None:
        return f"opted out: {reason}"
    path = request.url.path
    if not path.startswith(("/api/", "/v1/")):
        return "not an API path"
    if "x-sandbox-fault" in response.headers:
        return f"injected fault: {response.headers['x-sandbox-fault']}"
    content_type = response.headers.get("content-type", "")
    if response.status_code == 403 and content_type.startswith("text/html"):
        return "403 block page"
    return None


class SpecLog:
    """Every response one test's client received, checked; the client's response hook.

    Attributes:
        validator: the session's ``SpecValidator``.
        checks: one ``Check`` per response, in order.
    """

    def __init__(self, validator: SpecValidator) -> None:
        self.validator = validator
        self.checks: list[Check] = []
        self._by_response: dict[int, tuple[httpx.Response, Check]] = {}

    async def hook(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        check = self.validator.check(
            request.method, str(request.url), response.status_code,
            response.headers.get("content-type"), response.content,
            exempt=exemption(request, response),
        )
        self.checks.append(check)
        # The response is kept alive with its check, so its id cannot be reused meanwhile.
        self._by_response[id(response)] = (response, check)

    def check_of(self, response: httpx.Response) -> Check:
        """The check made of ``response`` (which this log's client must have received)."""
        return self._by_response[id(response)][1]

    @property
    def violations(self) -> list[Violation]:
        return [v for c in self.checks for v in c.violations]

    def report(self) -> str:
        """The violations, readable, one per line."""
        lines = [f"{len(self.violations)} OpenAPI violation(s) in responses this test received:"]
        lines += [f"  {v}" for v in self.violations]
        return "\n".join(lines)
