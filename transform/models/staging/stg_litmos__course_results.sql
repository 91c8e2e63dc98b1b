-- course_results: one row per (source_relation, UserId, Id), the latest by UpdatedDate.

with latest as (
    {{ litmos_latest(litmos_source('course_results'), ['UserId', 'Id'], order_by='UpdatedDate') }}
)

select
    source_relation,
    {{ litmos_string('UserId') }}               as user_id,
    {{ litmos_string('Id') }}                   as course_id,
    {{ litmos_int('OriginalUserId') }}          as original_user_id,
    {{ litmos_int('OriginalCourseId') }}        as original_course_id,
    {{ litmos_string('Name') }}                 as course_name,
    {{ litmos_string('Code') }}                 as course_code,
    {{ litmos_string('UserName') }}             as user_name,
    {{ litmos_bool('Active') }}                 as is_active,
    {{ litmos_bool('Completed') }}              as is_completed,
    {{ litmos_decimal('PercentageComplete') }}  as percentage_complete,
    {{ litmos_timestamp('StartedDate') }}       as started_at,
    {{ litmos_timestamp('CompletedDate') }}     as completed_at,
    {{ litmos_timestamp('LastAttemptDate') }}   as last_attempt_at,
    {{ litmos_timestamp('DueDate') }}           as due_at,
    {{ litmos_bool('Overdue') }}                as is_overdue_in_litmos,
    {{ litmos_bool('UpToDate') }}               as is_up_to_date,
    {{ litmos_timestamp('CompliantTillDate') }} as compliant_till,
    {{ litmos_bool('LearningPathAssignment') }} as is_learning_path_assignment,
    {{ litmos_bool('TeamAssignment') }}         as is_team_assignment,
    {{ litmos_timestamp('CreatedDate') }}       as created_at,
    {{ litmos_timestamp('UpdatedDate') }}       as updated_at,
    {{ litmos_int('CreatedBy') }}               as created_by,
    {{ litmos_int('UpdatedBy') }}               as updated_by
from latest
