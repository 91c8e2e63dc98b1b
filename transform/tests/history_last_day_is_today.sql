-- The last day of team_course_compliance_daily is today's team_course_compliance: the
-- same rows, every figure equal (the history is judged at as_of on its last day). Any
-- row returned is a team and course where they differ.

with last_day as (
    select *
    from {{ ref('team_course_compliance_daily') }}
    where calendar_date = (
        select cast(max(as_of) as date) from {{ ref('learner_course_assignments') }}
    )
),

today as (
    select * from {{ ref('team_course_compliance') }}
)

select
    coalesce(last_day.source_relation, today.source_relation) as source_relation,
    coalesce(last_day.team_id, today.team_id)     as team_id,
    coalesce(last_day.course_id, today.course_id) as course_id
from last_day
full outer join today
    on last_day.source_relation = today.source_relation
    and last_day.team_id = today.team_id
    and last_day.course_id = today.course_id
where last_day.team_id is null
    or today.team_id is null
{%- for column in [
    'team_name', 'course_name', 'learners_assigned', 'learners_completed', 'learners_overdue',
    'learners_compliant', 'learners_expiring', 'learners_expired', 'compliant_share',
] %}
    or last_day.{{ column }} is distinct from today.{{ column }}
{%- endfor %}
