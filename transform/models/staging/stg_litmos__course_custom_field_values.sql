-- course_custom_field_values: one row per (source_relation, CourseId, fieldname).
-- A value names its field by label (`fieldname`), not by CustomFieldId.
-- An opt-in stream: until an account selects and loads it, it adds no rows (and until
-- none has, this is an empty relation of its columns).
{% set raw_columns = {
    'CourseId': 'string',
    'fieldname': 'string',
    'Value': 'string'
} %}

with latest as (
    {{ litmos_latest(litmos_source('course_custom_field_values', raw_columns), ['CourseId', 'fieldname']) }}
)

select
    source_relation,
    {{ litmos_string('CourseId') }}  as course_id,
    {{ litmos_string('fieldname') }} as label,
    {{ litmos_string('Value') }}     as value
from latest
