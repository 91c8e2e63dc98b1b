-- locations: one row per (source_relation, LocationId), the latest extracted.

with latest as (
    {{ litmos_latest(litmos_source('locations'), ['LocationId']) }}
)

select
    source_relation,
    {{ litmos_string('LocationId') }}  as location_id,
    {{ litmos_string('Location') }}    as location_name,
    {{ litmos_string('Description') }} as description,
    {{ litmos_string('Street1') }}     as street_1,
    {{ litmos_string('Street2') }}     as street_2,
    {{ litmos_string('City') }}        as city,
    {{ litmos_string('State') }}       as state,
    {{ litmos_string('PostalCode') }}  as postal_code,
    {{ litmos_string('Country') }}     as country,
    {{ litmos_string('Phone') }}       as phone
from latest
