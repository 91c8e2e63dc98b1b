-- teams: one row per (source_relation, Id), the latest extracted.

with latest as (
    {{ litmos_latest(litmos_source('teams'), ['Id']) }}
)

select
    source_relation,
    {{ litmos_string('Id') }}                    as team_id,
    {{ litmos_string('Name') }}                  as team_name,
    {{ litmos_string('TeamCodeForBulkImport') }} as bulk_import_code,
    {{ litmos_string('ParentTeamId') }}          as parent_team_id
from latest
