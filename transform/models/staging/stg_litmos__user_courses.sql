-- user_courses: one row per (source_relation, UserId, Id), the latest by UpdatedDate.
-- The current links only (Active = true); removals: stg_litmos__removed_links.

with latest as (
    {{ litmos_latest(litmos_source('user_courses'), ['UserId', 'Id'], order_by='UpdatedDate') }}
)

select
    source_relation,
    {{ litmos_string('UserId') }}         as user_id,
    {{ litmos_string('Id') }}             as course_id,
    {{ litmos_int('OriginalUserId') }}    as original_user_id,
    {{ litmos_int('OriginalCourseId') }}  as original_course_id,
    {{ litmos_timestamp('CreatedDate') }} as created_at,
    {{ litmos_timestamp('UpdatedDate') }} as updated_at,
    {{ litmos_int('CreatedBy') }}         as created_by,
    {{ litmos_int('UpdatedBy') }}         as updated_by
from latest
where {{ litmos_bool('Active') }}
