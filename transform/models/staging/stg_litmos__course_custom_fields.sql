-- course_custom_fields: one row per (source_relation, CustomFieldId), the latest extracted.

with latest as (
    {{ litmos_latest(litmos_source('course_custom_fields'), ['CustomFieldId']) }}
)

select
    source_relation,
    {{ litmos_string('CustomFieldId') }}  as custom_field_id,
    {{ litmos_string('Label') }}          as label,
    {{ litmos_string('Type') }}           as field_type,
    {{ litmos_string('DefaultValue') }}   as default_value,
    {{ litmos_bool('Mandatory') }}        as is_mandatory,
    {{ litmos_bool('VisibleToLearner') }} as is_visible_to_learner,
    {{ litmos_text_list('Dropdown') }}    as dropdown_choices
from latest
