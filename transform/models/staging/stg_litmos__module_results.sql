-- module_results: one row per (source_relation, ModuleResultId), the latest by UpdatedDate.

with latest as (
    {{ litmos_latest(litmos_source('module_results'), ['ModuleResultId'], order_by='UpdatedDate') }}
)

select
    source_relation,
    {{ litmos_int('ModuleResultId') }}     as module_result_id,
    {{ litmos_string('UserId') }}          as user_id,
    {{ litmos_string('Id') }}              as module_id,
    {{ litmos_int('OriginalUserId') }}     as original_user_id,
    {{ litmos_int('OriginalModuleId') }}   as original_module_id,
    {{ litmos_string('Name') }}            as module_name,
    {{ litmos_string('Code') }}            as module_code,
    {{ litmos_string('UserName') }}        as user_name,
    {{ litmos_bool('Active') }}            as is_active,
    {{ litmos_int('AttemptNumber') }}      as attempt_number,
    {{ litmos_bool('Completed') }}         as is_completed,
    {{ litmos_int('Score') }}              as score,
    {{ litmos_int('Passmark') }}           as passmark,
    {{ litmos_timestamp('StartedDate') }}  as started_at,
    {{ litmos_timestamp('FinishedDate') }} as finished_at,
    {{ litmos_string('TimeTaken') }}       as time_taken,
    {{ litmos_timestamp('CreatedDate') }}  as created_at,
    {{ litmos_timestamp('UpdatedDate') }}  as updated_at,
    {{ litmos_int('CreatedBy') }}          as created_by
from latest
