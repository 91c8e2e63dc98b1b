-- team_courses: one row per (source_relation, TeamId, Id), the latest by UpdatedDate.
-- The current links only (Active = true); removals: stg_litmos__removed_links.

with latest as (
    {{ litmos_latest(litmos_source('team_courses'), ['TeamId', 'Id'], order_by='UpdatedDate') }}
)

select
    source_relation,
    {{ litmos_string('TeamId') }}               as team_id,
    {{ litmos_string('Id') }}                   as course_id,
    {{ litmos_int('OriginalTeamId') }}          as original_team_id,
    {{ litmos_int('OriginalCourseId') }}        as original_course_id,
    {{ litmos_bool('IsInTeamLibrary') }}        as is_in_team_library,
    {{ litmos_bool('LearningPathAssignment') }} as is_learning_path_assignment,
    {{ litmos_timestamp('CreatedDate') }}       as created_at,
    {{ litmos_timestamp('UpdatedDate') }}       as updated_at,
    {{ litmos_int('CreatedBy') }}               as created_by,
    {{ litmos_int('UpdatedBy') }}               as updated_by
from latest
where {{ litmos_bool('Active') }}
