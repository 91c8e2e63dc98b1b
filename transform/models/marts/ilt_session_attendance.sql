-- Per account and instructor-led session: its seats, the learners registered
-- (ilt_rollcall) and those who attended (ilt_attendance). Those two opt-in streams cost a
-- request per session; until an account has loaded them its counts are null, not zero.

{% set rollcall_loaded = litmos_loaded_accounts('ilt_rollcall') %}
{% set attendance_loaded = litmos_loaded_accounts('ilt_attendance') %}

with registered as (
    select source_relation, session_id, count(*) as learners
    from {{ ref('stg_litmos__ilt_rollcall') }}
    group by source_relation, session_id
),

attended as (
    select source_relation, session_id, count(*) as learners
    from {{ ref('stg_litmos__ilt_attendance') }}
    group by source_relation, session_id
),

sessions as (
    select
        sessions.*,
        {{ litmos_count_if_loaded('registered.learners', 'sessions.source_relation', rollcall_loaded) }} as learners_registered,
        {{ litmos_count_if_loaded('attended.learners', 'sessions.source_relation', attendance_loaded) }} as learners_attended,
        sessions.ends_at < {{ litmos_as_of() }} as is_past
    from {{ ref('stg_litmos__ilt_sessions') }} as sessions
    left join registered
        on sessions.source_relation = registered.source_relation
        and sessions.session_id = registered.session_id
    left join attended
        on sessions.source_relation = attended.source_relation
        and sessions.session_id = attended.session_id
)

select
    sessions.source_relation,
    sessions.session_id,
    sessions.session_name,
    sessions.course_id,
    courses.course_name,
    sessions.module_id,
    sessions.module_name,
    sessions.instructor_user_id,
    sessions.instructor_name,
    sessions.location_id,
    sessions.location_name,
    sessions.starts_at,
    sessions.ends_at,
    sessions.is_past,
    sessions.slots,
    sessions.accepted,
    sessions.learners_registered,
    sessions.learners_attended,
    case when sessions.is_past and sessions.learners_registered > 0 then
        {{ litmos_round('1.0 * sessions.learners_attended / sessions.learners_registered', 4) }}
    end as attendance_rate
from sessions
inner join {{ ref('stg_litmos__courses') }} as courses
    on sessions.source_relation = courses.source_relation
    and sessions.course_id = courses.course_id
