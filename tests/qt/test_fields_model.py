"""The detail pane's ``FieldsModel`` on its own: a sandbox deal in groups, checked by Qt's model
tester while it is filled, refreshed, filtered and cleared."""

from __future__ import annotations

from typing import Any

from explorer.core import detail_fields
from explorer.core.session import Session
from explorer.qt.models.detail import FieldsModel
from explorer.sandbox.store import Store


async def test_fields_model_passes_the_model_tester_through_its_life(
        session: Session, store: Store, qtmodeltester: Any) -> None:
    deal = next(d for d in store.select("deals") if not d.get("is_archived"))
    record = await session.client.get("deals", deal["id"])
    fields = await session.fields("deals")
    await session.names.load_records("deals", [record], session.catalog)
    model = FieldsModel()
    qtmodeltester.check(model)  # empty
    model.set_record("deals", record, detail_fields.group_fields("deals", record, fields),
                     session.names)
    qtmodeltester.check(model)
    assert model.rowCount() == len(model.groups()) > 0
    assert model.groups()[0] == "Summary"
    total = sum(model.rowCount(model.index(g, 0)) for g in range(model.rowCount()))
    assert total == len(model.rows())
    custom = [r.field.name for r in model.rows("Custom fields")]
    assert custom == [f["name"] for f in store.select("fields")  # every one, by name
                      if f["entity"] == "deal" and f["is_custom"]]

    model.set_hide_empty(True)
    qtmodeltester.check(model)
    assert all(r.text for r in model.rows())
    model.refresh(session.names)
    qtmodeltester.check(model)
    model.clear()
    qtmodeltester.check(model)
    assert model.rowCount() == 0
