-- learning_path_results: one row per (source_relation, UserId, Id), the latest by UpdatedDate.

with latest as (
    {{ litmos_latest(litmos_source('learning_path_results'), ['UserId', 'Id'], order_by='UpdatedDate') }}
)

select
    source_relation,
    {{ litmos_string('UserId') }}               as user_id,
    {{ litmos_string('Id') }}                   as learning_path_id,
    {{ litmos_int('OriginalUserId') }}          as original_user_id,
    {{ litmos_int('OriginalLearningPathId') }}  as original_learning_path_id,
    {{ litmos_string('Name') }}                 as learning_path_name,
    {{ litmos_bool('Active') }}                 as is_active,
    {{ litmos_bool('Completed') }}              as is_completed,
    {{ litmos_decimal('PercentageComplete') }}  as percentage_complete,
    {{ litmos_timestamp('StartDate') }}         as started_at,
    {{ litmos_timestamp('FinishDate') }}        as finished_at,
    {{ litmos_timestamp('CompliantTillDate') }} as compliant_till,
    {{ litmos_timestamp('CreatedDate') }}       as created_at,
    {{ litmos_timestamp('UpdatedDate') }}       as updated_at,
    {{ litmos_int('CreatedBy') }}               as created_by
from latest
