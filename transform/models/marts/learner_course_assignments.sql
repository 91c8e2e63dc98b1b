-- One row per account, user and course currently assigned by any route, with where the
-- learner stands: dates, progress, the latest score, overdue, and compliance at `as_of`.

with routes as (
    select
        source_relation,
        user_id,
        course_id,
        max(case when route = 'direct' then 1 else 0 end) = 1             as is_assigned_directly,
        max(case when route = 'team' then 1 else 0 end) = 1               as is_assigned_via_team,
        max(case when route = 'learning_path' then 1 else 0 end) = 1      as is_assigned_via_learning_path,
        max(case when route = 'team_learning_path' then 1 else 0 end) = 1 as is_assigned_via_team_learning_path,
        count(distinct route)                                              as route_count,
        min(assigned_at)                                                   as assigned_at
    from {{ ref('int_litmos__course_assignment_routes') }}
    group by source_relation, user_id, course_id
),

results as (
    -- An inactive result row is no result.
    select * from {{ ref('stg_litmos__course_results') }}
    where is_active
),

latest_scores as (
    select source_relation, user_id, course_id, score
    from (
        select
            source_relation,
            user_id,
            course_or_learning_path_id as course_id,
            score,
            row_number() over (
                partition by source_relation, user_id, course_or_learning_path_id
                order by achieved_at desc, achievement_id desc
            ) as recency
        from {{ ref('stg_litmos__achievements') }}
    ) as ranked
    where recency = 1
),

assignments as (
    select
        routes.source_relation,
        routes.user_id,
        routes.course_id,
        users.full_name                                         as user_full_name,
        users.is_active                                         as is_user_active,
        courses.course_name,
        concat_ws(', ',
            case when routes.is_assigned_directly then 'direct' end,
            case when routes.is_assigned_via_team then 'team' end,
            case when routes.is_assigned_via_learning_path then 'learning_path' end,
            case when routes.is_assigned_via_team_learning_path then 'team_learning_path' end
        )                                                       as routes,
        routes.route_count,
        routes.is_assigned_directly,
        routes.is_assigned_via_team,
        routes.is_assigned_via_learning_path,
        routes.is_assigned_via_team_learning_path,
        routes.assigned_at,
        results.started_at,
        coalesce(results.is_completed, false)                   as is_completed,
        case when results.is_completed then results.completed_at end as completed_at,
        results.percentage_complete,
        latest_scores.score,
        results.due_at,
        case when results.is_completed then results.compliant_till end as compliant_till,
        {{ litmos_as_of() }}                                    as as_of
    from routes
    inner join {{ ref('stg_litmos__users') }} as users
        on routes.source_relation = users.source_relation
        and routes.user_id = users.user_id
    inner join {{ ref('stg_litmos__courses') }} as courses
        on routes.source_relation = courses.source_relation
        and routes.course_id = courses.course_id
    left join results
        on routes.source_relation = results.source_relation
        and routes.user_id = results.user_id
        and routes.course_id = results.course_id
    left join latest_scores
        on routes.source_relation = latest_scores.source_relation
        and routes.user_id = latest_scores.user_id
        and routes.course_id = latest_scores.course_id
)

select
    source_relation,
    user_id,
    course_id,
    user_full_name,
    is_user_active,
    course_name,
    routes,
    route_count,
    is_assigned_directly,
    is_assigned_via_team,
    is_assigned_via_learning_path,
    is_assigned_via_team_learning_path,
    assigned_at,
    started_at,
    is_completed,
    completed_at,
    percentage_complete,
    score,
    due_at,
    not is_completed and due_at is not null and due_at < as_of as is_overdue,
    compliant_till,
    case
        when not is_completed then 'not_completed'
        when compliant_till is null then 'compliant'
        when compliant_till <= as_of then 'expired'
        when compliant_till <= {{ dbt.dateadd('day', var('litmos_expiring_days'), 'as_of') }} then 'expiring'
        else 'compliant'
    end as status,
    as_of
from assignments
