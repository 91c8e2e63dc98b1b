-- Per account, course and custom field defined for courses: the field's label and the
-- course's value, so that any mart's course dimension can be filtered by a field
-- (docs/dbt.md, "Course custom fields"). Every course has a row for every field; the
-- values come from the opt-in stream course_custom_field_values (one request per
-- course): until an account has loaded it, its values are null and has_value is null,
-- not false. A value whose label matches no field defined now is left out.

{% set values_loaded = litmos_loaded_accounts('course_custom_field_values') %}

with courses as (
    select source_relation, course_id, course_code, course_name
    from {{ ref('stg_litmos__courses') }}
),

fields as (
    select * from {{ ref('stg_litmos__course_custom_fields') }}
),

field_values as (
    select * from {{ ref('stg_litmos__course_custom_field_values') }}
)

select
    courses.source_relation,
    courses.course_id,
    courses.course_code,
    courses.course_name,
    fields.custom_field_id,
    fields.label,
    fields.field_type,
    field_values.value,
    {% if values_loaded -%}
    case when courses.source_relation in (
        {%- for label in values_loaded %}{{ litmos_label_literal(label) }}{% if not loop.last %}, {% endif %}{% endfor -%}
    ) then field_values.course_id is not null end
    {%- else -%}
    cast(null as boolean)
    {%- endif %} as has_value,
    fields.default_value,
    fields.is_mandatory,
    fields.is_visible_to_learner
from courses
inner join fields
    on fields.source_relation = courses.source_relation
left join field_values
    on field_values.source_relation = courses.source_relation
    and field_values.course_id = courses.course_id
    and field_values.label = fields.label
