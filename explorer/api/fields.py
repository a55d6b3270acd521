"""Field metadata from the *Fields endpoints: key ↔ name, option id ↔ label, write validation.

A ``FieldCatalog`` is loaded once per session (``await catalog.load()``; ``refresh()`` reloads)
resource by resource: one resource whose fields cannot be read (a 403 for a missing scope, an
outage of one endpoint) is reported in ``failures`` with its error, and every other resource
keeps or gets its fields. Where the app's OAuth scopes do not reach a resource's *Fields
endpoint (v2 ``activityFields`` needs ``admin``), the endpoint that they do reach is read
instead (v1 ``activityFields``). The catalog answers, per resource: which fields exist, their
type, whether they are editable, their options. It turns records into ``{name: value}`` with
option labels (``readable``), and names and labels into a request body of the right shape
(``write_body``: v2 nests custom values in ``custom_fields``; v1 leads carry them flat,
v1-style), validating every value before it is sent (``validation.py``). Display formatting
lives in ``display.py``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from explorer.api import paging
from explorer.api.errors import (
    ApiError,
    Forbidden,
    InvalidValue,
    PipedriveError,
    UnknownField,
)
from explorer.api.resources import FieldsEndpoint, Resource, resource
from explorer.api.validation import validate, where

if TYPE_CHECKING:
    from explorer.api.client import PipedriveClient

JSON = dict[str, Any]
CUSTOM_KEY = re.compile(r"^[0-9a-f]{40}$")
DEFAULT_RESOURCES = ("deals", "leads", "persons", "organizations", "products", "activities")



@dataclass(frozen=True)
class Option:
    id: int | str
    label: str


@dataclass(frozen=True)
class Field:
    """One field of a resource.

    Attributes:
        resource: the registry name (``"deals"``).
        key: the API key (40-hex for custom fields).
        name: the name users see.
        type: Pipedrive's ``field_type`` (varchar, enum, set, monetary, date, user, …).
        is_custom: a custom field (v2: nested in ``custom_fields``; v1: flat).
        editable: whether a write may set it (custom fields; built-ins the spec's update body
            lists).
        options: enum/set options.
    """

    resource: str
    key: str
    name: str
    type: str
    is_custom: bool
    editable: bool
    options: tuple[Option, ...] = ()

    def label_of(self, option_id: Any) -> str | None:
        for option in self.options:
            if option.id == option_id or str(option.id) == str(option_id):
                return option.label
        return None

    def option_id(self, value: Any) -> int | str:
        """The option id for a label (case-insensitive), an id, or an option as v2 answers it
        with ``include_option_labels`` (``{"id": 7, "label": "…"}``); ``InvalidValue`` if
        none."""
        if isinstance(value, Mapping) and "id" in value:
            value = value["id"]
        for option in self.options:
            if isinstance(value, str) and option.label.casefold() == value.casefold():
                return option.id
        for option in self.options:
            if not isinstance(value, bool) and (option.id == value or str(option.id) == value):
                return option.id
        labels = ", ".join(o.label for o in self.options) or "none defined"
        raise InvalidValue(self.name, f"{where(self)}: {value!r} is not one of its options "
                                      f"({labels}); use one of these labels or their ids")


class ResourceFields:
    """The fields of one resource, by key and by name (``source``: the endpoint read)."""

    def __init__(self, res: Resource, fields: list[Field],
                 source: FieldsEndpoint | None = None) -> None:
        self.resource = res
        self.source = source
        self.fields = tuple(fields)
        self.by_key = {f.key: f for f in fields}
        self._by_name: dict[str, Field] = {}
        for f in fields:
            self._by_name.setdefault(f.name.casefold(), f)

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def get(self, key_or_name: str) -> Field | None:
        return self.by_key.get(key_or_name) or self._by_name.get(key_or_name.casefold())

    def field(self, key_or_name: str) -> Field:
        found = self.get(key_or_name)
        if found is None:
            raise UnknownField(key_or_name, f"{self.resource.name} have no field named or keyed "
                                            f"{key_or_name!r}; refresh the field catalog if it "
                                            "was added in Pipedrive just now")
        return found


class _Malformed(ValueError):
    """A field record the catalog cannot read (what is wrong with it, for the message)."""


def _v2_field(res: Resource, raw: Any, writable: frozenset[str]) -> Field:
    key = _key(raw, "field_code", "field_name")
    custom = bool(raw.get("is_custom_field"))
    return Field(res.name, key, str(raw.get("field_name") or key), str(raw.get("field_type")),
                 custom, custom or key in writable, _options(raw, key))


def _v1_field(res: Resource, raw: Any, writable: frozenset[str]) -> Field:
    key = _key(raw, "key", "name")
    custom = bool(CUSTOM_KEY.match(key))
    editable = bool(raw.get("edit_flag", True)) if custom else key in writable
    return Field(res.name, key, str(raw.get("name") or key), str(raw.get("field_type")),
                 custom, editable, _options(raw, key))


def _key(raw: Any, key_name: str, name_name: str) -> str:
    """The record's key; ``_Malformed`` for a record that is no object or has no key (a
    field without its key can be neither read nor written)."""
    if not isinstance(raw, dict):
        raise _Malformed(f"a field record is {type(raw).__name__}, not an object")
    key = raw.get(key_name)
    if isinstance(key, str) and key:
        return key
    name = raw.get(name_name)
    which = f"the field {name!r}" if isinstance(name, str) and name else "a field record"
    got = "has none" if key is None else f"is {key!r}"
    raise _Malformed(f"{which} has no {key_name} (a non-empty text; it {got})")


def _options(raw: JSON, key: str) -> tuple[Option, ...]:
    options = raw.get("options")
    if options is not None and not isinstance(options, list):
        raise _Malformed(f"the options of field {key!r} are {type(options).__name__}, not "
                         "a list")
    return tuple(Option(o["id"], str(o.get("label", o["id"])))
                 for o in options or () if isinstance(o, dict) and "id" in o)


# Fields a catalog knows without a *Fields endpoint the app loads (noteFields: no custom
# fields, and the seed's 3,000,000-character limit is what matters).
_KNOWN = {"notes": (Field("notes", "content", "Content", "text", False, True),)}


class FieldCatalog:
    """Field metadata of one session's resources (see the module docstring).

    ``scopes``: the OAuth scopes the session was granted; None asks the client (an OAuth
    session knows them from its token response; an API token has every scope).
    """

    def __init__(self, client: PipedriveClient, *, scopes: Iterable[str] | None = None) -> None:
        self._client = client
        self._scopes = frozenset(scopes) if scopes is not None else client.granted_scopes
        self._loaded: dict[str, ResourceFields] = {}
        self._failures: dict[str, PipedriveError] = {}

    @property
    def failures(self) -> Mapping[str, PipedriveError]:
        """Resource name → why its fields could not be read, for the resources whose last
        load or refresh failed."""
        return dict(self._failures)

    async def load(self, *names: str) -> dict[str, PipedriveError]:
        """Load the fields of ``names`` (default: every resource with custom fields) that are
        not loaded yet, concurrently. Returns the resources that failed, with their errors
        (also in ``failures``); the others are loaded."""
        wanted = [resource(n) for n in names or DEFAULT_RESOURCES]
        return await self._replace([r for r in wanted if r.name not in self._loaded])

    async def refresh(self, *names: str) -> dict[str, PipedriveError]:
        """Reload (fields added or renamed in Pipedrive during the session); default: every
        resource loaded or failed so far. A resource whose reload fails keeps the fields it
        had; the failures are returned (and in ``failures``)."""
        targets = [resource(n) for n in names] or [
            resource(n) for n in dict.fromkeys([*self._loaded, *self._failures])]
        return await self._replace(targets)

    async def _replace(self, targets: list[Resource]) -> dict[str, PipedriveError]:
        results = await asyncio.gather(*(self._fetch(r) for r in targets),
                                       return_exceptions=True)
        failed: dict[str, PipedriveError] = {}
        for res, result in zip(targets, results, strict=True):
            if isinstance(result, ResourceFields):
                self._loaded[res.name] = result
                self._failures.pop(res.name, None)
            elif isinstance(result, PipedriveError):
                failed[res.name] = self._failures[res.name] = result
            else:  # cancellation, a bug: not a resource's failure to report
                raise result
        return failed

    async def _fetch(self, res: Resource) -> ResourceFields:
        if res.fields is None:
            return ResourceFields(res, list(_KNOWN.get(res.name, ())))
        endpoint = res.fields
        while True:
            fallback = endpoint.fallback
            if (fallback is not None and endpoint.scopes and self._scopes is not None
                    and not endpoint.scopes & self._scopes):
                endpoint = fallback  # the session may not read it: ask where it may
                continue
            try:
                return await self._read(res, endpoint)
            except Forbidden:
                if fallback is None:
                    raise
                endpoint = fallback

    async def _read(self, res: Resource, endpoint: FieldsEndpoint) -> ResourceFields:
        """The fields ``endpoint`` lists; a malformed record fails this resource only, as an
        ``ApiError`` (the answer was a 200, but not one the catalog can use)."""
        writable = res.writable_keys("update")
        version, path = endpoint.version, endpoint.path
        out: list[Field] = []
        try:
            if version == "v2":
                async for raw in paging.iter_cursor(self._client, version, path, key=None):
                    out.append(_v2_field(res, raw, writable))
            else:
                async for raw in paging.iter_offset(self._client, version, path, key=None):
                    out.append(_v1_field(res, raw, writable))
        except _Malformed as problem:
            raise ApiError(200, "GET", f"/api/{version}{path}",
                           f"the answer is malformed: {problem}",
                           f"the {res.name} fields are not loaded and their columns show "
                           f"keys; retry later with await catalog.refresh({res.name!r})"
                           ) from None
        return ResourceFields(res, out, endpoint)

    def __contains__(self, name: str) -> bool:
        return name in self._loaded

    def __getitem__(self, name: str) -> ResourceFields:
        res = resource(name)
        found = self._loaded.get(res.name)
        if found is None:
            if res.name in _KNOWN:
                return ResourceFields(res, list(_KNOWN[res.name]))
            failure = self._failures.get(res.name)
            if failure is not None:
                raise KeyError(f"the fields of {res.name} could not be loaded ({failure}); "
                               f"their columns show keys. Retry with "
                               f"await catalog.refresh({res.name!r})")
            raise KeyError(f"the fields of {res.name} are not loaded; "
                           f"await catalog.load({res.name!r}) first")
        return found

    def field(self, name: str, key_or_name: str) -> Field:
        return self[name].field(key_or_name)

    # ------------------------------------------------------------------ reading

    def readable(self, name: str, record: Mapping[str, Any]) -> JSON:
        """``{field name: value}`` of an API record, enum/set option ids replaced by labels
        and v1 flat custom values (``<key>_currency``, ``<key>_until``) joined as in v2.
        Keys without a field keep their key; a second field with a taken name keeps its key."""
        fields = self[name]
        values: dict[str, Any] = {k: v for k, v in record.items() if k != "custom_fields"}
        values.update(record.get("custom_fields") or {})
        for key in [k for k in values if _suffixed(k)]:
            base, suffix = key[:40], key[41:]
            field = fields.by_key.get(base)
            if field is None:
                continue
            extra = values.pop(key)
            joined = values.get(base)
            if field.type == "monetary" and not isinstance(joined, dict):
                values[base] = {"value": joined, "currency": extra}
            elif suffix == "until" and not isinstance(joined, dict):
                values[base] = {"start": joined, "end": extra}
        out: JSON = {}
        for key, value in values.items():
            field = fields.by_key.get(key)
            label = key if field is None or field.name in out else field.name
            out[label] = value if field is None else labelled(field, value)
        return out

    # ------------------------------------------------------------------ writing

    def validate(self, name: str, key_or_name: str, value: Any) -> Any:
        """The value to send for that field (labels turned into option ids), or
        ``InvalidValue`` naming the field and what to do."""
        return validate(self.field(name, key_or_name), value)

    def write_body(self, name: str, values: Mapping[str, Any]) -> JSON:
        """A create/update body from ``{field name or key: value}``: validated, labels
        turned into ids, custom values nested (v2) or flat (v1)."""
        res = resource(name)
        fields = self[name]
        body: JSON = {}
        custom: JSON = {}
        for key_or_name, value in values.items():
            field = fields.field(key_or_name)
            api_value = validate(field, value)
            if not field.is_custom:
                body[field.key] = api_value
            elif res.custom_fields == "nested":
                custom[field.key] = api_value
            else:
                body.update(flat_value(field, api_value))
        if custom:
            body["custom_fields"] = custom
        return body


def _suffixed(key: str) -> bool:
    return len(key) > 41 and key[40] == "_" and bool(CUSTOM_KEY.match(key[:40]))


def labelled(field: Field, value: Any) -> Any:
    """An enum/set value with option labels for ids (v1 sets come as ``"1,2"``; v2 with
    ``include_option_labels`` as ``{id, label}``); other values unchanged."""
    if value is None or not field.options or field.type not in ("enum", "set"):
        return value
    if field.type == "set":
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list):
            return [labelled_one(field, v) for v in items if v != ""]
        return value
    return labelled_one(field, value)


def labelled_one(field: Field, value: Any) -> Any:
    if isinstance(value, Mapping) and "label" in value:
        return value["label"]
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    label = field.label_of(value)
    return value if label is None else label


def flat_value(field: Field, value: Any) -> JSON:
    """One custom value as v1 flat keys (monetary: ``<key>_currency``; ranges: ``_until``)."""
    key = field.key
    if isinstance(value, dict) and field.type == "monetary":
        out = {key: value.get("value")}
        if value.get("currency") is not None:
            out[f"{key}_currency"] = value["currency"]
        return out
    if isinstance(value, dict) and field.type in ("daterange", "timerange"):
        return {key: value.get("start"), f"{key}_until": value.get("end")}
    if isinstance(value, dict) and field.type == "address":
        return {key: value.get("value")}
    if isinstance(value, list) and field.type == "set":
        return {key: ",".join(str(v) for v in value)}
    return {key: value}
