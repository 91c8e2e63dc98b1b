-- Per account, team, course and day over the last `litmos_history_days` days up to as_of:
-- the figures of team_course_compliance as they stood at the end of that day (the last
-- day at as_of: it is today's team_course_compliance), reconstructed from the dates of
-- the events (docs/dbt.md, "Compliance over time"):
-- - memberships and assignments hold from their link's creation until its removal;
-- - a learner's course result is the state from the instant it took effect (its
--   CompletedDate when completed, else its UpdatedDate) on; before that, the learner's
--   latest achievement of the course up to the day is (a completion, compliant till its
--   CompliantTillDate); with none, the course is not completed;
-- - overdue: not completed and the result's due date before the day's instant;
-- - a link made or removed, or a result changed, after as_of (a past `litmos_as_of`)
--   counts as done at as_of, as today's marts count it.
--
-- How: a learner's figures change only on the days an event shows (a link made or
-- removed, a completion, a lapse, the start of the expiring days, a due date). They are
-- judged on those days alone, per team, user and course; each such judgement holds until
-- the next; the differences are summed per team and course, and only then spread over
-- the days. The work grows with the events, not with learners x days. The steps read
-- more than once are materialized (each warehouse would otherwise compute them anew).

-- Incremental: a run rebuilds only the days from the first one its new rows can change
-- (transform/macros/litmos_history_incremental.sql; docs/dbt.md, "Incremental builds");
-- `--full-refresh` rebuilds the window.

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "{{ litmos_history_planner_hint() }}",
        "{{ litmos_history_delete_rebuilt_days() }}",
    ],
) }}

{%- set rebuild_from = litmos_history_rebuild_from() %}

with days as (
    select calendar_date, judged_at from {{ ref('int_litmos__history_days') }}
),

window_bounds as (
    select min(calendar_date) as first_date, max(calendar_date) as last_date, max(judged_at) as as_of
    from days
),

build as (
    -- What this build is built from: it decides what the next incremental run rebuilds.
    select
        {{ litmos_history_extracted_at() }} as built_from_extracted_at,
        {{ litmos_history_built_with() }} as built_with
),

memberships as materialized (
    -- Active users in known teams, with when each membership held.
    select
        links.source_relation,
        links.parent_id as team_id,
        links.child_id  as user_id,
        {{ litmos_by_as_of('links.held_from') }}  as held_from,
        {{ litmos_by_as_of('links.held_until') }} as held_until
    from ({{ litmos_link_intervals('team_users', 'team_id', 'user_id') }}) as links
    cross join window_bounds
    inner join {{ ref('stg_litmos__users') }} as users
        on links.source_relation = users.source_relation
        and links.child_id = users.user_id
    inner join {{ ref('stg_litmos__teams') }} as teams
        on links.source_relation = teams.source_relation
        and links.parent_id = teams.team_id
    where users.is_active
),

assignments as materialized (
    select
        intervals.source_relation,
        intervals.user_id,
        intervals.course_id,
        {{ litmos_by_as_of('intervals.held_from') }}  as held_from,
        {{ litmos_by_as_of('intervals.held_until') }} as held_until
    from {{ ref('int_litmos__course_assignment_intervals') }} as intervals
    cross join window_bounds
    inner join {{ ref('stg_litmos__courses') }} as courses
        on intervals.source_relation = courses.source_relation
        and intervals.course_id = courses.course_id
),

results as materialized (
    -- The current result, and the instant from which it is the learner's state.
    select
        source_relation,
        user_id,
        course_id,
        coalesce(is_completed, false) as is_completed,
        case when is_completed then compliant_till end as compliant_till,
        due_at,
        {{ litmos_by_as_of(
            'case when is_completed then coalesce(completed_at, updated_at) else updated_at end'
        ) }} as result_since
    from {{ ref('stg_litmos__course_results') }}
    cross join window_bounds
    where is_active
),

completions as materialized (
    -- Each achievement of a course with a result holds until the learner's next one.
    select
        achievements.source_relation,
        achievements.user_id,
        achievements.course_or_learning_path_id as course_id,
        achievements.achieved_at,
        achievements.compliant_till,
        lead(achievements.achieved_at) over (
            partition by
                achievements.source_relation,
                achievements.user_id,
                achievements.course_or_learning_path_id
            order by achievements.achieved_at, achievements.achievement_id
        ) as next_achieved_at
    from {{ ref('stg_litmos__achievements') }} as achievements
    inner join results
        on achievements.source_relation = results.source_relation
        and achievements.user_id = results.user_id
        and achievements.course_or_learning_path_id = results.course_id
),

learners as materialized (
    -- Every team, user and course whose membership and assignment ever held together.
    select distinct
        memberships.source_relation,
        memberships.team_id,
        memberships.user_id,
        assignments.course_id
    from memberships
    inner join assignments
        on memberships.source_relation = assignments.source_relation
        and memberships.user_id = assignments.user_id
        and (assignments.held_until is null or assignments.held_until > memberships.held_from)
        and (memberships.held_until is null or memberships.held_until > assignments.held_from)
),

course_events as (
    -- The instants at which a user's state in a course can change.
    select source_relation, user_id, course_id, held_from as instant from assignments
    union all
    select source_relation, user_id, course_id, held_until from assignments
    union all
    select source_relation, user_id, course_id, result_since from results
    union all
    select source_relation, user_id, course_id, due_at from results
    union all
    -- Overdue once the due date is passed (strictly): the day after it too.
    select source_relation, user_id, course_id, {{ dbt.dateadd('day', '1', 'due_at') }} from results
    union all
    select source_relation, user_id, course_id, compliant_till from results
    union all
    select source_relation, user_id, course_id,
        {{ dbt.dateadd('day', '-1 * ' ~ var('litmos_expiring_days'), 'compliant_till') }}
    from results
    union all
    select source_relation, user_id, course_id, achieved_at from completions
    union all
    select source_relation, user_id, course_id, compliant_till from completions
    union all
    select source_relation, user_id, course_id,
        {{ dbt.dateadd('day', '-1 * ' ~ var('litmos_expiring_days'), 'compliant_till') }}
    from completions
),

learner_events as (
    select learners.source_relation, learners.team_id, learners.user_id, learners.course_id,
        course_events.instant
    from learners
    inner join course_events
        on learners.source_relation = course_events.source_relation
        and learners.user_id = course_events.user_id
        and learners.course_id = course_events.course_id
    union all
    select learners.source_relation, learners.team_id, learners.user_id, learners.course_id,
        memberships.held_from
    from learners
    inner join memberships
        on learners.source_relation = memberships.source_relation
        and learners.team_id = memberships.team_id
        and learners.user_id = memberships.user_id
    union all
    select learners.source_relation, learners.team_id, learners.user_id, learners.course_id,
        memberships.held_until
    from learners
    inner join memberships
        on learners.source_relation = memberships.source_relation
        and learners.team_id = memberships.team_id
        and learners.user_id = memberships.user_id
),

change_days as (
    -- The days a learner is judged on: the first day of the history, and every day an
    -- event within it shows.
    select source_relation, team_id, user_id, course_id, window_bounds.first_date as calendar_date
    from learners
    cross join window_bounds
    union
    select
        learner_events.source_relation,
        learner_events.team_id,
        learner_events.user_id,
        learner_events.course_id,
        {{ litmos_effect_date('learner_events.instant') }}
    from learner_events
    cross join window_bounds
    where learner_events.instant is not null
        and learner_events.instant <= window_bounds.as_of
        and {{ litmos_effect_date('learner_events.instant') }} > window_bounds.first_date
),

judgements as materialized (
    select change_days.*, days.judged_at
    from change_days
    inner join days
        on change_days.calendar_date = days.calendar_date
),

member_then as (
    select
        judgements.source_relation, judgements.team_id, judgements.user_id,
        judgements.course_id, judgements.calendar_date,
        max(case when {{ litmos_holds('memberships', 'judgements.judged_at') }} then 1 else 0 end)
            as is_member
    from judgements
    inner join memberships
        on judgements.source_relation = memberships.source_relation
        and judgements.team_id = memberships.team_id
        and judgements.user_id = memberships.user_id
    group by
        judgements.source_relation, judgements.team_id, judgements.user_id,
        judgements.course_id, judgements.calendar_date
),

assigned_then as (
    select
        judgements.source_relation, judgements.team_id, judgements.user_id,
        judgements.course_id, judgements.calendar_date,
        max(case when {{ litmos_holds('assignments', 'judgements.judged_at') }} then 1 else 0 end)
            as is_assigned
    from judgements
    inner join assignments
        on judgements.source_relation = assignments.source_relation
        and judgements.user_id = assignments.user_id
        and judgements.course_id = assignments.course_id
    group by
        judgements.source_relation, judgements.team_id, judgements.user_id,
        judgements.course_id, judgements.calendar_date
),

states as (
    select
        judgements.source_relation,
        judgements.team_id,
        judgements.user_id,
        judgements.course_id,
        judgements.calendar_date,
        judgements.judged_at,
        member_then.is_member * assigned_then.is_assigned as is_counted,
        case
            when results.user_id is null then false
            when results.result_since is null or judgements.judged_at >= results.result_since
                then results.is_completed
            else completions.user_id is not null
        end as is_completed,
        case
            when results.user_id is null then null
            when results.result_since is null or judgements.judged_at >= results.result_since
                then results.compliant_till
            else completions.compliant_till
        end as compliant_till,
        results.due_at
    from judgements
    inner join member_then
        on judgements.source_relation = member_then.source_relation
        and judgements.team_id = member_then.team_id
        and judgements.user_id = member_then.user_id
        and judgements.course_id = member_then.course_id
        and judgements.calendar_date = member_then.calendar_date
    inner join assigned_then
        on judgements.source_relation = assigned_then.source_relation
        and judgements.team_id = assigned_then.team_id
        and judgements.user_id = assigned_then.user_id
        and judgements.course_id = assigned_then.course_id
        and judgements.calendar_date = assigned_then.calendar_date
    left join results
        on judgements.source_relation = results.source_relation
        and judgements.user_id = results.user_id
        and judgements.course_id = results.course_id
    left join completions
        on results.source_relation = completions.source_relation
        and results.user_id = completions.user_id
        and results.course_id = completions.course_id
        and judgements.judged_at < results.result_since
        and completions.achieved_at <= judgements.judged_at
        and (completions.next_achieved_at is null
            or completions.next_achieved_at > judgements.judged_at)
),

figures as (
    -- Each judgement as counts (0 or 1), and the day the learner's next judgement begins.
    select
        source_relation,
        team_id,
        course_id,
        calendar_date,
        lead(calendar_date) over (
            partition by source_relation, team_id, user_id, course_id
            order by calendar_date
        ) as next_date,
        is_counted as assigned,
        is_counted * case when is_completed then 1 else 0 end as completed,
        is_counted * case
            when not is_completed and due_at is not null and due_at < judged_at then 1 else 0
        end as overdue,
        is_counted * case
            when is_completed and (compliant_till is null or compliant_till > judged_at) then 1 else 0
        end as compliant,
        is_counted * case
            when is_completed and compliant_till > judged_at
                and compliant_till <= {{ dbt.dateadd('day', var('litmos_expiring_days'), 'judged_at') }}
                then 1 else 0
        end as expiring,
        is_counted * case
            when is_completed and compliant_till <= judged_at then 1 else 0
        end as expired
    from states
),

changes as (
    -- +figures on the day a judgement begins, -figures on the day the next one does.
    select source_relation, team_id, course_id, calendar_date,
        assigned, completed, overdue, compliant, expiring, expired
    from figures
    union all
    select source_relation, team_id, course_id, next_date,
        -assigned, -completed, -overdue, -compliant, -expiring, -expired
    from figures
    where next_date is not null
),

daily_changes as (
    select source_relation, team_id, course_id, calendar_date,
        sum(assigned) as assigned, sum(completed) as completed, sum(overdue) as overdue,
        sum(compliant) as compliant, sum(expiring) as expiring, sum(expired) as expired
    from changes
    group by source_relation, team_id, course_id, calendar_date
),

running as (
    -- The team's figures for a course from each change day until the next.
    select
        source_relation,
        team_id,
        course_id,
        calendar_date as from_date,
        lead(calendar_date) over (
            partition by source_relation, team_id, course_id order by calendar_date
        ) as until_date,
        {% for figure in ['assigned', 'completed', 'overdue', 'compliant', 'expiring', 'expired'] -%}
        sum({{ figure }}) over (
            partition by source_relation, team_id, course_id
            order by calendar_date rows between unbounded preceding and current row
        ) as learners_{{ figure }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from daily_changes
)

select
    running.source_relation,
    running.team_id,
    running.course_id,
    days.calendar_date,
    days.judged_at,
    teams.team_name,
    courses.course_name,
    running.learners_assigned,
    running.learners_completed,
    running.learners_overdue,
    running.learners_compliant,
    running.learners_expiring,
    running.learners_expired,
    {{ litmos_round('1.0 * running.learners_compliant / running.learners_assigned', 4) }}
        as compliant_share,
    build.built_from_extracted_at,
    build.built_with
from running
cross join window_bounds
cross join build
inner join days
    on days.calendar_date >= running.from_date
    and days.calendar_date < coalesce(
        running.until_date, cast({{ dbt.dateadd('day', '1', 'window_bounds.last_date') }} as date)
    )
inner join {{ ref('stg_litmos__teams') }} as teams
    on running.source_relation = teams.source_relation
    and running.team_id = teams.team_id
inner join {{ ref('stg_litmos__courses') }} as courses
    on running.source_relation = courses.source_relation
    and running.course_id = courses.course_id
where running.learners_assigned > 0
{%- if rebuild_from %}
    and days.calendar_date >= cast('{{ rebuild_from }}' as date)
{%- endif %}
