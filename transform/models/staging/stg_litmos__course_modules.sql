-- course_modules: one row per (source_relation, CourseId, Id), the latest by UpdatedDate.
-- The current links only (Active = true); removals: stg_litmos__removed_links.

with latest as (
    {{ litmos_latest(litmos_source('course_modules'), ['CourseId', 'Id'], order_by='UpdatedDate') }}
)

select
    source_relation,
    {{ litmos_string('CourseId') }}       as course_id,
    {{ litmos_string('Id') }}             as module_id,
    {{ litmos_int('OriginalCourseId') }}  as original_course_id,
    {{ litmos_int('OriginalModuleId') }}  as original_module_id,
    {{ litmos_timestamp('CreatedDate') }} as created_at,
    {{ litmos_timestamp('UpdatedDate') }} as updated_at,
    {{ litmos_int('CreatedBy') }}         as created_by,
    {{ litmos_int('UpdatedBy') }}         as updated_by
from latest
where {{ litmos_bool('Active') }}
