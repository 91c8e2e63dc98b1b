-- Per instructor-led session: its seats, the learners registered (ilt_rollcall) and
-- those who attended (ilt_attendance). Those two opt-in streams cost a request per
-- session; until they are loaded their counts are null, not zero.

{% set rollcall_loaded = litmos_source_loaded('ilt_rollcall') %}
{% set attendance_loaded = litmos_source_loaded('ilt_attendance') %}

with registered as (
    select session_id, count(*) as learners
    from {{ ref('stg_litmos__ilt_rollcall') }}
    group by session_id
),

attended as (
    select session_id, count(*) as learners
    from {{ ref('stg_litmos__ilt_attendance') }}
    group by session_id
),

sessions as (
    select
        sessions.*,
        {% if rollcall_loaded %}coalesce(registered.learners, 0){% else %}cast(null as {{ dbt.type_bigint() }}){% endif %} as learners_registered,
        {% if attendance_loaded %}coalesce(attended.learners, 0){% else %}cast(null as {{ dbt.type_bigint() }}){% endif %} as learners_attended,
        sessions.ends_at < {{ litmos_as_of() }} as is_past
    from {{ ref('stg_litmos__ilt_sessions') }} as sessions
    left join registered on sessions.session_id = registered.session_id
    left join attended on sessions.session_id = attended.session_id
)

select
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
    on sessions.course_id = courses.course_id
