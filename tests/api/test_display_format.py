"""Display formatting: negative money per locale (CLDR's patterns), ids without separators.

Expected strings follow the Unicode CLDR currency patterns of each locale: the minus sign goes
before the symbol in English (``-$1,200.00``), before the number where the symbol trails
(``-1.200,00 €``), after the symbol in Dutch and Swiss German (``€ -1.200,00``,
``CHF-1’200.00``); Swedish, Finnish and Estonian use U+2212 MINUS SIGN.
"""

from __future__ import annotations

import pytest

from explorer.api import FieldCatalog, PipedriveClient
from explorer.api.display import format_money, format_number, format_value
from explorer.api.fields import Field

MINUS = "\u2212"


@pytest.mark.parametrize(("locale", "currency", "expected"), [
    ("en_US", "USD", "-$1,200.00"),
    ("en_GB", "GBP", "-£1,200.00"),
    ("ja_JP", "JPY", "-¥1,200"),
    ("de_DE", "EUR", "-1.200,00 €"),
    ("fr_FR", "EUR", "-1\u202f200,00 €"),
    ("nl_NL", "EUR", "€ -1.200,00"),
    ("de_CH", "CHF", "CHF-1’200.00"),
    ("sv_SE", "SEK", f"{MINUS}1\u00a0200,00 kr"),
    ("pt_BR", "BRL", "-R$ 1.200,00"),
])
def test_negative_money(locale: str, currency: str, expected: str) -> None:
    assert format_money(-1200, currency, locale) == expected


def test_positive_money_unchanged() -> None:
    assert format_money(1200, "USD") == "$1,200.00"
    assert format_money(1200, "EUR", "de_DE") == "1.200,00 €"
    assert format_money(1200, "EUR", "nl_NL") == "€ 1.200,00"


def test_minus_zero_shows_no_sign() -> None:
    assert format_money(-0.001, "USD") == "$0.00"
    assert format_number(-1234.5, "en_US") == "-1,234.50"
    assert format_number(-1234.5, "fi_FI") == f"{MINUS}1\u00a0234,50"


def test_account_currencies_decide_symbol_and_decimals() -> None:
    account = {"EUR": {"symbol": "€", "decimal_points": 0}, "XBT": {"symbol": "₿",
                                                                    "decimal_points": 4}}
    assert format_money(-1200.4, "EUR", "en_US", account) == "-€1,200"
    assert format_money(0.5, "XBT", "en_US", account) == "₿0.5000"


async def test_ids_have_no_thousands_separators(
    client: PipedriveClient,
) -> None:
    catalog = FieldCatalog(client)
    await catalog.load("deals")
    next_activity = catalog.field("deals", "Next activity")  # a "double" id field
    assert format_value(next_activity, 12345) == "12345"
    assert format_value(next_activity, 12345.0) == "12345"
    record_id = Field("deals", "id", "ID", "double", False, False)
    assert format_value(record_id, 1234567, locale="de_DE") == "1234567"
    # Pipelines are ids too: named by the resolver, else #id, never "1,234".
    pipeline = catalog.field("deals", "Pipeline")
    assert format_value(pipeline, 1234) == "#1234"
    assert format_value(pipeline, 1234, resolver=lambda kind, i: f"{kind} {i}") == (
        "pipeline 1234")
    # Amounts and counts keep their separators.
    probability = catalog.field("deals", "Probability")
    assert format_value(probability, 12345) == "12,345"
