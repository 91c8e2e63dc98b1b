-- user_badges: one row per (source_relation, UserId, ID).
-- An opt-in stream: until an account selects and loads it, it adds no rows (and until
-- none has, this is an empty relation of its columns).
{% set raw_columns = {
    'UserId': 'string',
    'ID': 'int',
    'Title': 'string',
    'Description': 'string',
    'Icon': 'string',
    'IconBgColor': 'string',
    'IconDisplayUrl': 'string'
} %}

with latest as (
    {{ litmos_latest(litmos_source('user_badges', raw_columns), ['UserId', 'ID']) }}
)

select
    source_relation,
    {{ litmos_string('UserId') }}         as user_id,
    {{ litmos_int('ID') }}                as badge_id,
    {{ litmos_string('Title') }}          as title,
    {{ litmos_string('Description') }}    as description,
    {{ litmos_string('Icon') }}           as icon,
    {{ litmos_string('IconBgColor') }}    as icon_background_color,
    {{ litmos_string('IconDisplayUrl') }} as icon_url
from latest
