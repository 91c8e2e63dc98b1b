-- team_learning_paths: one row per (source_relation, TeamId, Id), the latest by UpdatedDate.
-- The current links only (Active = true); removals: stg_litmos__removed_links.

with latest as (
    {{ litmos_latest(litmos_source('team_learning_paths'), ['TeamId', 'Id'], order_by='UpdatedDate') }}
)

select
    source_relation,
    {{ litmos_string('TeamId') }}              as team_id,
    {{ litmos_string('Id') }}                  as learning_path_id,
    {{ litmos_int('OriginalTeamId') }}         as original_team_id,
    {{ litmos_int('OriginalLearningPathId') }} as original_learning_path_id,
    {{ litmos_timestamp('CreatedDate') }}      as created_at,
    {{ litmos_timestamp('UpdatedDate') }}      as updated_at,
    {{ litmos_int('CreatedBy') }}              as created_by,
    {{ litmos_int('UpdatedBy') }}              as updated_by
from latest
where {{ litmos_bool('Active') }}
