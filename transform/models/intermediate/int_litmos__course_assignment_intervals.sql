-- When each route assigned a course to a user, removed links included: one row per
-- account, route and stretch of time it held, [held_from, held_until) (held_until null: it still
-- holds). A route holds while all its links do: a team route from the later of joining
-- the team and the team getting the course until the earlier of their removals.

with user_courses as (
    {{ litmos_link_intervals('user_courses', 'user_id', 'course_id') }}
),

user_paths as (
    {{ litmos_link_intervals('user_learning_paths', 'learning_path_id', 'user_id') }}
),

team_users as (
    {{ litmos_link_intervals('team_users', 'team_id', 'user_id') }}
),

team_courses as (
    {{ litmos_link_intervals('team_courses', 'team_id', 'course_id') }}
),

team_paths as (
    {{ litmos_link_intervals('team_learning_paths', 'team_id', 'learning_path_id') }}
),

path_courses as (
    {{ litmos_link_intervals('learning_path_courses', 'learning_path_id', 'course_id') }}
),

routes as (
    select
        source_relation,
        parent_id as user_id,
        child_id  as course_id,
        'direct'  as route,
        held_from,
        held_until
    from user_courses

    union all

    select
        team_users.source_relation,
        team_users.child_id,
        team_courses.child_id,
        'team',
        greatest(team_users.held_from, team_courses.held_from),
        {{ litmos_earlier_end('team_users.held_until', 'team_courses.held_until') }}
    from team_users
    inner join team_courses
        on team_users.source_relation = team_courses.source_relation
        and team_users.parent_id = team_courses.parent_id

    union all

    select
        user_paths.source_relation,
        user_paths.child_id,
        path_courses.child_id,
        'learning_path',
        greatest(user_paths.held_from, path_courses.held_from),
        {{ litmos_earlier_end('user_paths.held_until', 'path_courses.held_until') }}
    from user_paths
    inner join path_courses
        on user_paths.source_relation = path_courses.source_relation
        and user_paths.parent_id = path_courses.parent_id

    union all

    select
        team_users.source_relation,
        team_users.child_id,
        path_courses.child_id,
        'team_learning_path',
        greatest(team_users.held_from, team_paths.held_from, path_courses.held_from),
        {{ litmos_earlier_end(
            litmos_earlier_end('team_users.held_until', 'team_paths.held_until'),
            'path_courses.held_until'
        ) }}
    from team_users
    inner join team_paths
        on team_users.source_relation = team_paths.source_relation
        and team_users.parent_id = team_paths.parent_id
    inner join path_courses
        on team_paths.source_relation = path_courses.source_relation
        and team_paths.child_id = path_courses.parent_id
)

select source_relation, user_id, course_id, route, held_from, held_until
from routes
where held_until is null or held_until > held_from
