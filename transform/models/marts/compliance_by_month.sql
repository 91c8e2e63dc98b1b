-- Per account, team, course and calendar month of the history: the figures of
-- team_course_compliance_daily on the month's last day (for as_of's month, as_of's date).

with month_ends as (
    select
        cast({{ dbt.date_trunc('month', 'calendar_date') }} as date) as month,
        max(calendar_date) as month_end_date
    from {{ ref('int_litmos__history_days') }}
    group by cast({{ dbt.date_trunc('month', 'calendar_date') }} as date)
)

select
    daily.source_relation,
    daily.team_id,
    daily.course_id,
    month_ends.month,
    month_ends.month_end_date,
    daily.team_name,
    daily.course_name,
    daily.learners_assigned,
    daily.learners_completed,
    daily.learners_overdue,
    daily.learners_compliant,
    daily.learners_expiring,
    daily.learners_expired,
    daily.compliant_share
from {{ ref('team_course_compliance_daily') }} as daily
inner join month_ends
    on daily.calendar_date = month_ends.month_end_date
