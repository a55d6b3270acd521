"""Field values as text for display: option labels, money, dates in the user's locale, names.

Stdlib only: a small table of locale conventions (separators, date and time patterns, where
the currency symbol goes, where the minus sign goes) keyed by Pipedrive's ``locale``
(``/users/me``, e.g. ``de_DE``), falling back to the language, then to ``en_US``. References to
users, persons, organizations, deals (their titles), pipelines, stages and lead labels are
turned into names by a resolver callback the caller supplies (``names.NameCache.resolve`` owns
the caches); without one, or for an id it cannot name (a lead, a deleted deal), they show as
``#id``. Ids are shown without thousands separators (``12345``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from explorer.api.fields import Field, labelled

Resolver = Callable[[str, int | str], str | None]
"""``(kind, id) → name``; kind is ``user``, ``person``, ``organization``, ``deal``, ``lead``,
``pipeline``, ``stage`` or ``lead_label`` (lead label ids are UUIDs)."""


@dataclass(frozen=True)
class LocaleFormat:
    decimal: str
    group: str
    date: str  # strftime pattern with numbers only, so the C library's locale never matters
    time: str
    symbol_first: bool
    symbol_space: bool
    minus: str = "-"  # CLDR: U+2212 in Swedish, Finnish, Estonian
    # CLDR's negative currency pattern where it is not the sign before the positive form:
    # "{s} {m}{n}" → "€ -1.200,00" (nl), "{s}{m}{n}" → "CHF-1’200.00" (de_CH).
    negative_money: str | None = None


_NBSP = "\u00a0"
LOCALES: dict[str, LocaleFormat] = {
    "en_US": LocaleFormat(".", ",", "%m/%d/%Y", "%I:%M %p", True, False),
    "en_GB": LocaleFormat(".", ",", "%d/%m/%Y", "%H:%M", True, False),
    "en_AU": LocaleFormat(".", ",", "%d/%m/%Y", "%I:%M %p", True, False),
    "en_CA": LocaleFormat(".", ",", "%Y-%m-%d", "%I:%M %p", True, False),
    "de_DE": LocaleFormat(",", ".", "%d.%m.%Y", "%H:%M", False, True),
    "de_CH": LocaleFormat(".", "’", "%d.%m.%Y", "%H:%M", True, True, "-", "{s}{m}{n}"),
    "fr_FR": LocaleFormat(",", "\u202f", "%d/%m/%Y", "%H:%M", False, True),
    "es_ES": LocaleFormat(",", ".", "%d/%m/%Y", "%H:%M", False, True),
    "it_IT": LocaleFormat(",", ".", "%d/%m/%Y", "%H:%M", False, True),
    "nl_NL": LocaleFormat(",", ".", "%d-%m-%Y", "%H:%M", True, True, "-", "{s} {m}{n}"),
    "pt_BR": LocaleFormat(",", ".", "%d/%m/%Y", "%H:%M", True, True),
    "pt_PT": LocaleFormat(",", _NBSP, "%d/%m/%Y", "%H:%M", False, True),
    "pl_PL": LocaleFormat(",", _NBSP, "%d.%m.%Y", "%H:%M", False, True),
    "sv_SE": LocaleFormat(",", _NBSP, "%Y-%m-%d", "%H:%M", False, True, "\u2212"),
    "fi_FI": LocaleFormat(",", _NBSP, "%d.%m.%Y", "%H.%M", False, True, "\u2212"),
    "et_EE": LocaleFormat(",", _NBSP, "%d.%m.%Y", "%H:%M", False, True, "\u2212"),
    "ja_JP": LocaleFormat(".", ",", "%Y/%m/%d", "%H:%M", True, False),
}
_LANGUAGE_DEFAULT = {"en": "en_US", "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "it": "it_IT",
                     "nl": "nl_NL", "pt": "pt_BR", "pl": "pl_PL", "sv": "sv_SE", "fi": "fi_FI",
                     "et": "et_EE", "ja": "ja_JP"}

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "BRL": "R$", "INR": "₹",
           "AUD": "A$", "CAD": "CA$", "CHF": "CHF", "SEK": "kr", "NOK": "kr", "DKK": "kr",
           "PLN": "zł", "CNY": "CN¥", "KRW": "₩", "RUB": "₽", "TRY": "₺", "ZAR": "R",
           "MXN": "MX$", "NZD": "NZ$"}
ZERO_DECIMALS = frozenset({"JPY", "KRW", "CLP", "ISK", "HUF", "VND"})

VISIBILITY = {1: "Owner only", 3: "Owner's visibility group",
              5: "Owner's visibility group and sub-groups", 7: "Entire company"}
# Field types that hold the id of another record → the kind a resolver names.
REFERENCE_KINDS = {"user": "user", "people": "person", "org": "organization", "deal": "deal",
                   "lead": "lead", "stage": "stage"}
# Built-in keys that hold the id of another record, whatever type the catalog gives them
# (``pipeline_id`` is a "double" in some *Fields answers).
ID_KEYS = {"owner_id": "user", "creator_user_id": "user", "user_id": "user",
           "assigned_to_user_id": "user", "person_id": "person", "org_id": "organization",
           "organization_id": "organization", "pipeline_id": "pipeline", "stage_id": "stage",
           "deal_id": "deal", "lead_id": "lead",
           # Who last changed a record / created it (notes, files, filters; spec names).
           "last_update_user_id": "user", "last_updated_by_user_id": "user",
           "created_by_user_id": "user", "added_by_user_id": "user",
           # A lead's deal: the one it was converted from (v1 /leads, spec).
           "source_deal_id": "deal"}


def locale_format(locale: str) -> LocaleFormat:
    norm = locale.replace("-", "_")
    return (LOCALES.get(norm) or LOCALES.get(_LANGUAGE_DEFAULT.get(norm[:2].lower(), ""))
            or LOCALES["en_US"])


def format_number(value: float, locale: str = "en_US", *, decimals: int | None = None) -> str:
    fmt = locale_format(locale)
    sign, digits = _signed(value, fmt, decimals)
    return f"{sign}{digits}"


def _signed(value: float, fmt: LocaleFormat, decimals: int | None) -> tuple[str, str]:
    """``(minus sign or "", the magnitude with the locale's separators)``: the caller decides
    where the sign goes (before a currency symbol, in most locales)."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
    text = f"{abs(value):,.{decimals}f}"
    negative = value < 0 and text.strip("0.,") != ""  # -0.001 at 2 decimals shows as 0.00
    digits = text.replace(",", "\0").replace(".", fmt.decimal).replace("\0", fmt.group)
    return (fmt.minus if negative else ""), digits


def format_id(value: int | str) -> str:
    """An id as Pipedrive shows it: digits only, never grouped (``12345``, not ``12,345``)."""
    return str(value)


def format_money(amount: float, currency: str | None, locale: str = "en_US",
                 currencies: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """``1200, "EUR"`` → ``€1,200.00`` (en_US) / ``1.200,00 €`` (de_DE); ``-1200, "USD"`` →
    ``-$1,200.00`` (en_US) / ``-1.200,00 $`` (de_DE) / ``€ -1.200,00`` (nl_NL). ``currencies``
    (from ``/v1/currencies``: code → {symbol, decimal_points}) overrides the built-in table."""
    fmt = locale_format(locale)
    info = (currencies or {}).get(currency or "") or {}
    decimals = info.get("decimal_points")
    if not isinstance(decimals, int) or isinstance(decimals, bool) or decimals < 0:
        decimals = 0 if currency in ZERO_DECIMALS else 2
    sign, digits = _signed(amount, fmt, decimals)
    if not currency:
        return f"{sign}{digits}"
    symbol = str(info.get("symbol") or SYMBOLS.get(currency) or currency)
    # A symbol that ends in a letter ("kr", "pts") is set apart from the digits.
    space = " " if fmt.symbol_space or symbol == currency or symbol[-1:].isalpha() else ""
    if not fmt.symbol_first:
        return f"{sign}{digits}{space}{symbol}"
    if sign and fmt.negative_money:
        return fmt.negative_money.format(s=symbol, m=sign, n=digits)
    return f"{sign}{symbol}{space}{digits}"


def _moment(value: str) -> datetime | date | None:
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        return None
    # v1 writes UTC times without an offset.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_date(value: str | date, locale: str = "en_US", timezone: str | None = None) -> str:
    """A date, or a timestamp (RFC 3339 or v1's ``YYYY-MM-DD HH:MM:SS`` UTC) shown in
    ``timezone`` (the user's ``timezone_name``), in the locale's numeric pattern."""
    fmt = locale_format(locale)
    moment = _moment(value) if isinstance(value, str) else value
    if moment is None:
        return str(value)
    if not isinstance(moment, datetime):
        return moment.strftime(fmt.date)
    if timezone:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            moment = moment.astimezone(ZoneInfo(timezone))
    return moment.strftime(f"{fmt.date} {fmt.time}")


def format_value(
    field: Field,
    value: Any,
    *,
    locale: str = "en_US",
    timezone: str | None = None,
    currency: str | None = None,
    resolver: Resolver | None = None,
    currencies: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """``value`` of ``field`` as text. ``currency`` is for amounts whose currency travels
    separately (a deal's ``value`` next to its ``currency``)."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    ftype = field.type
    kind = None if field.is_custom else ID_KEYS.get(field.key)
    if kind is not None and not field.options:
        return _reference(kind, value, resolver)
    if field.resource == "leads" and field.key == "label_ids" and not field.options:
        items = value if isinstance(value, list) else [value]
        return ", ".join(_reference("lead_label", v, resolver) for v in items)
    if ftype in ("enum", "set", "status"):
        shown = labelled(field, value)
        items = shown if isinstance(shown, list) else [shown]
        return ", ".join(str(v).capitalize() if ftype == "status" else str(v) for v in items)
    if ftype == "monetary":
        if isinstance(value, Mapping):
            amount = value.get("value", value.get("amount"))
            currency = value.get("currency") or currency
        else:
            amount = value
        if isinstance(amount, int | float):
            return format_money(amount, currency, locale, currencies)
        return ""
    if ftype in REFERENCE_KINDS:
        return _reference(REFERENCE_KINDS[ftype], value, resolver)
    if ftype == "visible_to":
        try:
            return VISIBILITY.get(int(value), str(value))
        except (TypeError, ValueError):
            return str(value)
    if ftype in ("daterange", "timerange") and isinstance(value, Mapping):
        parts = [format_value(field_as(field, ftype[:4]), value.get(k), locale=locale,
                              timezone=timezone) for k in ("start", "end")]
        return " – ".join(p for p in parts if p)
    if ftype == "date" and isinstance(value, str):
        return format_date(value, locale, timezone)
    if ftype == "time" and isinstance(value, str):
        return value[:5]
    if isinstance(value, int | float) and _is_id(field):
        return format_id(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, int | float):
        return format_number(value, locale)
    if isinstance(value, Mapping):
        text = value.get("formatted_address") or value.get("value") or value.get("name")
        return "" if text is None else str(text)
    if isinstance(value, list):
        return ", ".join(str(v.get("value", "")) if isinstance(v, Mapping) else str(v)
                         for v in value)
    return str(value)


def _is_id(field: Field) -> bool:
    """An id field (``id``, ``next_activity_id``, ``channel_id``): no thousands separators."""
    return not field.is_custom and (field.key == "id" or field.key.endswith("_id"))


def field_as(field: Field, ftype: str) -> Field:
    return Field(field.resource, field.key, field.name, ftype, field.is_custom, field.editable,
                 field.options)


def _reference(kind: str, value: Any, resolver: Resolver | None) -> str:
    if isinstance(value, Mapping):  # v1 nests {"value": id, "name": …}; v2 search {"id", "name"}
        name = value.get("name")
        if isinstance(name, str) and name:
            return name
        value = value.get("value", value.get("id"))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if resolver is not None and isinstance(value, int | str) and not isinstance(value, bool):
        name = resolver(kind, value)
        if name:
            return name
    return f"#{value}"
