-- The links removed in Litmos: every link stream's keys whose latest version is
-- Active = false (the staging model of each link stream keeps the others). Answers
-- "who left which team, which assignment was taken away, and when".

{% set link_streams = [
    ('user_courses', 'UserId', 'user', 'Id', 'course'),
    ('user_learning_paths', 'LearningPathId', 'learning_path', 'Id', 'user'),
    ('team_users', 'TeamId', 'team', 'Id', 'user'),
    ('team_courses', 'TeamId', 'team', 'Id', 'course'),
    ('team_learning_paths', 'TeamId', 'team', 'Id', 'learning_path'),
    ('learning_path_courses', 'LearningPathId', 'learning_path', 'Id', 'course'),
    ('course_modules', 'CourseId', 'course', 'Id', 'module'),
] %}

{% for stream, parent, parent_kind, child, child_kind in link_streams %}
select
    source_relation,
    '{{ stream }}'                        as link_stream,
    '{{ parent_kind }}'                   as parent_kind,
    {{ litmos_string(parent) }}           as parent_id,
    '{{ child_kind }}'                    as child_kind,
    {{ litmos_string(child) }}            as child_id,
    {{ litmos_timestamp('CreatedDate') }} as linked_at,
    {{ litmos_timestamp('UpdatedDate') }} as removed_at
from (
    {{ litmos_latest(litmos_source(stream), [parent, child], order_by='UpdatedDate') }}
) as {{ stream }}
where not {{ litmos_bool('Active') }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
