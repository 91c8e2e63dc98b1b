-- Per account, team, course and day over the last `litmos_history_days` days up to as_of: the
-- figures of team_course_compliance as they stood at the end of that day (the last day
-- at as_of: it is today's team_course_compliance), reconstructed from the dates of the
-- events (docs/dbt.md, "Compliance over time"):
-- - memberships and assignments hold from their link's creation until its removal;
-- - a learner's course result is the state from the instant it took effect (its
--   CompletedDate when completed, else its UpdatedDate) on; before that, the learner's
--   latest achievement of the course up to the day is (a completion, compliant till its
--   CompliantTillDate); with none, the course is not completed;
-- - overdue: not completed and the result's due date before the day's instant.

with days as (
    select calendar_date, judged_at from {{ ref('int_litmos__history_days') }}
),

memberships as (
    -- Active users in known teams, with when each membership held.
    select
        links.source_relation,
        links.parent_id as team_id,
        links.child_id  as user_id,
        links.held_from,
        links.held_until
    from ({{ litmos_link_intervals('team_users', 'team_id', 'user_id') }}) as links
    inner join {{ ref('stg_litmos__users') }} as users
        on links.source_relation = users.source_relation
        and links.child_id = users.user_id
    inner join {{ ref('stg_litmos__teams') }} as teams
        on links.source_relation = teams.source_relation
        and links.parent_id = teams.team_id
    where users.is_active
),

assignments as (
    select
        intervals.source_relation,
        intervals.user_id,
        intervals.course_id,
        intervals.held_from,
        intervals.held_until
    from {{ ref('int_litmos__course_assignment_intervals') }} as intervals
    inner join {{ ref('stg_litmos__courses') }} as courses
        on intervals.source_relation = courses.source_relation
        and intervals.course_id = courses.course_id
),

assigned_days as (
    select distinct
        assignments.source_relation,
        assignments.user_id,
        assignments.course_id,
        days.calendar_date,
        days.judged_at
    from assignments
    inner join days
        on {{ litmos_holds('assignments', 'days.judged_at') }}
),

member_days as (
    select distinct
        memberships.source_relation,
        memberships.team_id,
        memberships.user_id,
        days.calendar_date
    from memberships
    inner join days
        on {{ litmos_holds('memberships', 'days.judged_at') }}
),

results as (
    -- The current result, and the instant from which it is the learner's state.
    select
        source_relation,
        user_id,
        course_id,
        coalesce(is_completed, false) as is_completed,
        case when is_completed then compliant_till end as compliant_till,
        due_at,
        case when is_completed then coalesce(completed_at, updated_at) else updated_at end
            as result_since
    from {{ ref('stg_litmos__course_results') }}
    where is_active
),

completions as (
    -- Each achievement holds until the learner's next one of the same course.
    select
        source_relation,
        user_id,
        course_or_learning_path_id as course_id,
        achieved_at,
        compliant_till,
        lead(achieved_at) over (
            partition by source_relation, user_id, course_or_learning_path_id
            order by achieved_at, achievement_id
        ) as next_achieved_at
    from {{ ref('stg_litmos__achievements') }}
),

learner_days as (
    select
        member_days.source_relation,
        member_days.team_id,
        assigned_days.course_id,
        assigned_days.calendar_date,
        assigned_days.judged_at,
        case
            when results.user_id is null then false
            when results.result_since is null or assigned_days.judged_at >= results.result_since
                then results.is_completed
            else completions.user_id is not null
        end as is_completed,
        case
            when results.user_id is null then null
            when results.result_since is null or assigned_days.judged_at >= results.result_since
                then results.compliant_till
            else completions.compliant_till
        end as compliant_till,
        results.due_at
    from assigned_days
    inner join member_days
        on assigned_days.source_relation = member_days.source_relation
        and assigned_days.user_id = member_days.user_id
        and assigned_days.calendar_date = member_days.calendar_date
    left join results
        on assigned_days.source_relation = results.source_relation
        and assigned_days.user_id = results.user_id
        and assigned_days.course_id = results.course_id
    left join completions
        on results.source_relation = completions.source_relation
        and results.user_id = completions.user_id
        and results.course_id = completions.course_id
        and assigned_days.judged_at < results.result_since
        and completions.achieved_at <= assigned_days.judged_at
        and (completions.next_achieved_at is null
            or completions.next_achieved_at > assigned_days.judged_at)
),

judged as (
    select
        source_relation,
        team_id,
        course_id,
        calendar_date,
        judged_at,
        is_completed,
        not is_completed and due_at is not null and due_at < judged_at as is_overdue,
        case
            when not is_completed then 'not_completed'
            when compliant_till is null then 'compliant'
            when compliant_till <= judged_at then 'expired'
            when compliant_till <= {{ dbt.dateadd('day', var('litmos_expiring_days'), 'judged_at') }}
                then 'expiring'
            else 'compliant'
        end as status
    from learner_days
)

select
    judged.source_relation,
    judged.team_id,
    judged.course_id,
    judged.calendar_date,
    judged.judged_at,
    teams.team_name,
    courses.course_name,
    count(*)                                                                as learners_assigned,
    sum(case when judged.is_completed then 1 else 0 end)                    as learners_completed,
    sum(case when judged.is_overdue then 1 else 0 end)                      as learners_overdue,
    sum(case when judged.status in ('compliant', 'expiring') then 1 else 0 end) as learners_compliant,
    sum(case when judged.status = 'expiring' then 1 else 0 end)             as learners_expiring,
    sum(case when judged.status = 'expired' then 1 else 0 end)              as learners_expired,
    {{ litmos_round(
        "1.0 * sum(case when judged.status in ('compliant', 'expiring') then 1 else 0 end) / count(*)", 4
    ) }}                                                                    as compliant_share
from judged
inner join {{ ref('stg_litmos__teams') }} as teams
    on judged.source_relation = teams.source_relation
    and judged.team_id = teams.team_id
inner join {{ ref('stg_litmos__courses') }} as courses
    on judged.source_relation = courses.source_relation
    and judged.course_id = courses.course_id
group by
    judged.source_relation, judged.team_id, judged.course_id, judged.calendar_date, judged.judged_at,
    teams.team_name, courses.course_name
