"""The two building blocks of the endpoint table (``spec.py``): a field and an endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = frozenset({"str", "int", "bool", "dec", "wcf", "isoz", "org", "list", "strs"})


@dataclass(frozen=True)
class Field:
    """One wire field. ``ref``: this field holds a key of that stream (joins).

    ``copy=(ref_field, source)``: the value is ``source`` of the row that ``ref_field``
    (another field of this row, with a ``ref``) points at (names, Original*Id ...).
    ``child``: the nested spec of a ``list`` field.
    """

    name: str
    kind: str = "str"
    ref: str | None = None
    copy: tuple[str, str] | None = None
    child: Endpoint | None = None


@dataclass(frozen=True)
class Endpoint:
    """One list endpoint (or one nested row type / flattened truth stream)."""

    stream: str
    path: str  # under /v1.svc; {Name} parts are path parameters
    root: str  # XML root element
    row: str  # XML row element
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    family: str  # snapshot | org | ilt | child | achievements | node
    parents: tuple[Field, ...] = ()  # truth-only parent ids appended after the wire fields
    date_field: str | None = None  # org: the filtered field; snapshot: the `since` field
    order: str = "insertion"
    note: str = ""
    sortable: bool = False  # accepts sort=<field>&dir=ASC|DESC
    _pos: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Index the columns."""
        for f in self.fields + self.parents:
            if f.kind not in KINDS:
                msg = f"{self.stream}.{f.name}: unknown kind {f.kind!r}"
                raise ValueError(msg)
        self._pos.update({name: i for i, name in enumerate(self.columns)})

    @property
    def names(self) -> tuple[str, ...]:
        """Wire field names in wire order."""
        return tuple(f.name for f in self.fields)

    @property
    def columns(self) -> tuple[str, ...]:
        """Stored/truth columns: wire fields then parent ids."""
        return tuple(f.name for f in self.fields + self.parents)

    def pos(self, name: str) -> int:
        """Column index of ``name``."""
        return self._pos[name]

    def field(self, name: str) -> Field:
        """The field (or parent) called ``name``."""
        for f in self.fields + self.parents:
            if f.name == name:
                return f
        raise KeyError(name)

    def key_of(self, row: tuple) -> object:
        """The primary key of a stored row: a scalar, or a tuple for composite keys."""
        if len(self.key) == 1:
            return row[self._pos[self.key[0]]]
        return tuple(row[self._pos[k]] for k in self.key)

    def describe(self) -> dict[str, object]:
        """A JSON-ready description (``/_sandbox/spec``)."""
        return {
            "stream": self.stream,
            "path": self.path,
            "root": self.root,
            "row": self.row,
            "primary_key": list(self.key),
            "family": self.family,
            "date_field": self.date_field,
            "order": self.order,
            "fields": [{"name": f.name, "kind": f.kind} for f in self.fields],
            "parents": [f.name for f in self.parents],
            "note": self.note,
        }


def fields_from(spec: str) -> tuple[Field, ...]:
    """``"Id Name Active:bool"`` -> Fields (kind after ``:``, default str)."""
    out = []
    for token in spec.split():
        name, _, kind = token.partition(":")
        out.append(Field(name, kind or "str"))
    return tuple(out)


def with_fields(fields: tuple[Field, ...], **changes: Field) -> tuple[Field, ...]:
    """``fields`` with some replaced by name (``ManagerId=Field("ManagerId", ref=U)``)."""
    return tuple(changes.get(f.name, f) for f in fields)
