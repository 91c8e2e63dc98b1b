r"""The endpoint table: one declarative spec per Litmos list endpoint (docs/litmos-api.md §6).

Every endpoint the sandbox serves is a row of :data:`ENDPOINTS`. One generic handler
(``server.py``) and one JSON and one XML renderer (``render.py``) read these specs; the
world (``world.py``) stores rows as tuples in the spec's ``columns`` order (wire fields,
then the parent ids a flattened stream adds).

Field kinds (how a value goes on the wire; the ground truth is always the typed value):

========  ==============================================================================
kind      wire form (JSON / XML)
========  ==============================================================================
str       JSON string, HTML-encoded (``&amp;``), ``/`` as ``\\/``; XML text;
          None -> null / ``i:nil``
int       JSON number; XML text
bool      ``true`` / ``false``
dec       decimal text (``0.00``, ``50.0``); truth is :class:`decimal.Decimal`
wcf       JSON ``"\\/Date(ms-0700)\\/"`` (Pacific reading, §3.4 item 1); XML zone-less wall clock
isoz      ISO text with ``Z`` in both (``2016-12-09T07:54:27Z``; ``.mmm`` only when non-zero);
          None is ``""`` on the wire (``LastLogin`` of a user who never logged in, §3.3)
org       zone-less ISO text in both (``2021-09-20T23:25:47.59``: .NET style, trailing
          fractional zeros trimmed; §3.4 item 3); the value is a UTC wall clock
list      nested rows: JSON array under the field name, XML ``<Name><Row>..</Row></Name>``
strs      a list of texts (stored as a tuple): JSON array of strings (HTML-encoded), XML
          ``<Name xmlns:a=".../Arrays"><a:string>..</a:string></Name>`` as WCF writes a
          string array; None -> null / ``i:nil``; truth is a list
========  ==============================================================================
"""

from __future__ import annotations

from litmos_sandbox.endpoint import KINDS, Endpoint, Field
from litmos_sandbox.endpoint import fields_from as _f
from litmos_sandbox.endpoint import with_fields as _with

__all__ = ["KINDS", "Endpoint", "Field"]  # the building blocks, re-exported with the table

U = "users"
C = "courses"
T = "teams"
LP = "learning_paths"
M = "modules"

_ORG_NOTE = (
    "since AND to required (<= 7 days); filtered on {df} with since/to inclusiveness set by "
    "org_since_inclusive (default True) / org_to_inclusive (default False); ascending "
    "{df} then primary key (org_order: date_desc, key)."
)

# --- snapshots ------------------------------------------------------------------------------

USERS = Endpoint(
    "users",
    "/users/details",
    "Users",
    "User",
    _with(
        _f(
            "Id UserName FirstName LastName FullName Email AccessLevel DisableMessages:bool "
            "Active:bool Skype PhoneWork PhoneMobile LastLogin:isoz LoginKey "
            "IsCustomUsername:bool SkipFirstLogin:bool TimeZone SalesforceId OriginalId:int "
            "Street1 Street2 City State PostalCode Country CompanyName JobTitle CustomField1 "
            "CustomField2 CustomField3 Culture CustomField4 CustomField5 CustomField6 "
            "CustomField7 CustomField8 CustomField9 CustomField10 SalesforceContactId "
            "SalesforceAccountId CreatedDate:isoz Points:int Brand ManagerId ManagerName "
            "JobRole ExternalEmployeeId"
        ),
        ManagerId=Field("ManagerId", ref=U),
    ),
    ("Id",),
    "snapshot",
    date_field="CreatedDate",
    sortable=True,
    note="Includes inactive users. since=<date> filters CreatedDate >= since; "
    "sort=<field>&dir=ASC|DESC (e.g. sort=CreatedDate&dir=ASC; default order is creation "
    "order, which is CreatedDate ascending). Order follows §6.1 (Culture after CustomField3); "
    'Password omitted. LastLogin is "" when never logged in.',
)
COURSE_CUSTOM_FIELDS = Endpoint(
    "course_custom_fields",
    "/coursecustomfields",
    "CourseCustomFields",
    "CourseCustomField",
    _f("CustomFieldId Label DefaultValue Mandatory:bool VisibleToLearner:bool Type Dropdown:strs"),
    ("CustomFieldId",),
    "snapshot",
    note="[uncertain] Dropdown's items (texts here; SAP-OAS says objects without properties) "
    "and the XML names. Dropdown is [] for a field that is not a dropdown.",
)
COURSES = Endpoint(
    "courses",
    "/courses",
    "Courses",
    "Course",
    _f(
        "Id Code Name Active:bool ForSale:bool OriginalId:int Description "
        "EcommerceShortDescription EcommerceLongDescription CourseCodeForBulkImport Price:dec "
        "AccessTillDate:wcf AccessTillDays:int CourseTeamLibrary:bool CreatedBy:int SeqId:int"
    ),
    ("Id",),
    "snapshot",
    note="CreatedBy is the creator's OriginalId (int), as in /org/*.",
)
TEAMS = Endpoint(
    "teams",
    "/teams",
    "Teams",
    "Team",
    _with(
        _f("Id Name TeamCodeForBulkImport ParentTeamId"), ParentTeamId=Field("ParentTeamId", ref=T)
    ),
    ("Id",),
    "snapshot",
    note='A hierarchy; roots have ParentTeamId "" (never null here).',
)
LEARNING_PATHS = Endpoint(
    "learning_paths",
    "/learningpaths",
    "LearningPaths",
    "LearningPath",
    _f(
        "Id Name Description Active:bool OriginalId:int ForSale:bool Price:dec "
        "EcommerceShortDescription EcommerceLongDescription AccessTillDate:wcf "
        "AccessTillDays:int IsEquivalency:bool LearningPathTeamLibrary:bool"
    ),
    ("Id",),
    "snapshot",
)
INSTRUCTORS = Endpoint(
    "instructors",
    "/instructors",
    "Instructors",
    "Instructor",
    _with(
        _f("Id UserName FirstName LastName Active:bool Email AccessLevel Brand"),
        Id=Field("Id", ref=U),
    ),
    ("Id",),
    "snapshot",
    note="A subset of users (same Id).",
)
LOCATIONS = Endpoint(
    "locations",
    "/locations",
    "Locations",
    "Location",
    _f("LocationId Location Description Street1 Street2 City State PostalCode Country Phone"),
    ("LocationId",),
    "snapshot",
)

# --- ILT tree (/sessions/past, /sessions/future) ----------------------------------------------

SESSION_DAY = Endpoint(
    "ilt_session_days",
    "/sessions/past + /sessions/future (Days)",
    "Days",
    "SessionDay",
    _f(
        "Id StartDate:wcf EndDate:wcf StartTime EndTime SendReminder:bool ReminderValue:int "
        "ReminderMetric CreatedDate:wcf"
    ),
    ("Id",),
    "node",
    parents=(Field("SessionId", ref="ilt_sessions"),),
    note="Flattened from Session.Days; truth adds SessionId. StartTime/EndTime free text (9:00AM).",
)
SESSION = Endpoint(
    "ilt_sessions",
    "/sessions/past + /sessions/future",
    "Sessions",
    "Session",
    _with(
        _f(
            "Id Name InstructorUserId InstructorName SessionType:int Days:list TimeZone "
            "Location LocationId StartDate:wcf EndDate:wcf CourseName ModuleName Slots:int "
            "Accepted:int EnableWaitList:bool"
        ),
        Days=Field("Days", "list", child=SESSION_DAY),
    ),
    ("Id",),
    "node",
    parents=(Field("CourseId", ref=C), Field("ModuleId", ref=M)),
    note='Flattened; truth has no Days and adds CourseId, ModuleId. InstructorUserId "0" / '
    'InstructorName "Multiple Instructors" for several instructors. Past: EndDate < now.',
)
SESSION_MODULE = Endpoint(
    "ilt_modules",
    "/sessions/*",
    "Modules",
    "SessionModule",
    _with(
        _f("Id Code Name Description Sessions:list"),
        Sessions=Field("Sessions", "list", child=SESSION),
    ),
    ("Id",),
    "node",
)
SESSION_COURSE = Endpoint(
    "ilt_tree",
    "/sessions/past",
    "SessionCourses",
    "SessionCourse",
    _with(
        _f(
            "Id Code Name Description Active:bool ForSale:bool OriginalId:int Price:dec "
            "Modules:list"
        ),
        Modules=Field("Modules", "list", child=SESSION_MODULE),
    ),
    ("Id",),
    "ilt",
    note="Rows (for paging) are SessionCourses; only modules/sessions on the requested side "
    "of now. Optional since&to (both, <= 7 days) keep sessions with since <= StartDate < to.",
)

# --- per-parent fan-out ---------------------------------------------------------------------

USER_BADGES = Endpoint(
    "user_badges",
    "/users/{UserId}/badges",
    "Badges",
    "Badge",
    _f("ID:int Title Description Icon IconBgColor IconDisplayUrl"),
    ("UserId", "ID"),
    "child",
    parents=(Field("UserId", ref=U),),
    note="Upper-case ID (int). 404 'User - {id} was not found' for an unknown user.",
)
COURSE_CUSTOM_FIELD_VALUES = Endpoint(
    "course_custom_field_values",
    "/courses/{CourseId}/coursecustomfields",
    "Parameters",
    "Parameter",
    _f("fieldname Value"),
    ("CourseId", "fieldname"),
    "child",
    parents=(Field("CourseId", ref=C),),
    note="fieldname is the field's Label (lower-case name as Litmos spells it); only fields "
    "set on the course. [uncertain] XML names (element form). 404 for an unknown course.",
)
_EVENT_USER = _with(
    _f("Id EventStatus:int FirstName LastName Email CompanyName Score:int Completed:bool"),
    Id=Field("Id", ref=U),
)
_SESSION_PARENTS = (
    Field("CourseId", ref=C),
    Field("ModuleId", ref=M),
    Field("SessionId", ref="ilt_sessions"),
)
ILT_ROLLCALL = Endpoint(
    "ilt_rollcall",
    "/courses/{CourseId}/modules/{ModuleId}/sessions/{SessionId}/rollcall",
    "EventUsers",
    "EventUser",
    _EVENT_USER,
    ("SessionId", "Id"),
    "child",
    parents=_SESSION_PARENTS,
    note="Registered users. Completed is null for some. 404 for an unknown course/module/session.",
)
ILT_ATTENDANCE = Endpoint(
    "ilt_attendance",
    "/courses/{CourseId}/modules/{ModuleId}/sessions/{SessionId}/attendance",
    "EventUsers",
    "EventUser",
    _EVENT_USER,
    ("SessionId", "Id"),
    "child",
    parents=_SESSION_PARENTS,
    note="Users who attended (past sessions only).",
)

# --- /org/* date-range (delta) family ----------------------------------------------------------


def _org(
    stream: str,
    path: str,
    root: str,
    row: str,
    fields: tuple[Field, ...],
    key: tuple[str, ...],
    note: str = "",
    date_field: str = "UpdatedDate",
) -> Endpoint:
    return Endpoint(
        stream,
        path,
        root,
        row,
        fields,
        key,
        "org",
        date_field=date_field,
        order=f"{date_field} asc, key asc",
        note=(_ORG_NOTE.format(df=date_field) + " " + note).strip(),
    )


def _link(parent: tuple[str, str], child: tuple[str, str], extra: str = "") -> tuple[Field, ...]:
    """(ParentField, stream) (Id, stream): the standard /org link row."""
    (pf, ps), (cf, cs) = parent, child
    orig = {
        U: "OriginalUserId",
        C: "OriginalCourseId",
        T: "OriginalTeamId",
        LP: "OriginalLearningPathId",
        M: "OriginalModuleId",
    }
    return (
        Field(pf, ref=ps),
        Field(cf, ref=cs),
        Field(orig[ps], "int", copy=(pf, "OriginalId")),
        Field(orig[cs], "int", copy=(cf, "OriginalId")),
        Field("Active", "bool"),
        *_f(extra),
        *_f("CreatedDate:org UpdatedDate:org CreatedBy:int UpdatedBy:int"),
    )


COURSE_RESULTS = _org(
    "course_results",
    "/org/results/details",
    "UserResults",
    "UserResult",
    (
        Field("Id", ref=C),
        Field("UserId", ref=U),
        Field("OriginalCourseId", "int", copy=("Id", "OriginalId")),
        Field("OriginalUserId", "int", copy=("UserId", "OriginalId")),
        Field("Name", copy=("Id", "Name")),
        *_f(
            "Active:bool CreatedDate:org UpdatedDate:org StartedDate:org Completed:bool "
            "PercentageComplete:dec CompletedDate:org UpToDate:bool Overdue:bool "
            "CompliantTillDate:org DueDate:org LastAttemptDate:org CreatedBy:int "
            "UpdatedBy:int"
        ),
        Field("Code", copy=("Id", "Code")),
        Field("UserName", copy=("UserId", "UserName")),
        *_f("LearningPathAssignment:bool TeamAssignment:bool"),
    ),
    ("UserId", "Id"),
    note="Id is the course. Completed (not Complete) per SAP-OAS UserResult.",
)
MODULE_RESULTS = _org(
    "module_results",
    "/org/modules/results",
    "ModuleResults",
    "ModuleResult",
    (
        Field("Id", ref=M),
        Field("UserId", ref=U),
        Field("OriginalModuleId", "int", copy=("Id", "OriginalId")),
        Field("OriginalUserId", "int", copy=("UserId", "OriginalId")),
        *_f("ModuleResultId:int Active:bool"),
        Field("Name", copy=("Id", "Name")),
        Field("Passmark", "int", copy=("Id", "Passmark")),
        Field("Score", "int"),
        Field("UserName", copy=("UserId", "UserName")),
        *_f(
            "Completed:bool AttemptNumber:int CreatedBy:int FinishedDate:org CreatedDate:org "
            "StartedDate:org TimeTaken UpdatedDate:org"
        ),
        Field("Code", copy=("Id", "Code")),
    ),
    ("ModuleResultId",),
    note="Id is the module; one row per attempt. TimeTaken '00:00:39'.",
)
LEARNING_PATH_RESULTS = _org(
    "learning_path_results",
    "/org/learningpaths/results",
    "LearningPathResults",
    "LearningPathResult",
    (
        Field("Id", ref=LP),
        Field("UserId", ref=U),
        Field("OriginalLearningPathId", "int", copy=("Id", "OriginalId")),
        Field("OriginalUserId", "int", copy=("UserId", "OriginalId")),
        Field("Active", "bool"),
        Field("Name", copy=("Id", "Name")),
        *_f(
            "PercentageComplete:dec Completed:bool CreatedDate:org UpdatedDate:org "
            "CompliantTillDate:org StartDate:org FinishDate:org CreatedBy:int"
        ),
    ),
    ("UserId", "Id"),
    note="Id is the learning path.",
)
USER_COURSES = _org(
    "user_courses",
    "/org/users/courses",
    "UserCourses",
    "UserCourse",
    _link(("UserId", U), ("Id", C)),
    ("UserId", "Id"),
    note="Assignments; removal = Active false.",
)
USER_LEARNING_PATHS = _org(
    "user_learning_paths",
    "/org/learningpaths/users",
    "LearningPathUsers",
    "LearningPathUser",
    _link(("LearningPathId", LP), ("Id", U)),
    ("LearningPathId", "Id"),
    note="[inferred] fields by analogy with /org/teams/users and /org/learningpaths/courses "
    "(no field list in the doc): LearningPathId, Id (user).",
)
TEAM_USERS = _org(
    "team_users",
    "/org/teams/users",
    "TeamUsers",
    "TeamUser",
    _link(("TeamId", T), ("Id", U), "IsTeamLeader:bool IsTeamAdmin:bool"),
    ("TeamId", "Id"),
)
TEAM_COURSES = _org(
    "team_courses",
    "/org/teams/courses",
    "TeamCourses",
    "TeamCourse",
    _link(("TeamId", T), ("Id", C), "IsInTeamLibrary:bool LearningPathAssignment:bool"),
    ("TeamId", "Id"),
    note="[inferred] position of IsInTeamLibrary/LearningPathAssignment.",
)
TEAM_LEARNING_PATHS = _org(
    "team_learning_paths",
    "/org/teams/learningpaths",
    "TeamLearningPaths",
    "TeamLearningPath",
    _link(("TeamId", T), ("Id", LP)),
    ("TeamId", "Id"),
    note="[inferred] field list.",
)
LEARNING_PATH_COURSES = _org(
    "learning_path_courses",
    "/org/learningpaths/courses",
    "LearningPathCourses",
    "LearningPathCourse",
    _link(("LearningPathId", LP), ("Id", C)),
    ("LearningPathId", "Id"),
)
COURSE_MODULES = _org(
    "course_modules",
    "/org/courses/modules",
    "CourseModules",
    "CourseModule",
    _link(("CourseId", C), ("Id", M)),
    ("CourseId", "Id"),
)
LOGIN_ACTIVITY = _org(
    "login_activity",
    "/org/activities/logins",
    "LoginActivities",
    "LoginActivity",
    (
        Field("ActivityType"),
        Field("UserId", ref=U),
        Field("OriginalUserId", "int", copy=("UserId", "OriginalId")),
        Field("UserName", copy=("UserId", "UserName")),
        Field("IPAddress"),
        Field("LoginDate", "org"),
    ),
    ("UserId", "LoginDate"),
    date_field="LoginDate",
    note="Litmos documents no key; a login is identified by (UserId, LoginDate). "
    "Append-only (no CreatedDate/UpdatedDate).",
)

# --- achievements (hand-tuned fast path in data.py/wire.py; this spec documents it) -----------

ACHIEVEMENTS = Endpoint(
    "achievements",
    "/achievements",
    "Achievements",
    "Achievement",
    _with(
        _f(
            "UserId Title Description AchievementDate:wcf CourseId CompliantTillDate:wcf Score "
            "Result Type FirstName LastName AchievementId:int CertificateId:int"
        ),
        UserId=Field("UserId", ref=U),
        CourseId=Field("CourseId", ref=C),
    ),
    ("AchievementId",),
    "achievements",
    date_field="AchievementDate",
    order="AchievementDate desc, AchievementId desc",
    note="since (inclusive) and userid filters; CourseId is a course or a learning path Id.",
)

# --- internal (no endpoint): modules, the target of course_modules and module results -------

MODULES = Endpoint(
    "modules",
    "(internal)",
    "Modules",
    "Module",
    _f("Id Code Name Description Passmark:int OriginalId:int Ilt:bool"),
    ("Id",),
    "internal",
)

#: Every served endpoint spec, by stream name (ILT streams are flattened views).
ENDPOINTS: dict[str, Endpoint] = {
    e.stream: e
    for e in (
        USERS,
        COURSES,
        COURSE_CUSTOM_FIELDS,
        TEAMS,
        LEARNING_PATHS,
        INSTRUCTORS,
        LOCATIONS,
        SESSION,
        SESSION_DAY,
        USER_BADGES,
        COURSE_CUSTOM_FIELD_VALUES,
        ILT_ROLLCALL,
        ILT_ATTENDANCE,
        COURSE_RESULTS,
        MODULE_RESULTS,
        LEARNING_PATH_RESULTS,
        USER_COURSES,
        USER_LEARNING_PATHS,
        TEAM_USERS,
        TEAM_COURSES,
        TEAM_LEARNING_PATHS,
        LEARNING_PATH_COURSES,
        COURSE_MODULES,
        LOGIN_ACTIVITY,
        ACHIEVEMENTS,
    )
}
#: Streams stored as tables in the world (ILT nodes included, achievements not).
TABLES: tuple[Endpoint, ...] = (
    *(e for e in ENDPOINTS.values() if e.family != "achievements"),
    MODULES,
)
ORG_STREAMS = tuple(e.stream for e in ENDPOINTS.values() if e.family == "org")
