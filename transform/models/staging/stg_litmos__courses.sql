-- courses: one row per (source_relation, Id), the latest extracted.

with latest as (
    {{ litmos_latest(litmos_source('courses'), ['Id']) }}
)

select
    source_relation,
    {{ litmos_string('Id') }}                      as course_id,
    {{ litmos_string('Code') }}                    as course_code,
    {{ litmos_string('Name') }}                    as course_name,
    {{ litmos_string('Description') }}             as description,
    {{ litmos_bool('Active') }}                    as is_active,
    {{ litmos_bool('ForSale') }}                   as is_for_sale,
    {{ litmos_decimal('Price') }}                  as price,
    {{ litmos_int('OriginalId') }}                 as original_id,
    {{ litmos_string('CourseCodeForBulkImport') }} as bulk_import_code,
    {{ litmos_timestamp('AccessTillDate') }}       as access_till_at,
    {{ litmos_int('AccessTillDays') }}             as access_till_days,
    {{ litmos_bool('CourseTeamLibrary') }}         as is_in_team_library,
    {{ litmos_int('CreatedBy') }}                  as created_by,
    {{ litmos_int('SeqId') }}                      as sequence_id
from latest
