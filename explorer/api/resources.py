"""The resources the app shows, one registry entry each, and the spec's token cost table.

``data/token_costs.json`` (every operation's ``x-token-cost``) and ``data/body_types.json``
(each JSON-body operation's allowed keys with their JSON types) are compiled from Pipedrive's
official OpenAPI specs by ``python -m explorer.sandbox.specdata resources/openapi``;
``tests/api`` checks they match the specs. Adding a resource is adding an entry to ``RESOURCES``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources as package_files
from typing import Literal, get_args

Version = Literal["v1", "v2"]
IdType = Literal["int", "uuid"]
Paging = Literal["cursor", "offset", "none"]
Op = Literal["list", "get", "create", "update", "delete", "search", "fields", "archived"]
# Pipedrive's UUIDs as it writes them (lead and lead label ids): hex in 8-4-4-4-12 groups.
# ``uuid.UUID`` alone would also take braces, ``urn:uuid:`` and undashed forms, which are no
# ids in a URL path.
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@cache
def token_costs() -> Mapping[str, int]:
    """``"v2 GET /deals"`` → tokens, for every operation of both specs."""
    text = package_files.files("explorer.api").joinpath("data", "token_costs.json").read_text()
    data: dict[str, int] = json.loads(text)
    return data


@cache
def body_types() -> Mapping[str, Mapping[str, str]]:
    """``"v2 PATCH /deals/{id}"`` → ``{key: JSON type}`` of its request body (official spec)."""
    text = package_files.files("explorer.api").joinpath("data", "body_types.json").read_text()
    data: dict[str, dict[str, str]] = json.loads(text)
    return data


@cache
def body_keys() -> Mapping[str, frozenset[str]]:
    """``"v2 PATCH /deals/{id}"`` → the top-level keys its JSON body may carry."""
    return {k: frozenset(v) for k, v in body_types().items()}


@cache
def _templates(version: str, method: str) -> list[tuple[re.Pattern[str], str]]:
    prefix = f"{version} {method} "
    out = []
    for key in token_costs():
        if key.startswith(prefix):
            template = key[len(prefix):]
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            out.append((re.compile(pattern + "$"), template))
    # "/deals/search" must win over "/deals/{id}".
    out.sort(key=lambda item: (item[1].count("{"), item[1]))
    return out


@lru_cache(maxsize=4096)
def operation_key(version: str, method: str, path: str) -> str:
    """The spec operation a concrete request is: ``("v2", "GET", "/deals/7")`` →
    ``"v2 GET /deals/{id}"``; an unknown path is returned as it is (cost 0)."""
    method = method.upper()
    key = f"{version} {method} {path}"
    if key in token_costs():
        return key
    for pattern, template in _templates(version, method):
        if pattern.match(path):
            return f"{version} {method} {template}"
    return key


def token_cost(operation: str) -> int:
    return token_costs().get(operation, 0)


@dataclass(frozen=True)
class FieldsEndpoint:
    """Where a resource's field definitions come from.

    Attributes:
        scopes: the OAuth scopes of which the endpoint needs one (empty: what the resource's
            own read scope allows). v2 ``/activityFields`` needs ``admin``.
        fallback: the endpoint to read instead when the session lacks those scopes or the
            endpoint answers 403 (v1 ``/activityFields`` takes ``activities:read``).
    """

    version: Version
    path: str
    scopes: frozenset[str] = frozenset()
    fallback: FieldsEndpoint | None = None


@dataclass(frozen=True)
class Listing:
    """One list endpoint as paging sees it: what ``fetch_page`` and ``iterate`` need.

    Attributes:
        what: how messages name it (``"deals"``, ``"archived leads"``, ``"products of deal 7"``).
        version, path: the endpoint (a concrete path below ``/api/{version}``).
        paging: ``cursor`` (``additional_data.next_cursor``: v2, and v1 changelogs),
            ``offset`` (v1 ``start``/``limit``) or ``none`` (the whole list in one answer).
        filters: the query parameters that narrow it (besides paging and sorting).
        max_page: the largest ``limit`` it takes (500; v1 files 100).
        key: the item field that identifies an item, for "never twice" (None: items have no
            identity, as changelog entries, and are passed on as they come).
    """

    what: str
    version: Version
    path: str
    paging: Paging
    filters: frozenset[str] = frozenset()
    max_page: int = 500
    key: str | None = "id"

    @property
    def operation(self) -> str:
        return operation_key(self.version, "GET", self.path)


@dataclass(frozen=True)
class Resource:
    """One kind of record the app shows.

    Attributes:
        name: registry key, the plural (``"deals"``).
        singular: ``"deal"``; the item type in messages.
        version: the API version that serves its CRUD.
        path: the collection path below ``/api/{version}``.
        id_type: ``int`` or ``uuid`` (leads).
        update_verb: PATCH (v2, v1 leads) or PUT (other v1).
        paging: ``cursor`` (v2), ``offset`` (v1 ``start``/``limit``) or ``none``.
        fields: its *Fields endpoint, if any (leads: ``/v1/leadFields``, which lists the deal
            custom fields leads carry).
        custom_fields: how records carry custom values: ``nested`` in ``custom_fields`` (v2),
            ``flat`` at the root under the 40-hex key (v1), or None (no custom fields).
        search_item_type: its ``item_types`` value for ``/api/v2/itemSearch``, if searchable.
        search_path: its own v2 search endpoint (``/deals/search``), if any.
        list_filters: the list endpoint's filter parameters (besides paging and sorting).
        archived_path: where its archived records are listed (Pipedrive's regular lists leave
            them out): ``/deals/archived`` (v2), ``/leads/archived`` (v1). Archiving and
            unarchiving is an update of ``is_archived``.
        archived_filters: the archived list's filter parameters.
    """

    name: str
    singular: str
    version: Version
    path: str
    id_type: IdType = "int"
    update_verb: Literal["PATCH", "PUT"] = "PATCH"
    paging: Paging = "cursor"
    fields: FieldsEndpoint | None = None
    custom_fields: Literal["nested", "flat"] | None = None
    search_item_type: str | None = None
    search_path: str | None = None
    list_filters: frozenset[str] = frozenset()
    archived_path: str | None = None
    archived_filters: frozenset[str] = frozenset()

    def check_id(self, record_id: int | str) -> int | str:
        """``record_id`` if it is a valid id of this resource, else ``ValueError``."""
        if self.id_type == "uuid":
            if isinstance(record_id, str) and _UUID.fullmatch(record_id):
                return record_id
            raise ValueError(f"{self.singular} ids are UUIDs such as "
                             f"8b967fe2-01c4-4cbc-8345-995d0c987715, got {record_id!r}")
        if isinstance(record_id, bool) or not isinstance(record_id, int) or record_id < 1:
            raise ValueError(f"{self.singular} ids are positive integers, got {record_id!r}")
        return record_id

    def item_path(self, record_id: int | str) -> str:
        return f"{self.path}/{self.check_id(record_id)}"

    def operation(self, op: Op) -> tuple[str, Version, str] | None:
        """``(method, version, path template)`` of ``op``, or None if the API lacks it."""
        method, version, template = {
            "list": ("GET", self.version, self.path),
            "get": ("GET", self.version, f"{self.path}/{{id}}"),
            "create": ("POST", self.version, self.path),
            "update": (self.update_verb, self.version, f"{self.path}/{{id}}"),
            "delete": ("DELETE", self.version, f"{self.path}/{{id}}"),
            "search": ("GET", "v2", self.search_path or ""),
            "fields": ("GET", self.fields.version if self.fields else "v2",
                       self.fields.path if self.fields else ""),
            "archived": ("GET", self.version, self.archived_path or ""),
        }[op]
        if not template or f"{version} {method} {template}" not in token_costs():
            return None
        return method, version, template

    @property
    def costs(self) -> dict[str, int]:
        """Token cost of each operation the API has for it (official spec)."""
        out: dict[str, int] = {}
        for op in get_args(Op):
            found = self.operation(op)
            if found is not None:
                method, version, template = found
                out[op] = token_cost(f"{version} {method} {template}")
        return out

    def listing(self, *, archived: bool = False) -> Listing:
        """Its list endpoint, or the archived one (``ValueError`` if it has none)."""
        if not archived:
            return Listing(self.name, self.version, self.path, self.paging, self.list_filters)
        if self.archived_path is None:
            having = ", ".join(r.name for r in RESOURCES.values() if r.archived_path)
            raise ValueError(f"{self.name} have no archived list; only {having} do")
        return Listing(f"archived {self.name}", self.version, self.archived_path, self.paging,
                       self.archived_filters)

    def require(self, op: Op) -> tuple[str, Version, str]:
        """``operation(op)``, or a ``ValueError`` saying the API has no such operation."""
        found = self.operation(op)
        if found is None:
            raise ValueError(f"Pipedrive's API has no {op} operation for {self.name}")
        return found

    def writable_keys(self, op: Literal["create", "update"] = "update") -> frozenset[str]:
        """Top-level body keys the spec allows for a create or update."""
        found = self.operation(op)
        if found is None:
            return frozenset()
        method, version, template = found
        return body_keys().get(f"{version} {method} {template}", frozenset())


def _f(version: Version, path: str) -> FieldsEndpoint:
    return FieldsEndpoint(version, path)


_V2_COMMON = frozenset({"filter_id", "ids", "owner_id", "updated_since", "updated_until"})
_DEAL_FILTERS = _V2_COMMON | {"person_id", "org_id", "pipeline_id", "stage_id", "status"}

RESOURCES: Mapping[str, Resource] = {
    r.name: r
    for r in (
        Resource("deals", "deal", "v2", "/deals", fields=_f("v2", "/dealFields"),
                 custom_fields="nested", search_item_type="deal", search_path="/deals/search",
                 list_filters=_DEAL_FILTERS, archived_path="/deals/archived",
                 archived_filters=_DEAL_FILTERS),
        # Leads have no fields of their own: /v1/leadFields lists theirs plus the deal
        # custom fields, which leads carry flat, v1-style.
        Resource("leads", "lead", "v1", "/leads", id_type="uuid", paging="offset",
                 fields=_f("v1", "/leadFields"), custom_fields="flat",
                 search_item_type="lead", search_path="/leads/search",
                 list_filters=frozenset({"owner_id", "person_id", "organization_id",
                                         "filter_id", "updated_since"}),
                 archived_path="/leads/archived",
                 archived_filters=frozenset({"owner_id", "person_id", "organization_id",
                                             "filter_id"})),
        Resource("persons", "person", "v2", "/persons", fields=_f("v2", "/personFields"),
                 custom_fields="nested", search_item_type="person",
                 search_path="/persons/search", list_filters=_V2_COMMON | {"org_id", "deal_id"}),
        Resource("organizations", "organization", "v2", "/organizations",
                 fields=_f("v2", "/organizationFields"), custom_fields="nested",
                 search_item_type="organization", search_path="/organizations/search",
                 list_filters=_V2_COMMON),
        Resource("activities", "activity", "v2", "/activities",
                 fields=FieldsEndpoint("v2", "/activityFields", frozenset({"admin"}),
                                       fallback=_f("v1", "/activityFields")),
                 list_filters=_V2_COMMON | {"deal_id", "lead_id", "person_id", "org_id", "done"}),
        Resource("products", "product", "v2", "/products", fields=_f("v2", "/productFields"),
                 custom_fields="nested", search_item_type="product",
                 search_path="/products/search",
                 list_filters=frozenset({"owner_id", "ids", "filter_id", "updated_since"})),
        # /v1/noteFields exists in the spec (the sandbox does not serve it); notes have no
        # custom fields, so the field catalog does not load it by default.
        Resource("notes", "note", "v1", "/notes", update_verb="PUT", paging="offset",
                 fields=_f("v1", "/noteFields"),
                 list_filters=frozenset({
                     "user_id", "lead_id", "deal_id", "person_id", "org_id", "project_id",
                     "task_id", "start_date", "end_date", "updated_since",
                     "pinned_to_lead_flag", "pinned_to_deal_flag",
                     "pinned_to_organization_flag", "pinned_to_person_flag",
                     "pinned_to_project_flag", "pinned_to_task_flag"})),
        Resource("pipelines", "pipeline", "v2", "/pipelines"),
        Resource("stages", "stage", "v2", "/stages", list_filters=frozenset({"pipeline_id"})),
        Resource("users", "user", "v1", "/users", update_verb="PUT", paging="none"),
        Resource("filters", "filter", "v1", "/filters", update_verb="PUT", paging="none",
                 list_filters=frozenset({"type"})),
        # Small account-wide lists, read whole (no paging, no GET of one item in the spec).
        Resource("lead_labels", "lead label", "v1", "/leadLabels", id_type="uuid",
                 paging="none"),
        Resource("lead_sources", "lead source", "v1", "/leadSources", paging="none"),
        Resource("activity_types", "activity type", "v1", "/activityTypes", update_verb="PUT",
                 paging="none"),
    )
}


def resource(name: str | Resource) -> Resource:
    """The registry entry ``name`` (a ``Resource`` is returned as it is)."""
    if isinstance(name, Resource):
        return name
    try:
        return RESOURCES[name]
    except KeyError:
        raise KeyError(f"unknown resource {name!r}; known: {', '.join(RESOURCES)}") from None
