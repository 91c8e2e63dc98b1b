{#- Generic tests of our own (the project uses no dbt packages). -#}

{#- No two rows share the values of `columns` (a composite primary key). -#}
{% test litmos_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_these_values
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Every row satisfies `expression` (rows where it is false or null fail). -#}
{% test litmos_expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce({{ expression }}, false)
{% endtest %}

{#- dbt's `relationships` within one account: every non-null `column_name` has a row in
    `to` whose `field` equals it and whose `source_relation` is the row's own (an id of
    another account is no reference). -#}
{% test litmos_relationships(model, column_name, to, field) %}
select child.source_relation, child.{{ column_name }}
from {{ model }} as child
where child.{{ column_name }} is not null
    and not exists (
        select 1
        from {{ to }} as parent
        where parent.source_relation = child.source_relation
            and parent.{{ field }} = child.{{ column_name }}
    )
{% endtest %}

{#- Integrity in the Fivetran manner: a staging model has exactly one row per distinct
    primary key of its raw table (`keys`: Litmos's column names), whatever the loader kept
    (one version per key, or every version). For a link stream the removed links, which
    stg_litmos__removed_links keeps, count too (`link_stream`). An opt-in fan-out not
    loaded yet has no raw table: no keys. Keys are per account (source_relation). -#}
{% test litmos_one_row_per_raw_key(model, table, keys, link_stream=none) %}
{%- set key_columns = {} -%}
{%- for key in keys %}{% do key_columns.update({key: 'string'}) %}{% endfor -%}
with raw_keys as (
    select count(*) as keys_in_raw
    from (
        select distinct source_relation{% for key in keys %}, {{ litmos_column(key) }}{% endfor %}
        from {{ litmos_source(table, key_columns) }}
    ) as distinct_keys
),

staged as (
    select
        (select count(*) from {{ model }})
        {%- if link_stream %}
        + (select count(*) from {{ ref('stg_litmos__removed_links') }} where link_stream = '{{ link_stream }}')
        {%- endif %}
        as rows_staged
)

select raw_keys.keys_in_raw, staged.rows_staged
from raw_keys
cross join staged
where raw_keys.keys_in_raw <> staged.rows_staged
{% endtest %}
