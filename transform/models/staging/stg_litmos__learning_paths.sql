-- learning_paths: one row per (source_relation, Id), the latest extracted.

with latest as (
    {{ litmos_latest(litmos_source('learning_paths'), ['Id']) }}
)

select
    source_relation,
    {{ litmos_string('Id') }}                    as learning_path_id,
    {{ litmos_string('Name') }}                  as learning_path_name,
    {{ litmos_string('Description') }}           as description,
    {{ litmos_bool('Active') }}                  as is_active,
    {{ litmos_bool('ForSale') }}                 as is_for_sale,
    {{ litmos_decimal('Price') }}                as price,
    {{ litmos_int('OriginalId') }}               as original_id,
    {{ litmos_timestamp('AccessTillDate') }}     as access_till_at,
    {{ litmos_int('AccessTillDays') }}           as access_till_days,
    {{ litmos_bool('IsEquivalency') }}           as is_equivalency,
    {{ litmos_bool('LearningPathTeamLibrary') }} as is_in_team_library
from latest
