"""Generation of the people: users (with the instructors among them) and their badges."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from litmos_sandbox.base import _DAY_MS, _ZONES, ACCOUNT_START, LOGIN_URL, WorldBase
from litmos_sandbox.data import to_ms
from litmos_sandbox.values import ms_dt

if TYPE_CHECKING:
    import random


def _clean(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower()) or "x"


_CITIES = (
    ("Seattle", "WA", "US"),
    ("London", "", "GB"),
    ("Sydney", "NSW", "AU"),
    ("Zürich", "ZH", "CH"),
    ("Montréal", "QC", "CA"),
    ("Austin", "TX", "US"),
)
_COMPANIES = ("Acme & Co", "O'Reilly <Media>", "Globex", "Initech", "Müller GmbH", "")
_JOBS = ("Engineer", "Sales Rep", "Manager", "Nurse", "Driver", "Barista & Trainer", "")
_BADGES = (
    (1201, "First Steps", "Completed a first course", "footsteps", "#FFAA00"),
    (1202, "Quiz Master", "Scored 100% & more", "star", "#00AAFF"),
    (1203, "Night Owl", "Learned after midnight", "owl", "#222222"),
    (1204, "Team Player", "Helped a colleague", "people", "#33CC33"),
    (1205, "Streak: 7 days", "", "fire", "#FF3300"),
    (1206, "Graduate", "Finished a learning path", "cap", "#7744FF"),
)


class PeopleGenerator(WorldBase):
    """Users (/users/details), instructors (/instructors) and badges (/users/{id}/badges)."""

    def _gen_users(self, rng: random.Random, users: list, anchor_ms: int) -> None:
        start_s = to_ms(ACCOUNT_START) // 1000
        span_s = max((anchor_ms - _DAY_MS) // 1000 - start_s, 1)
        offsets = sorted(rng.randrange(span_s) for _ in range(max(len(users) - 1, 0)))
        created = [start_s, *(start_s + o for o in offsets)]
        rows = []
        full_names: list[str] = []
        for i, (uid, first, last) in enumerate(users):
            made = ms_dt(created[i] * 1000)
            full = f"{first} {last}"
            full_names.append(full)
            email = f"{_clean(first)}.{_clean(last)}.{i}@example.com"
            city, state, country = _CITIES[i % len(_CITIES)]
            r = rng.random()
            if i == 0:
                level = "Account_Owner"
            elif r < 0.08:
                level = "Administrator"
            elif r < 0.2:
                level = "Team_Leader"
            else:
                level = "Learner"
            last_login = None
            if i == 0 or rng.random() > 0.15:
                span = max(anchor_ms - created[i] * 1000, 1000)
                last_login = ms_dt((created[i] * 1000 + rng.randrange(span)) // 1000 * 1000)
            manager = rng.randrange(i) if i and rng.random() < 0.7 else None
            rows.append(
                self.row(
                    "users",
                    {
                        "Id": uid,
                        "UserName": email,
                        "FirstName": first,
                        "LastName": last,
                        "FullName": full,
                        "Email": email,
                        "AccessLevel": level,
                        "DisableMessages": rng.random() < 0.1,
                        "Active": i == 0 or rng.random() > 0.1,
                        "Skype": None,
                        "PhoneWork": "",
                        "PhoneMobile": f"+1 555 01{i % 100:02d}",
                        "LastLogin": last_login,
                        "LoginKey": LOGIN_URL + self.new_id(16, 16),
                        "IsCustomUsername": False,
                        "SkipFirstLogin": rng.random() < 0.2,
                        "TimeZone": _ZONES[i % len(_ZONES)],
                        "SalesforceId": None,
                        "OriginalId": 4_138_947 + i * 13,
                        "Street1": f"{i + 1} Main St",
                        "Street2": "",
                        "City": city,
                        "State": state,
                        "PostalCode": f"{10000 + i}",
                        "Country": country,
                        "CompanyName": _COMPANIES[i % len(_COMPANIES)],
                        "JobTitle": _JOBS[int(r * 100) % len(_JOBS)],
                        "CustomField1": ("Blue", "Green & Gold", "")[i % 3],
                        "CustomField2": "",
                        "CustomField3": "",
                        "Culture": ("en-US", "en-GB", "fr-FR")[i % 3],
                        **{f"CustomField{k}": "" for k in range(4, 11)},
                        "SalesforceContactId": None,
                        "SalesforceAccountId": None,
                        "CreatedDate": made,
                        "Points": int(r * 500),
                        "Brand": "Default",
                        "ManagerId": None if manager is None else users[manager][0],
                        "ManagerName": None if manager is None else full_names[manager],
                        "JobRole": "",
                        "ExternalEmployeeId": f"E{100000 + i}",
                    },
                )
            )
        self.tables["users"].load(rows)
        step = 10
        instructors = [r for i, r in enumerate(rows) if i % step == 4 or i == 0]
        self.tables["instructors"].load(
            self.row("instructors", self._user_fields("instructors", r)) for r in instructors
        )

    def _gen_badges(self, rng: random.Random) -> None:
        rows = []
        for uid in self.tables["users"].rows:
            for b in rng.sample(_BADGES, rng.randrange(4)):
                rows.append(
                    self.row(
                        "user_badges",
                        {
                            "ID": b[0],
                            "Title": b[1],
                            "Description": b[2],
                            "Icon": b[3],
                            "IconBgColor": b[4],
                            "IconDisplayUrl": f"https://cdn.sandbox.litmos.com/badges/{b[3]}.png",
                            "UserId": uid,
                        },
                    )
                )
        self.tables["user_badges"].load(rows)
