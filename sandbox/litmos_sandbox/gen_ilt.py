"""Generation of instructor-led training: locations, sessions, their days, roll calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litmos_sandbox import spec as S  # noqa: N812
from litmos_sandbox.base import _DAY_MS, _ZONES, WorldBase
from litmos_sandbox.values import ms_dt

if TYPE_CHECKING:
    import random


_LOCATIONS = (
    (
        "Room 1 & 2",
        "Ground floor",
        "1 Main St",
        "",
        "Seattle",
        "WA",
        "98101",
        "US",
        "+1 206 555 0100",
    ),
    (
        "London HQ",
        "O'Connell suite",
        "10 Downing St",
        "Floor 2",
        "London",
        "",
        "SW1A 2AA",
        "GB",
        "",
    ),
    ("Online", "", "", "", "", "", "", "", ""),
    ("Sydney <Annex>", "Harbour view", "1 George St", "", "Sydney", "NSW", "2000", "AU", ""),
)


class IltGenerator(WorldBase):
    """Locations, ILT sessions and their days, roll calls and attendance."""

    def _gen_ilt(self, rng: random.Random, anchor_ms: int) -> None:
        loc_rows = [
            self.row("locations", dict(zip(S.LOCATIONS.names, (self.new_id(), *loc), strict=True)))
            for loc in _LOCATIONS
        ]
        self.tables["locations"].load(loc_rows)
        instructors = list(self.tables["instructors"].rows.values())
        users = list(self.tables["users"].rows.values())
        courses = self.tables["courses"].rows
        upos = self.tables["users"].ep.pos
        sessions, days, rollcall, attendance = [], [], [], []
        for mod in self.tables["modules"].rows.values():
            if not mod[S.MODULES.pos("Ilt")]:
                continue
            cid = self._module_course[mod[0]]
            course = courses[cid]
            for k in range(2 + rng.randrange(3)):
                start_day = anchor_ms // _DAY_MS + rng.randrange(-300, 120)
                start = start_day * _DAY_MS + (9 + k % 3) * 3_600_000
                n_days = 1 + rng.randrange(3)
                sid = self.new_id()
                for d in range(n_days):
                    day0 = start + d * _DAY_MS
                    days.append(
                        self.row(
                            "ilt_session_days",
                            {
                                "Id": self.new_id(),
                                "StartDate": ms_dt(day0),
                                "EndDate": ms_dt(day0 + 8 * 3_600_000),
                                "StartTime": f"{9 + k % 3}:00AM",
                                "EndTime": f"{5 + k % 3}:00PM",
                                "SendReminder": d == 0,
                                "ReminderValue": 1 if d == 0 else None,
                                "ReminderMetric": "Days" if d == 0 else None,
                                "CreatedDate": ms_dt(start - 30 * _DAY_MS + 123),
                                "SessionId": sid,
                            },
                        )
                    )
                end = start + (n_days - 1) * _DAY_MS + 8 * 3_600_000
                if instructors and rng.random() > 0.1:
                    ins = instructors[rng.randrange(len(instructors))]
                    ins_id, ins_name = ins[0], f"{ins[2]} {ins[3]}"
                else:
                    ins_id, ins_name = "0", "Multiple Instructors"
                loc = loc_rows[rng.randrange(len(loc_rows))]
                slots = 10 + rng.randrange(20)
                attendees = rng.sample(users, min(len(users), 3 + rng.randrange(6)))
                sessions.append(
                    self.row(
                        "ilt_sessions",
                        {
                            "Id": sid,
                            "Name": f"{course[2]} - session {k + 1}",
                            "InstructorUserId": ins_id,
                            "InstructorName": ins_name,
                            "SessionType": 1 + rng.randrange(4),
                            "TimeZone": _ZONES[k % len(_ZONES)],
                            "Location": loc[1],
                            "LocationId": loc[0],
                            "StartDate": ms_dt(start),
                            "EndDate": ms_dt(end),
                            "CourseName": course[2],
                            "ModuleName": mod[2],
                            "Slots": slots,
                            "Accepted": len(attendees),
                            "EnableWaitList": k % 2 == 0,
                            "CourseId": cid,
                            "ModuleId": mod[0],
                        },
                    )
                )
                past = end < anchor_ms
                for u in attendees:
                    base = {
                        "Id": u[0],
                        "FirstName": u[upos("FirstName")],
                        "LastName": u[upos("LastName")],
                        "Email": u[upos("Email")],
                        "CompanyName": u[upos("CompanyName")],
                        "CourseId": cid,
                        "ModuleId": mod[0],
                        "SessionId": sid,
                    }
                    attended = past and rng.random() < 0.7
                    done = None if not past or rng.random() < 0.2 else attended
                    rollcall.append(
                        self.row(
                            "ilt_rollcall",
                            {
                                **base,
                                "EventStatus": 1 + int(attended),
                                "Score": None,
                                "Completed": done,
                            },
                        )
                    )
                    if attended:
                        attendance.append(
                            self.row(
                                "ilt_attendance",
                                {
                                    **base,
                                    "EventStatus": 2,
                                    "Score": rng.choice((None, 80, 100)),
                                    "Completed": done,
                                },
                            )
                        )
        self.tables["ilt_sessions"].load(sessions)
        self.tables["ilt_session_days"].load(days)
        self.tables["ilt_rollcall"].load(rollcall)
        self.tables["ilt_attendance"].load(attendance)
