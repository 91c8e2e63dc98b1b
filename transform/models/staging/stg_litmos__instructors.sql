-- instructors: one row per (source_relation, Id), the latest extracted.

with latest as (
    {{ litmos_latest(litmos_source('instructors'), ['Id']) }}
)

select
    source_relation,
    {{ litmos_string('Id') }}          as user_id,
    {{ litmos_string('UserName') }}    as user_name,
    {{ litmos_string('FirstName') }}   as first_name,
    {{ litmos_string('LastName') }}    as last_name,
    {{ litmos_string('Email') }}       as email,
    {{ litmos_string('AccessLevel') }} as access_level,
    {{ litmos_bool('Active') }}        as is_active,
    {{ litmos_string('Brand') }}       as brand
from latest
