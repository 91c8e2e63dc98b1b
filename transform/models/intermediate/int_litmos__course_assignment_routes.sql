-- Every current route by which a course reaches a user, one row per account, user, course
-- and route: directly (user_courses), through a team (team_users x team_courses), through
-- a learning path (user_learning_paths x learning_path_courses), or through a learning
-- path assigned to a team (team_users x team_learning_paths x learning_path_courses).
-- Only current links take part (the staging models drop removed ones), and only links of
-- the same account (source_relation) join. A route's assigned_at is when its last link
-- was made.

select
    source_relation,
    user_id,
    course_id,
    'direct' as route,
    created_at as assigned_at
from {{ ref('stg_litmos__user_courses') }}

union all

select
    team_users.source_relation,
    team_users.user_id,
    team_courses.course_id,
    'team' as route,
    greatest(team_users.created_at, team_courses.created_at) as assigned_at
from {{ ref('stg_litmos__team_users') }} as team_users
inner join {{ ref('stg_litmos__team_courses') }} as team_courses
    on team_users.source_relation = team_courses.source_relation
    and team_users.team_id = team_courses.team_id

union all

select
    user_paths.source_relation,
    user_paths.user_id,
    path_courses.course_id,
    'learning_path' as route,
    greatest(user_paths.created_at, path_courses.created_at) as assigned_at
from {{ ref('stg_litmos__user_learning_paths') }} as user_paths
inner join {{ ref('stg_litmos__learning_path_courses') }} as path_courses
    on user_paths.source_relation = path_courses.source_relation
    and user_paths.learning_path_id = path_courses.learning_path_id

union all

select
    team_users.source_relation,
    team_users.user_id,
    path_courses.course_id,
    'team_learning_path' as route,
    greatest(team_users.created_at, team_paths.created_at, path_courses.created_at) as assigned_at
from {{ ref('stg_litmos__team_users') }} as team_users
inner join {{ ref('stg_litmos__team_learning_paths') }} as team_paths
    on team_users.source_relation = team_paths.source_relation
    and team_users.team_id = team_paths.team_id
inner join {{ ref('stg_litmos__learning_path_courses') }} as path_courses
    on team_paths.source_relation = path_courses.source_relation
    and team_paths.learning_path_id = path_courses.learning_path_id
