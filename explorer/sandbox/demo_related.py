"""Demo data around the main records: archived deals, deal products, followers, file metadata
and the field history (changelog) a detail pane shows.

It draws from its own ``random.Random`` (derived from the seed), so adding it left every
record the main generator makes unchanged, and it runs after that generator has drawn
everything it needs.
"""

from __future__ import annotations

import random
from typing import Any

from explorer.sandbox.demo_records import Builder, working_hours
from explorer.sandbox.demo_values import DAY
from explorer.sandbox.derived import deal_product_sum
from explorer.sandbox.store import Store

JSON = dict[str, Any]

_FILES = (
    ("Proposal {org}.pdf", "pdf", 180_000, 2_400_000),
    ("Quote {year}-{n:04d}.pdf", "pdf", 60_000, 400_000),
    ("Signed contract.pdf", "pdf", 300_000, 3_000_000),
    ("Requirements.docx", "doc", 40_000, 900_000),
    ("Pricing calculation.xlsx", "xls", 25_000, 600_000),
    ("Meeting notes {date}.docx", "doc", 15_000, 120_000),
    ("Site photo.jpg", "img", 800_000, 4_500_000),
    ("Logo.png", "img", 12_000, 250_000),
    ("NDA.pdf", "pdf", 90_000, 350_000),
)
_JOB_TITLES = ("Sales Manager", "Head of Procurement", "IT Manager", "Operations Lead",
               "Purchasing Agent", "Project Manager", "Office Manager")


class Related:
    """Builds the related records from a finished ``Builder``'s deals, contacts and products."""

    def __init__(self, b: Builder, seed: int) -> None:
        self.b = b
        self.rng = random.Random(seed * 1_000_003 + 17)
        self.deal_products: list[JSON] = []
        self.followers: list[JSON] = []
        self.files: list[JSON] = []
        self.changes: list[tuple[str, int, str, Any, Any, int, str]] = []

    def later(self, t: int, least: int, most: int) -> int:
        """A working-hours moment ``least``..``most`` seconds after ``t``, before the anchor."""
        moment = working_hours(t + self.rng.randrange(least, most))
        return max(t, min(moment, -self.rng.randrange(3600, 2 * DAY)))

    # ------------------------------------------------------------------ deals

    def archive_deals(self) -> None:
        """Archive some long-closed deals and a few stale open ones (Pipedrive users archive
        old deals to keep the pipeline lean); each archived deal's update_time moves with it."""
        t = self.b.t
        for deal, (add, closed) in zip(self.b.deals, self.b.deal_meta, strict=True):
            deal["archive_time"] = None
            old_closed = closed is not None and closed < -120 * DAY
            stale = closed is None and add < -400 * DAY
            if not ((old_closed and self.rng.random() < 0.3)
                    or (stale and self.rng.random() < 0.25)):
                continue
            at = self.later(closed if closed is not None else add, 30 * DAY, 200 * DAY)
            deal["is_archived"] = True
            deal["archive_time"] = t.v2(at)
            deal["update_time"] = max(deal["update_time"], deal["archive_time"])
            self.changes.append(("deals", deal["id"], "is_archived", False, True,
                                 deal["owner_id"], deal["archive_time"]))

    def products(self) -> None:
        """Attach products to about two deals in five; the items add up to the deal's value."""
        rng, t = self.rng, self.b.t
        catalogue = self.b.products
        for deal, (add, _) in zip(self.b.deals, self.b.deal_meta, strict=True):
            value = deal["value"]
            if not value or rng.random() > 0.4:
                continue
            picked = rng.sample(catalogue, rng.choice((1, 1, 2, 2, 3)))
            weights = [rng.random() + 0.2 for _ in picked]
            left = value
            when = t.v2(add + rng.randrange(600, 3 * DAY)) if add < -3 * DAY else deal["add_time"]
            for order, (product, weight) in enumerate(zip(picked, weights, strict=True), 1):
                last = order == len(picked)
                quantity = 1 if last else rng.choice((1, 1, 2, 5, 10, 12, 25))
                share = left if last else value * weight / sum(weights)
                # Whole prices, so the items add up to the deal's whole value exactly.
                price = left if last else max(1, round(share / quantity))
                if not last and quantity * price >= left:  # leave the last item a price
                    quantity, price = 1, max(1, int(left // 2))
                recurring = product["billing_frequency"] != "one-time"
                item: JSON = {
                    "id": len(self.deal_products) + 1, "deal_id": deal["id"],
                    "product_id": product["id"], "name": product["name"],
                    "product_variation_id": None, "order_nr": order, "add_time": when,
                    "update_time": when, "comments": "", "currency": deal["currency"],
                    "discount": 0, "discount_type": "percentage", "quantity": quantity,
                    "item_price": price, "tax": product.get("tax") or 0,
                    "tax_method": "inclusive", "is_enabled": True,
                    "billing_frequency": product["billing_frequency"],
                    "billing_frequency_cycles": product["billing_frequency_cycles"],
                    "billing_start_date": deal["expected_close_date"] if recurring else None,
                }
                item["sum"] = deal_product_sum(item)
                left = round(left - item["sum"], 2)
                self.deal_products.append(item)

    def deal_history(self) -> None:
        """Stage moves and the close of each deal, as the changelog records them."""
        for deal in self.b.deals:
            first = self.b.stages[deal["pipeline_id"]][0]["id"]
            if deal["stage_change_time"] > deal["add_time"] and deal["stage_id"] != first:
                self.changes.append(("deals", deal["id"], "stage_id", first, deal["stage_id"],
                                     deal["owner_id"], deal["stage_change_time"]))
            if deal["status"] != "open" and deal["close_time"]:
                self.changes.append(("deals", deal["id"], "status", "open", deal["status"],
                                     deal["owner_id"], deal["close_time"]))

    # ------------------------------------------------------------------ contacts

    def contact_history(self) -> None:
        """A job-title or owner change on some persons, an owner change on some organizations;
        each ends at the record's current value and update_time."""
        rng = self.rng
        for person in self.b.persons:
            if person["update_time"] <= person["add_time"] or rng.random() > 0.3:
                continue
            if person.get("job_title") and rng.random() < 0.6:
                old = rng.choice([j for j in _JOB_TITLES if j != person["job_title"]])
                self.changes.append(("persons", person["id"], "job_title", old,
                                     person["job_title"], person["owner_id"],
                                     person["update_time"]))
            else:
                self.changes.append(("persons", person["id"], "owner_id",
                                     self._other_user(person["owner_id"]),
                                     person["owner_id"], 1, person["update_time"]))
        for org in self.b.orgs:
            if org["update_time"] <= org["add_time"] or rng.random() > 0.25:
                continue
            self.changes.append(("organizations", org["id"], "owner_id",
                                 self._other_user(org["owner_id"]),
                                 org["owner_id"], 1, org["update_time"]))

    def _other_user(self, user_id: int) -> int:
        """A user other than ``user_id``: the owner before an owner change."""
        return self.rng.choice([u for u in range(1, self.b.n_users + 1) if u != user_id])

    # ------------------------------------------------------------------ followers and files

    def follow(self) -> None:
        """Owners follow their records (Pipedrive adds them); some records have a second
        follower, a colleague who joined later."""
        for entity, records in (("deal", self.b.deals), ("person", self.b.persons),
                                ("organization", self.b.orgs), ("product", self.b.products)):
            for record in records:
                self._follower(entity, record["id"], record["owner_id"], record["add_time"])
                if self.rng.random() < 0.15:
                    other = self.rng.randrange(1, self.b.n_users + 1)
                    if other != record["owner_id"]:
                        self._follower(entity, record["id"], other, record["update_time"])

    def _follower(self, entity: str, item_id: int, user_id: int, since: str) -> None:
        self.followers.append({"id": len(self.followers) + 1, "entity": entity,
                               "item_id": item_id, "user_id": user_id, "add_time": since})

    def attach_files(self) -> None:
        """File metadata on some deals, persons and organizations. A file on a deal is also
        linked to the deal's person and organization, as Pipedrive links it."""
        rng = self.rng
        for deal, (add, _) in zip(self.b.deals, self.b.deal_meta, strict=True):
            if rng.random() < 0.12:
                for _ in range(rng.choice((1, 1, 2, 3))):
                    self._file(add, deal["owner_id"], deal_id=deal["id"],
                               person_id=deal["person_id"], org_id=deal["org_id"])
        for person, add in zip(self.b.persons, self.b.person_add, strict=True):
            if rng.random() < 0.05:
                self._file(add, person["owner_id"], person_id=person["id"],
                           org_id=person["org_id"])
        for org, meta in zip(self.b.orgs, self.b.org_meta, strict=True):
            if rng.random() < 0.08:
                self._file(meta[2], org["owner_id"], org_id=org["id"])

    def _file(self, after: int, owner: int, **links: int | None) -> None:
        rng, t = self.rng, self.b.t
        pattern, kind, small, big = rng.choice(_FILES)
        at = self.later(after, 600, 120 * DAY)
        org_id = links.get("org_id")
        name = pattern.format(
            org=self.b.org_meta[org_id - 1][3] if org_id else "client",
            year=t.date(at)[:4], n=len(self.files) + 1, date=t.date(at))
        file_id = len(self.files) + 1
        self.files.append({
            "id": file_id, "user_id": owner if rng.random() < 0.8 else 1,
            "deal_id": links.get("deal_id"), "person_id": links.get("person_id"),
            "org_id": org_id, "product_id": None, "activity_id": None, "lead_id": None,
            "add_time": t.v1(at), "update_time": t.v1(at), "file_name": _stored_name(name, at),
            "file_type": kind, "file_size": rng.randrange(small, big), "active_flag": True,
            "inline_flag": False, "remote_location": "s3", "remote_id": name, "cid": "",
            "s3_bucket": "", "mail_message_id": "", "mail_template_id": "", "name": name,
            "description": "",
        })

    # ------------------------------------------------------------------ storing

    def store(self, store: Store) -> None:
        store.insert_many("deal_products", self.deal_products)
        store.insert_many("followers", self.followers)
        store.insert_many("files", self.files)
        self.changes.sort(key=lambda c: c[6])
        with store.transaction():
            store.log_rows((*change, "app") for change in self.changes)


def _stored_name(name: str, at: int) -> str:
    """Pipedrive stores an upload under its name plus a unique suffix."""
    stem, dot, ext = name.rpartition(".")
    return f"{stem.replace(' ', '_')}_{abs(at):x}{dot}{ext}"


def generate_related(b: Builder, seed: int) -> Related:
    """Everything this module adds, drawn in a fixed order (call after the main records)."""
    related = Related(b, seed)
    related.archive_deals()
    related.products()
    related.deal_history()
    related.contact_history()
    related.follow()
    related.attach_files()
    return related
