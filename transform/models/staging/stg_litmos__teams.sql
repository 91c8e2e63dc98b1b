-- teams: one row per (Id), the latest extracted.

with latest as (
    {{ litmos_latest(source('litmos', 'teams'), ['Id']) }}
)

select
    {{ litmos_string('Id') }}                    as team_id,
    {{ litmos_string('Name') }}                  as team_name,
    {{ litmos_string('TeamCodeForBulkImport') }} as bulk_import_code,
    {{ litmos_string('ParentTeamId') }}          as parent_team_id
from latest
