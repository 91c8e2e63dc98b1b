-- Per account, user and learning path currently assigned (directly, or through a
-- team): the path's courses the learner has completed out of its current courses, and the status
-- of the path result Litmos keeps.

with assigned as (
    select
        source_relation,
        user_id,
        learning_path_id,
        max(case when route = 'direct' then 1 else 0 end) = 1 as is_assigned_directly,
        max(case when route = 'team' then 1 else 0 end) = 1   as is_assigned_via_team,
        min(assigned_at)                                      as assigned_at
    from (
        select source_relation, user_id, learning_path_id, 'direct' as route, created_at as assigned_at
        from {{ ref('stg_litmos__user_learning_paths') }}
        union all
        select
            team_users.source_relation,
            team_users.user_id,
            team_paths.learning_path_id,
            'team' as route,
            greatest(team_users.created_at, team_paths.created_at) as assigned_at
        from {{ ref('stg_litmos__team_users') }} as team_users
        inner join {{ ref('stg_litmos__team_learning_paths') }} as team_paths
            on team_users.source_relation = team_paths.source_relation
            and team_users.team_id = team_paths.team_id
    ) as routes
    group by source_relation, user_id, learning_path_id
),

path_courses as (
    select path_courses.source_relation, path_courses.learning_path_id, path_courses.course_id
    from {{ ref('stg_litmos__learning_path_courses') }} as path_courses
    inner join {{ ref('stg_litmos__courses') }} as courses
        on path_courses.source_relation = courses.source_relation
        and path_courses.course_id = courses.course_id
),

completed_courses as (
    select source_relation, user_id, course_id
    from {{ ref('stg_litmos__course_results') }}
    where is_active and is_completed
),

course_counts as (
    select
        assigned.source_relation,
        assigned.user_id,
        assigned.learning_path_id,
        count(path_courses.course_id)     as courses_total,
        count(completed_courses.course_id) as courses_completed
    from assigned
    left join path_courses
        on assigned.source_relation = path_courses.source_relation
        and assigned.learning_path_id = path_courses.learning_path_id
    left join completed_courses
        on assigned.source_relation = completed_courses.source_relation
        and assigned.user_id = completed_courses.user_id
        and path_courses.course_id = completed_courses.course_id
    group by assigned.source_relation, assigned.user_id, assigned.learning_path_id
),

results as (
    select * from {{ ref('stg_litmos__learning_path_results') }}
    where is_active
)

select
    assigned.source_relation,
    assigned.user_id,
    assigned.learning_path_id,
    users.full_name                                   as user_full_name,
    users.is_active                                   as is_user_active,
    paths.learning_path_name,
    assigned.is_assigned_directly,
    assigned.is_assigned_via_team,
    assigned.assigned_at,
    course_counts.courses_total,
    course_counts.courses_completed,
    results.percentage_complete,
    results.started_at,
    case when results.is_completed then results.finished_at end    as completed_at,
    case when results.is_completed then results.compliant_till end as compliant_till,
    case
        when results.is_completed then 'completed'
        when course_counts.courses_completed > 0 or results.percentage_complete > 0 then 'in_progress'
        else 'not_started'
    end                                               as status
from assigned
inner join {{ ref('stg_litmos__users') }} as users
    on assigned.source_relation = users.source_relation
    and assigned.user_id = users.user_id
inner join {{ ref('stg_litmos__learning_paths') }} as paths
    on assigned.source_relation = paths.source_relation
    and assigned.learning_path_id = paths.learning_path_id
inner join course_counts
    on assigned.source_relation = course_counts.source_relation
    and assigned.user_id = course_counts.user_id
    and assigned.learning_path_id = course_counts.learning_path_id
left join results
    on assigned.source_relation = results.source_relation
    and assigned.user_id = results.user_id
    and assigned.learning_path_id = results.learning_path_id
