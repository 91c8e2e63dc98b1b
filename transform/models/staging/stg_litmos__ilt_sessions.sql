-- ilt_sessions: one row per (source_relation, Id), the latest extracted.

with latest as (
    {{ litmos_latest(litmos_source('ilt_sessions'), ['Id']) }}
)

select
    source_relation,
    {{ litmos_string('Id') }}               as session_id,
    {{ litmos_string('Name') }}             as session_name,
    {{ litmos_string('CourseId') }}         as course_id,
    {{ litmos_string('ModuleId') }}         as module_id,
    {{ litmos_string('CourseName') }}       as course_name,
    {{ litmos_string('ModuleName') }}       as module_name,
    {{ litmos_string('InstructorUserId') }} as instructor_user_id,
    {{ litmos_string('InstructorName') }}   as instructor_name,
    {{ litmos_int('SessionType') }}         as session_type,
    {{ litmos_string('LocationId') }}       as location_id,
    {{ litmos_string('Location') }}         as location_name,
    {{ litmos_string('TimeZone') }}         as time_zone,
    {{ litmos_timestamp('StartDate') }}     as starts_at,
    {{ litmos_timestamp('EndDate') }}       as ends_at,
    {{ litmos_int('Slots') }}               as slots,
    {{ litmos_int('Accepted') }}            as accepted,
    {{ litmos_bool('EnableWaitList') }}     as is_wait_list_enabled
from latest
