-- learning_path_courses: one row per (source_relation, LearningPathId, Id), the latest by UpdatedDate.
-- The current links only (Active = true); removals: stg_litmos__removed_links.

with latest as (
    {{ litmos_latest(litmos_source('learning_path_courses'), ['LearningPathId', 'Id'], order_by='UpdatedDate') }}
)

select
    source_relation,
    {{ litmos_string('LearningPathId') }}      as learning_path_id,
    {{ litmos_string('Id') }}                  as course_id,
    {{ litmos_int('OriginalLearningPathId') }} as original_learning_path_id,
    {{ litmos_int('OriginalCourseId') }}       as original_course_id,
    {{ litmos_timestamp('CreatedDate') }}      as created_at,
    {{ litmos_timestamp('UpdatedDate') }}      as updated_at,
    {{ litmos_int('CreatedBy') }}              as created_by,
    {{ litmos_int('UpdatedBy') }}              as updated_by
from latest
where {{ litmos_bool('Active') }}
