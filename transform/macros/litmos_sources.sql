{#- The opt-in fan-out streams (user_badges, ilt_rollcall, ilt_attendance: one request per
    user or session) are loaded only when selected. Their staging models read an empty
    relation of the same columns until they are, so the project builds either way. -#}

{% macro litmos_source_loaded(table) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set relation = source('litmos', table) -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {{ return(found is not none) }}
{%- endmacro %}

{#- `columns`: raw column name -> one of string, int, bool, timestamp. -#}
{% macro litmos_source_or_empty(table, columns) -%}
    {%- if litmos_source_loaded(table) -%}
        {{ source('litmos', table) }}
    {%- else -%}
        (
            select
            {%- for name, kind in columns.items() %}
                cast(null as {{ litmos_type(kind) }}) as {{ litmos_column(name) }},
            {%- endfor %}
                cast(null as timestamp) as {{ litmos_column('_sdc_extracted_at') }}
            where 1 = 0
        ) as {{ table }}_not_loaded
    {%- endif -%}
{%- endmacro %}

{% macro litmos_type(kind) -%}
    {%- if kind == 'string' -%}{{ dbt.type_string() }}
    {%- elif kind == 'int' -%}{{ dbt.type_bigint() }}
    {%- elif kind == 'bool' -%}boolean
    {%- elif kind == 'timestamp' -%}timestamp
    {%- else -%}{{ exceptions.raise_compiler_error('unknown column kind ' ~ kind) }}
    {%- endif -%}
{%- endmacro %}
