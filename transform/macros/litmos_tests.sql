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

{#- Integrity in the Fivetran manner: a staging model has exactly one row per distinct
    primary key of its raw table (`keys`: Litmos's column names), whatever the loader kept
    (one version per key, or every version). For a link stream the removed links, which
    stg_litmos__removed_links keeps, count too (`link_stream`). An opt-in fan-out not
    loaded yet has no raw table: no keys. -#}
{% test litmos_one_row_per_raw_key(model, table, keys, link_stream=none) %}
with raw_keys as (
    {%- if litmos_source_loaded(table) %}
    select count(*) as keys_in_raw
    from (
        select distinct {% for key in keys %}{{ litmos_column(key) }}{% if not loop.last %}, {% endif %}{% endfor %}
        from {{ source('litmos', table) }}
    ) as distinct_keys
    {%- else %}
    select 0 as keys_in_raw
    {%- endif %}
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
