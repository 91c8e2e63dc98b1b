"""Generation of the catalog: courses, learning paths, their modules, and teams."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from litmos_sandbox.base import _DAY_MS, WorldBase
from litmos_sandbox.data import to_ms
from litmos_sandbox.values import ms_dt

if TYPE_CHECKING:
    import random

    from litmos_sandbox.world import Sizes


_TEAM_NAMES = (
    "Sales",
    "R&D",
    "Customer Success",
    "O'Hare Depot",
    "Finance",
    "<Ops>",
    "Support",
    "Marketing",
)
_TOPICS = (
    "Safety",
    "Compliance",
    "Leadership",
    "Excel",
    "Privacy & Security",
    "Onboarding",
    "Customer Care",
    "Sales Skills",
    "Writing",
    "Ethics",
)


#: The course custom fields: (Label, Type, DefaultValue, Mandatory, VisibleToLearner,
#: Dropdown). Values are set per course by `_gen_course_custom_fields`.
_CUSTOM_FIELDS = (
    ("Regulation", "Dropdown", "", True, True, ("SOX", "GDPR", "HIPAA", "OSHA")),
    ("Business Unit & Region", "Text", "", False, False, ()),
    ("Continuing Education Units", "Number", "4", False, True, ()),
    ("Review <owner>", "Text", None, False, False, ()),
)
_BUSINESS_UNITS = ("Finance EMEA", "Sales & Marketing", "R&D", "Operations", "")


class CatalogGenerator(WorldBase):
    """Courses, learning paths, modules (internal) and teams (a hierarchy)."""

    def _gen_course_custom_fields(self, rng: random.Random) -> None:
        """The custom field definitions, and each course's values (some courses have none).

        Called with a random stream of its own, after every other generator: the rest of
        the account is the same with or without custom fields.
        """
        self.tables["course_custom_fields"].load(
            self.row(
                "course_custom_fields",
                {
                    "CustomFieldId": self.new_id(12, 12, rng=rng),
                    "Label": label,
                    "DefaultValue": default,
                    "Mandatory": mandatory,
                    "VisibleToLearner": visible,
                    "Type": kind,
                    "Dropdown": choices,
                },
            )
            for label, kind, default, mandatory, visible, choices in _CUSTOM_FIELDS
        )
        values = []
        for i, cid in enumerate(self.tables["courses"].rows):
            if i % 5 == 4:
                continue  # a course with no value set: an empty list
            regulation = _CUSTOM_FIELDS[0][5][rng.randrange(4)]
            set_here = {
                "Regulation": regulation,
                "Business Unit & Region": rng.choice(_BUSINESS_UNITS),
                "Continuing Education Units": str(rng.randrange(1, 9)) if i % 3 else None,
                "Review <owner>": None if i % 2 else "J. O'Brien",
            }
            values.extend(
                self.row(
                    "course_custom_field_values",
                    {"fieldname": label, "Value": value, "CourseId": cid},
                )
                for label, value in set_here.items()
                if value is not None
            )
        self.tables["course_custom_field_values"].load(values)

    def _gen_catalog(self, rng: random.Random, catalog: list, sz: Sizes) -> None:
        courses = [(c[0], c[1], c[2]) for c in catalog if not c[4]]
        lps = [(c[0], c[1], c[2]) for c in catalog if c[4]]
        n = len(courses)
        while len(courses) < sz.courses:
            n += 1
            topic = _TOPICS[n % len(_TOPICS)]
            courses.append((self.new_id(), f"{topic} {n:03d}", f"All about {topic.lower()}"))
        while len(lps) < sz.learning_paths:
            k = len(lps) + 1
            lps.append((self.new_id(), f"Path {k:03d}: {_TOPICS[k % len(_TOPICS)]}", ""))
        owner = self._owner
        crow = []
        for i, (cid, name, desc) in enumerate(courses):
            sale = rng.random() < 0.1
            till = rng.random() < 0.1
            crow.append(
                self.row(
                    "courses",
                    {
                        "Id": cid,
                        "Code": f"C{i + 1:04d}",
                        "Name": name,
                        "Active": rng.random() > 0.1,
                        "ForSale": sale,
                        "OriginalId": 700_000 + i * 7,
                        "Description": desc,
                        "EcommerceShortDescription": "",
                        "EcommerceLongDescription": "",
                        "CourseCodeForBulkImport": f"BULK-{i + 1}" if i % 3 else "",
                        "Price": Decimal("100.0") if sale else Decimal("0.00"),
                        "AccessTillDate": ms_dt(to_ms(self.anchor) + 200 * _DAY_MS)
                        if till
                        else None,
                        "AccessTillDays": 90 if i % 5 == 1 else None,
                        "CourseTeamLibrary": i % 4 == 0,
                        "CreatedBy": owner,
                        "SeqId": i + 1,
                    },
                )
            )
        self.tables["courses"].load(crow)
        self.tables["learning_paths"].load(
            self.row(
                "learning_paths",
                {
                    "Id": lid,
                    "Name": name,
                    "Description": desc,
                    "Active": True,
                    "OriginalId": 800_000 + i * 11,
                    "ForSale": False,
                    "Price": Decimal("0.00"),
                    "EcommerceShortDescription": "",
                    "EcommerceLongDescription": "",
                    "AccessTillDate": None,
                    "AccessTillDays": None,
                    "IsEquivalency": i % 3 == 2,
                    "LearningPathTeamLibrary": i % 2 == 0,
                },
            )
            for i, (lid, name, desc) in enumerate(lps)
        )
        mods = []
        for i, (cid, name, _) in enumerate(courses):
            for k in range(2 + i % 3):
                mods.append(
                    self.row(
                        "modules",
                        {
                            "Id": self.new_id(),
                            "Code": f"M{i + 1:04d}-{k + 1}",
                            "Name": f"{name}: part {k + 1}",
                            "Description": "",
                            "Passmark": (70, 80, 0)[k % 3],
                            "OriginalId": 900_000 + len(mods),
                            "Ilt": False,
                        },
                    )
                    + (cid,)
                )
            if i % 4 == 2:
                mods.append(
                    self.row(
                        "modules",
                        {
                            "Id": self.new_id(),
                            "Code": f"ILT{i + 1:04d}",
                            "Name": f"{name} (classroom)",
                            "Description": "Instructor-led",
                            "Passmark": 0,
                            "OriginalId": 900_000 + len(mods),
                            "Ilt": True,
                        },
                    )
                    + (cid,)
                )
        self._module_course = {m[0]: m[-1] for m in mods}
        self.tables["modules"].load(m[:-1] for m in mods)

    def _gen_teams(self, rng: random.Random, n: int) -> None:
        rows: list[tuple] = []
        for i in range(n):
            parent = "" if i == 0 or rng.random() < 0.25 else rows[rng.randrange(i)][0]
            rows.append(
                self.row(
                    "teams",
                    {
                        "Id": self.new_id(),
                        "Name": f"{_TEAM_NAMES[i % len(_TEAM_NAMES)]} {i + 1}",
                        "TeamCodeForBulkImport": f"T{i + 1:03d}" if i % 4 else "",
                        "ParentTeamId": parent,
                    },
                )
            )
        self.tables["teams"].load(rows)
        self.hidden["teams", "OriginalId"] = {r[0]: 600_000 + i * 3 for i, r in enumerate(rows)}
