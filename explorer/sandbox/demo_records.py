"""Demo records of the sales entities: organizations, persons, products, deals and leads."""

from __future__ import annotations

import random
import uuid
from itertools import accumulate
from typing import Any

from explorer.sandbox import demo_pools as P
from explorer.sandbox.demo_fields import FieldSet
from explorer.sandbox.demo_values import DAY, SPAN, Country, CustomValues, Places, Times

JSON = dict[str, Any]

# Sources whose leads and deals arrive through a marketing channel.
_CHANNELLED = frozenset({"WebForms", "LeadBooster", "LiveChat", "WebsiteVisitors", "Prospector"})
_CURRENCY_SCALE = {"JPY": 150.0, "SEK": 11.0, "PTS": 10.0}


def working_hours(t: int) -> int:
    """``t`` moved into 07:00-19:00 UTC of its day (people update CRMs at work)."""
    day, second = divmod(t, DAY)
    if 7 * 3600 <= second < 19 * 3600:
        return t
    return day * DAY + 7 * 3600 + second % (12 * 3600)


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Builder:
    """State of one generation run: the random source, the clock and the records built so far.

    Per-record facts that are not part of a record's API shape (an organization's country, a
    record's creation moment as seconds) live in parallel ``*_meta`` lists indexed by id - 1.
    """

    def __init__(self, rng: random.Random, deals: int, users: int, products: int) -> None:
        self.rng = rng
        self.t = Times()
        self.n_deals, self.n_users, self.n_products = deals, users, products
        self.places = Places(rng)
        self.fields = FieldSet(rng, self.t.v2(-SPAN - 20 * DAY))
        self.values = CustomValues(rng, self.places, {}, {}, self.t.date)
        self.users: list[JSON] = []
        self.stages: dict[int, list[JSON]] = {}
        self.lead_labels: list[JSON] = []
        self.orgs: list[JSON] = []
        self.org_meta: list[tuple[Country, str, int, str]] = []  # country, domain, add, short
        self.persons: list[JSON] = []
        self.person_add: list[int] = []
        self.deals: list[JSON] = []
        self.deal_meta: list[tuple[int, int | None]] = []  # add, closed
        self.leads: list[JSON] = []
        self.lead_add: list[int] = []
        self.products: list[JSON] = []

    # ------------------------------------------------------------------ helpers

    def when(self, span: int = SPAN) -> int:
        """A moment in working hours within ``span`` before the anchor, recent-heavy."""
        days = int((span // DAY) * self.rng.random() ** 1.4) + 1
        return -days * DAY + self.rng.randrange(7 * 3600, 18 * 3600)

    def after(self, t: int, most: int = 90 * DAY) -> int:
        """A moment after ``t`` (by up to ``most``), in working hours and before the anchor."""
        later = working_hours(t + self.rng.randrange(600, max(most, 601)))
        return max(t, min(later, -self.rng.randrange(3600, 3 * DAY)))

    def owner(self) -> int:
        # "You" (user 1) carries a fifth of the book, the other reps the rest.
        if self.rng.random() < 0.2:
            return 1
        return self.rng.randrange(2, self.n_users + 1)

    # ------------------------------------------------------------------ contacts

    def organizations(self) -> None:
        rng, t, fs = self.rng, self.t, self.fields
        industries = fs.option_ids("organization", "industry")
        labels = fs.option_ids("organization", "label_ids")
        for oid in range(1, self.n_deals // 4 + 1):
            country = self.places.country()
            root, (sector, industry) = rng.choice(P.ORG_ROOTS), rng.choice(P.ORG_SECTORS)
            short = f"{root} {sector}{rng.choice(P.ORG_SUFFIXES)}"
            slug = f"{root}{sector}".lower().replace(" ", "").replace("ö", "o").replace("ø", "o")
            domain = f"{slug}.{country[2]}"
            add = self.when()
            self.orgs.append({
                "id": oid, "name": f"{short} {rng.choice(country[4])}",
                "owner_id": self.owner(), "add_time": t.v2(add),
                "update_time": t.v2(self.after(add, 200 * DAY)), "is_deleted": False,
                "visible_to": 3,
                "address": self.places.address(country) if rng.random() < 0.93 else None,
                "label_ids": [rng.choice(labels)] if rng.random() < 0.3 else [],
                "website": f"https://www.{domain}" if rng.random() < 0.7 else None,
                "linkedin": (f"https://www.linkedin.com/company/{slug}"
                             if rng.random() < 0.4 else None),
                "industry": industries[industry - 1] if rng.random() < 0.8 else None,
                "annual_revenue": (rng.randrange(2, 2000) * 100_000
                                   if rng.random() < 0.4 else None),
                "employee_count": (int(rng.lognormvariate(4, 1.4)) + 1
                                   if rng.random() < 0.6 else None),
                "custom_fields": self.values.fill("organization", oid),
            })
            self.org_meta.append((country, domain, add, short))

    def persons_(self) -> None:
        rng, t, places = self.rng, self.t, self.places
        labels = self.fields.option_ids("person", "label_ids")
        providers = P.EMAIL_PROVIDERS
        for pid in range(1, self.n_deals * 3 // 5 + 1):
            org = rng.choice(self.orgs) if rng.random() < 0.88 else None
            meta = self.org_meta[org["id"] - 1] if org is not None else None
            country = meta[0] if meta is not None else places.country()
            first, last = rng.choice(P.FIRST_NAMES), rng.choice(P.LAST_NAMES)
            add = self.when() if meta is None else self.after(meta[2], 240 * DAY)
            local = f"{first}.{last}".lower().replace(" ", "")
            emails: list[JSON] = []
            if meta is not None:
                emails.append({"value": f"{local}@{meta[1]}", "primary": True, "label": "work"})
            for label in ("home", "other", "other")[: rng.choice((0, 1, 1, 2, 3))]:
                emails.append({"value": f"{local}{rng.randrange(1, 99)}@{rng.choice(providers)}",
                               "primary": not emails, "label": label})
            if not emails:
                emails.append({"value": f"{local}@{rng.choice(providers)}", "primary": True,
                               "label": "home"})
            phones = [{"value": places.phone(country), "primary": i == 0, "label": label}
                      for i, label in enumerate(("work", "mobile", "home")[: rng.choice(
                          (1, 1, 2, 2, 3))])]
            self.persons.append({
                "id": pid, "name": f"{first} {last}", "first_name": first, "last_name": last,
                "owner_id": org["owner_id"] if org and rng.random() < 0.8 else self.owner(),
                "org_id": org["id"] if org else None, "add_time": t.v2(add),
                "update_time": t.v2(self.after(add, 200 * DAY)), "emails": emails[:4],
                "phones": phones, "is_deleted": False, "visible_to": 3,
                "label_ids": [rng.choice(labels)] if rng.random() < 0.3 else [],
                "postal_address": places.address(country) if rng.random() < 0.25 else None,
                "birthday": (f"{rng.randrange(1960, 2001)}-{rng.randrange(1, 13):02d}-"
                             f"{rng.randrange(1, 29):02d}" if rng.random() < 0.1 else None),
                "job_title": rng.choice(P.JOB_TITLES) if rng.random() < 0.7 else None,
                "custom_fields": self.values.fill("person", pid),
            })
            self.person_add.append(add)

    def products_(self) -> None:
        rng, t = self.rng, self.t
        kinds, editions = P.PRODUCTS, P.PRODUCT_EDITIONS
        for i in range(self.n_products):
            base, prefix, unit, category, price, once = kinds[i % len(kinds)]
            e = (i // len(kinds)) % len(editions)
            generation = i // (len(kinds) * len(editions))
            pid = i + 1
            price *= (1.0, 0.6, 1.4, 2.5, 1.8, 0.4)[e]
            add = self.when(SPAN + 20 * DAY)
            prices = []
            for currency, rate in (("EUR", 1.0), ("USD", 1.08), ("GBP", 0.86))[
                    : rng.choice((1, 2, 3, 3))]:
                amount = round(price * rate, 2)
                prices.append({"product_id": pid, "price": amount, "currency": currency,
                               "cost": round(amount * rng.uniform(0.3, 0.6), 2),
                               "direct_cost": None, "notes": "List price"})
            name = f"{base}{editions[e]}" + (f" Gen {generation + 1}" if generation else "")
            self.products.append({
                "id": pid, "name": name, "code": f"{prefix}-{pid:04d}", "unit": unit,
                "tax": rng.choice((0.0, 7.0, 19.0, 20.0)), "is_deleted": False,
                "is_linkable": True, "visible_to": 3, "owner_id": self.owner(),
                "add_time": t.v2(add), "update_time": t.v2(self.after(add, 300 * DAY)),
                "description": f"{name}, sold per {unit}.", "category": category,
                "custom_fields": self.values.fill("product", pid),
                "billing_frequency": "one-time" if once else rng.choice(
                    ("monthly", "annually", "annually")),
                "billing_frequency_cycles": (None if once or rng.random() < 0.6
                                             else rng.choice((12, 24, 36))),
                "prices": prices,
            })

    # ------------------------------------------------------------------ deals and leads

    def deals_(self) -> None:
        rng, t = self.rng, self.t
        labels = self.fields.option_ids("deal", "label_ids")
        channels = self.fields.option_ids("deal", "channel")
        sources, weights = P.LEAD_SOURCES, list(accumulate(s[2] for s in P.LEAD_SOURCES))
        for did in range(1, self.n_deals + 1):
            person = rng.choice(self.persons) if rng.random() < 0.93 else None
            org = None
            if person is not None and person["org_id"] is not None:
                org = self.orgs[person["org_id"] - 1]
            elif rng.random() < 0.6:
                org = rng.choice(self.orgs)
            meta = self.org_meta[org["id"] - 1] if org is not None else None
            pipeline = 1 if rng.random() < 0.7 else (3 if rng.random() < 0.65 else 2)
            stages = self.stages[pipeline]
            add = self.when()
            p_open = 0.85 if add > -45 * DAY else 0.5 if add > -180 * DAY else 0.12
            status = "open" if rng.random() < p_open else (
                "won" if rng.random() < 0.55 else "lost")
            if status == "won" and rng.random() < 0.8:
                stage = stages[-1]
            else:
                stage = stages[min(int(rng.random() ** 1.6 * len(stages)), len(stages) - 1)]
            currency = meta[0][5] if meta is not None and rng.random() < 0.7 else "EUR"
            if pipeline == 2 and rng.random() < 0.4:
                currency = "PTS"
            value = 0.0 if rng.random() < 0.04 else round(
                rng.lognormvariate(9.2, 0.9), -2) * _CURRENCY_SCALE.get(currency, 1.0)
            closed = self.after(add, 150 * DAY) if status != "open" else None
            last = add if closed is None else closed
            moved = add + int((last - add) * rng.random()) if stage["order_nr"] > 1 else add
            expected = (t.date(add + rng.randrange(20, 150) * DAY) if closed is None
                        else t.date(closed + rng.randrange(-15, 20) * DAY))
            _, origin, _ = rng.choices(sources, cum_weights=weights)[0]
            channel = rng.choice(channels) if origin in _CHANNELLED or rng.random() < 0.1 \
                else None
            owner = (org or person or {}).get("owner_id") if rng.random() < 0.7 else None
            name = meta[3] if meta is not None else person["name"] if person else "New business"
            self.deals.append({
                "id": did, "title": f"{name} – {rng.choice(P.DEAL_TOPICS)}",
                "owner_id": owner or self.owner(),
                "person_id": person["id"] if person else None,
                "org_id": org["id"] if org else None, "pipeline_id": pipeline,
                "stage_id": stage["id"], "value": value, "currency": currency,
                "add_time": t.v2(add), "update_time": t.v2(self.after(last, 60 * DAY)),
                "stage_change_time": t.v2(moved), "is_deleted": False, "is_archived": False,
                "status": status,
                "probability": (float(rng.choice((10, 25, 50, 75, 90))) if status == "open"
                                and pipeline != 2 and rng.random() < 0.15 else None),
                "lost_reason": rng.choice(P.LOST_REASONS) if status == "lost" else None,
                "visible_to": 1 if rng.random() < 0.05 else 3,
                "close_time": None if closed is None else t.v2(closed),
                "won_time": t.v2(last) if status == "won" else None,
                "lost_time": t.v2(last) if status == "lost" else None,
                "expected_close_date": expected,
                "label_ids": [rng.choice(labels)] if rng.random() < 0.4 else [],
                "origin": origin, "origin_id": None, "channel": channel, "channel_id": None,
                "source_lead_id": None, "arr": None, "mrr": None, "acv": None,
                "custom_fields": self.values.fill("deal", did),
            })
            self.deal_meta.append((add, closed))

    def leads_(self, company_domain: str) -> None:
        rng, t = self.rng, self.t
        channels = self.fields.option_ids("deal", "channel")
        labels = [label["id"] for label in self.lead_labels]
        sources, weights = P.LEAD_SOURCES, list(accumulate(s[2] for s in P.LEAD_SOURCES))
        for i in range(1, self.n_deals * 3 // 10 + 1):
            r = rng.random()
            person = rng.choice(self.persons) if r < 0.8 else None
            org_id = None if person is not None and r > 0.55 else (
                person["org_id"] if person is not None
                else rng.randrange(1, len(self.orgs) + 1))
            add = self.when()
            update = self.after(add, 60 * DAY)
            ms = rng.randrange(1000)
            source, origin, _ = rng.choices(sources, cum_weights=weights)[0]
            owner = self.owner()
            title = (self.org_meta[org_id - 1][3] if org_id is not None
                     else person["name"] if person is not None else "Inbound")
            self.leads.append({
                "id": new_uuid(rng), "title": f"{title} lead", "owner_id": owner,
                "creator_id": owner if source == "Manually created" else 1,
                "label_ids": rng.sample(labels, rng.choice((0, 1, 1, 1, 2))),
                "person_id": person["id"] if person else None, "organization_id": org_id,
                "source_name": source, "origin": origin, "origin_id": None,
                "channel": rng.choice(channels) if origin in _CHANNELLED else None,
                "channel_id": None, "source_deal_id": None,
                "is_archived": rng.random() < (0.05 if add > -90 * DAY else 0.3),
                "was_seen": rng.random() < 0.8,
                "value": ({"amount": round(rng.lognormvariate(8.5, 0.8), -2),
                           "currency": rng.choice(("EUR", "EUR", "USD", "GBP"))}
                          if rng.random() < 0.7 else None),
                "expected_close_date": (t.date(add + rng.randrange(30, 180) * DAY)
                                        if rng.random() < 0.5 else None),
                "next_activity_id": None,
                "add_time": t.lead(add, ms),
                "update_time": t.lead(update, rng.randrange(1000) if update > add else ms),
                "visible_to": "3", "cc_email": f"{company_domain}+lead{i}@pipedrivemail.com",
                "custom_fields": self.values.fill("deal", i, share=0.4, drop_unset=True),
            })
            self.lead_add.append(add)
