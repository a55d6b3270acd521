"""Rows of a related tab (a person's deals, a deal's products, …) as a table model.

Each row is a record of the related list; columns are ``Column``s (a header and a function
giving the text), built by ``columns_for`` from field metadata and the name cache when the
rows arrive, so ``data()`` only reads texts computed then. ``target(row)`` says where
activating a row navigates: ``(resource, id, record or None)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from explorer.api import Field, NameCache
from explorer.api.fields import ResourceFields
from explorer.core.columns import cell_text
from explorer.core.detail_fields import TabSpec, plain_text, reference_id, synthetic

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invalid index: a default argument
Record = Mapping[str, Any]
Target = tuple[str, Any, dict[str, Any] | None]

# The columns each resource's rows show in a related tab (the keys the fields know).
RELATED_KEYS: dict[str, tuple[str, ...]] = {
    "deals": ("title", "value", "stage_id", "status", "owner_id", "expected_close_date",
              "is_archived"),
    "persons": ("name", "emails", "phones", "org_id", "owner_id"),
    "organizations": ("name", "address", "owner_id"),
    "leads": ("title", "value", "owner_id", "expected_close_date", "add_time", "is_archived"),
    "activities": ("subject", "type", "due_date", "done", "owner_id"),
    "notes": ("content", "user_id", "add_time"),
}


@dataclass(frozen=True)
class Column:
    header: str
    text: Callable[[Record], str]


def _field_column(names: NameCache, field: Field) -> Column:
    def text(record: Record) -> str:
        shown = cell_text(names, field, record)
        return plain_text(shown) if field.key == "content" else shown
    return Column(field.name, text)


def columns_for(spec: TabSpec, fields: ResourceFields | None, names: NameCache) -> list[Column]:
    """The columns of ``spec``'s rows."""
    if spec.kind == "related":
        return _related_columns(spec.name, names)
    resource = spec.target
    out = []
    for key in RELATED_KEYS.get(resource, ("name",)):
        field = fields.get(key) if fields is not None else None
        if field is None or field.is_custom:
            field = synthetic(resource, key, None)
            if key.endswith("_id"):
                field = Field(resource, key, key[:-3].replace("_", " ").capitalize(),
                              "varchar", False, False)
        out.append(_field_column(names, field))
    return out


def _money(names: NameCache, key: str) -> Callable[[Record], str]:
    def text(record: Record) -> str:
        amount = record.get(key)
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            return ""
        currency = record.get("currency")
        return names.format_money(amount, currency if isinstance(currency, str) else None)
    return text


def _plain(key: str) -> Callable[[Record], str]:
    def text(record: Record) -> str:
        value = record.get(key)
        return "" if value is None else str(value)
    return text


def _person_name(record: Record) -> str:
    person = record.get("person")
    if isinstance(person, dict) and person.get("name"):
        return str(person["name"])
    ref = record.get("person_id")
    return str(ref.get("name") or "") if isinstance(ref, dict) else ""


def _related_columns(name: str, names: NameCache) -> list[Column]:
    if name == "products":
        return [Column("Product", _plain("name")), Column("Quantity", _plain("quantity")),
                Column("Price", _money(names, "item_price")), Column("Sum", _money(names, "sum"))]
    if name == "participants":
        return [Column("Person", _person_name), Column("Added", _plain("add_time"))]
    if name == "followers":
        def user(record: Record) -> str:
            ident = record.get("user_id")
            found = names.resolve("user", ident) if isinstance(ident, int) else None
            return found or f"#{ident}"
        return [Column("User", user), Column("Following since", _plain("add_time"))]
    return [Column("Item", lambda r: str(r.get("name") or r.get("id") or ""))]


def row_target(spec: TabSpec, record: Record) -> Target | None:
    """Where activating a row of ``spec`` goes."""
    if spec.kind in ("list", "link"):
        ident = record.get("id")
        return None if ident is None else (spec.target, ident, dict(record))
    if spec.name == "products":
        ident = reference_id(record.get("product_id"))
        return None if ident is None else ("products", ident, None)
    if spec.name == "participants":
        person = record.get("person")
        ident = reference_id(person.get("id") if isinstance(person, dict) else None)
        ident = ident if ident is not None else reference_id(record.get("person_id"))
        return None if ident is None else ("persons", ident, None)
    if spec.name == "followers":
        ident = reference_id(record.get("user_id"))
        return None if ident is None else ("users", ident, None)
    return None


class RelatedModel(QAbstractTableModel):
    """The rows of one related tab.

    Attributes:
        spec: the tab (``TabSpec``) the rows belong to.
        more: whether the list has more rows than loaded.
    """

    def __init__(self, spec: TabSpec, parent: Any = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.more = False
        self._columns: list[Column] = []
        self._records: list[dict[str, Any]] = []
        self._texts: list[list[str]] = []

    def set_rows(self, records: Sequence[Record], columns: Sequence[Column],
                 more: bool = False) -> None:
        self.beginResetModel()
        self._columns = list(columns)
        self._records = [dict(r) for r in records]
        self._texts = [self._texts_of(r) for r in self._records]
        self.more = more
        self.endResetModel()

    def append_rows(self, records: Sequence[Record], more: bool) -> None:
        seen = {r.get("id") for r in self._records if r.get("id") is not None}
        fresh = [dict(r) for r in records if r.get("id") is None or r.get("id") not in seen]
        self.more = more
        if not fresh:
            return
        first = len(self._records)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        self._records += fresh
        self._texts += [self._texts_of(r) for r in fresh]
        self.endInsertRows()

    def _texts_of(self, record: Record) -> list[str]:
        return [column.text(record) for column in self._columns]

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    def target(self, row: int) -> Target | None:
        if 0 <= row < len(self._records):
            return row_target(self.spec, self._records[row])
        return None

    def text(self, row: int, column: int) -> str:
        return self._texts[row][column]

    # ------------------------------------------------------------------ Qt model

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._columns):
            return self._columns[section].header
        if orientation == Qt.Orientation.Vertical:
            return section + 1
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole,
                                               Qt.ItemDataRole.ToolTipRole):
            return None
        row, column = index.row(), index.column()
        if row >= len(self._texts) or column >= len(self._columns):
            return None
        return self._texts[row][column]
