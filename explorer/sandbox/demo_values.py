"""Demo value makers: addresses and phone numbers by country, and custom field values."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from explorer.sandbox import demo_pools as P

JSON = dict[str, Any]
Country = tuple[Any, ...]

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
"""The fixed "now" of demo data: timestamps are seconds relative to it (negative = past)."""
DAY = 86_400
SPAN = 730 * DAY  # how far back records go
_PAST_DAYS, _FUTURE_DAYS = 800, 800


class Times:
    """Formats seconds relative to ``ANCHOR`` from precomputed day and time-of-day strings."""

    def __init__(self) -> None:
        start = ANCHOR.date() - timedelta(days=_PAST_DAYS)
        self.days = [(start + timedelta(days=i)).isoformat()
                     for i in range(_PAST_DAYS + _FUTURE_DAYS)]
        self.hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)]

    def _split(self, t: int) -> tuple[str, str]:
        d, s = divmod(t + _PAST_DAYS * DAY, DAY)
        return self.days[d], self.hms[s]

    def v2(self, t: int) -> str:
        d, s = self._split(t)
        return f"{d}T{s}Z"

    def v1(self, t: int) -> str:
        d, s = self._split(t)
        return f"{d} {s}"

    def lead(self, t: int, ms: int) -> str:
        d, s = self._split(t)
        return f"{d}T{s}.{ms:03d}Z"

    def date(self, t: int) -> str:
        return self.days[(t + _PAST_DAYS * DAY) // DAY]

_COMPETITORS = ("Salesforce", "HubSpot", "Zoho", "Microsoft Dynamics", "A local reseller",
                "In-house tool", "Monday Sales CRM", "Freshsales")
_NEXT_STEPS = ("Send the revised proposal by Friday.", "Schedule a technical workshop.",
               "Waiting for the budget sign-off.", "Book a call with procurement.",
               "Prepare the security questionnaire.", "Agree on the rollout timeline.")
_ACCOUNT_NOTES = ("Long-standing customer; values quarterly reviews.",
                  "Prefers invoices in two instalments.", "Decision-making is centralised "
                  "at headquarters.", "Strong interest in the analytics roadmap.")
_SPECS = ("Datasheet v2.1 – see the product portal.", "Includes setup and remote support.",
          "Requires the Professional plan or higher.", "Ships within 5 working days.")


class Places:
    """Countries weighted as in ``demo_pools.COUNTRIES``, with addresses and phone numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.countries = P.COUNTRIES
        self.cum = list(accumulate(c[9] for c in P.COUNTRIES))

    def country(self) -> Country:
        return self.rng.choices(self.countries, cum_weights=self.cum)[0]

    def address(self, country: Country) -> JSON:
        rng = self.rng
        city, region, pattern = rng.choice(country[6])
        street = rng.choice(country[7])
        number = str(rng.randrange(1, 180))
        postal = "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)
        if country[8]:
            line = f"{number} {street}, {city} {postal}, {country[0]}"
        else:
            line = f"{street} {number}, {postal} {city}, {country[0]}"
        return {"value": line, "country": country[0], "admin_area_level_1": region,
                "locality": city, "route": street, "street_number": number,
                "postal_code": postal}

    def phone(self, country: Country) -> str:
        return f"{country[3]} {self.rng.randrange(20, 999)} {self.rng.randrange(100000, 9999999)}"


class CustomValues:
    """Fills ``custom_fields`` with values valid for each field (``fields.check_value``).

    Attributes:
        specs: entity → ``(field record, hint or options, share of records with a value)``.
        counts: how many users, organizations and persons exist (ids are 1..count).
    """

    def __init__(self, rng: random.Random, places: Places,
                 specs: dict[str, list[tuple[JSON, Any, float]]],
                 counts: dict[str, int], dates: Callable[[int], str]) -> None:
        self.rng = rng
        self.places = places
        self.specs = specs
        self.counts = counts
        self.dates = dates

    def fill(self, entity: str, item_id: int, *, share: float = 1.0,
             drop_unset: bool = False) -> JSON:
        out: JSON = {}
        rng = self.rng
        for field, hint, fraction in self.specs.get(entity, ()):
            if rng.random() < fraction * share:
                out[field["key"]] = self.value(field, hint, item_id)
            elif not drop_unset:
                out[field["key"]] = None
        return out

    def value(self, field: JSON, hint: Any, item_id: int) -> Any:
        rng = self.rng
        ftype = field["field_type"]
        if ftype == "enum":
            return rng.choice(field["options"])["id"]
        if ftype == "set":
            options = field["options"]
            return sorted(o["id"] for o in rng.sample(options, rng.randrange(1, 4)))
        if ftype == "user":
            return rng.randrange(1, self.counts["users"] + 1)
        if ftype == "org":
            return rng.randrange(1, self.counts["organizations"] + 1)
        if ftype == "people":
            return rng.randrange(1, self.counts["persons"] + 1)
        if ftype == "phone":
            return self.places.phone(self.places.country())
        if ftype == "address":
            return self.places.address(self.places.country())
        if ftype == "monetary":
            return {"value": round(rng.lognormvariate(10.5, 1.0), -3),
                    "currency": rng.choice(("EUR", "EUR", "USD", "GBP"))}
        if ftype == "date":
            if hint == "future_date":
                return self.dates(rng.randrange(-60, 540) * DAY)
            return self.dates(-rng.randrange(1, 700) * DAY)
        if ftype == "double":
            if hint == "months":
                return float(rng.choice((6, 12, 12, 24, 36)))
            if hint == "weight":
                return round(rng.uniform(0.1, 12.0), 1)
            return float(rng.randrange(0, 101) if hint == "score" else rng.randrange(1, 40))
        return self._text(hint, item_id)

    def _text(self, hint: Any, item_id: int) -> str:
        rng = self.rng
        if hint == "competitor":
            return rng.choice(_COMPETITORS)
        if hint == "next_steps":
            return rng.choice(_NEXT_STEPS)
        if hint == "linkedin":
            return f"https://www.linkedin.com/in/contact-{item_id}"
        if hint == "vat":
            country = rng.choice(("DE", "FR", "NL", "SE", "EE", "ES"))
            return f"{country}{rng.randrange(10**8, 10**9)}"
        if hint == "account_notes":
            return rng.choice(_ACCOUNT_NOTES)
        if hint == "sku":
            return f"SUP-{rng.randrange(10000, 99999)}"
        return rng.choice(_SPECS)
