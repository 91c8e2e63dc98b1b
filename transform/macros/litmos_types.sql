{#- Typed columns from the raw tables, whatever the loader and the warehouse.

    The raw column names are Litmos's (`UserId`); target-duckdb lowercases them and DuckDB
    matches identifiers case-insensitively, target-postgres keeps the case: a quoted
    `"UserId"` names the column in both. -#}

{% macro litmos_column(name) -%}
    {{ adapter.quote(name) }}
{%- endmacro %}

{% macro litmos_string(name) -%}
    cast({{ litmos_column(name) }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro litmos_int(name) -%}
    cast({{ litmos_column(name) }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro litmos_bool(name) -%}
    cast({{ litmos_column(name) }} as boolean)
{%- endmacro %}

{#- Litmos decimals (PercentageComplete, Price): DOUBLE in DuckDB, numeric in PostgreSQL. -#}
{% macro litmos_decimal(name) -%}
    cast({{ litmos_column(name) }} as decimal(18, 4))
{%- endmacro %}

{#- Every date-time as a zone-less UTC timestamp: DuckDB's loader writes UTC wall clocks,
    PostgreSQL's `timestamptz` is turned into the UTC wall clock whatever the session's
    TimeZone. -#}
{% macro litmos_timestamp(name) -%}
    {{ return(adapter.dispatch('litmos_utc', 'litmos')(litmos_column(name))) }}
{%- endmacro %}

{% macro default__litmos_utc(expression) -%}
    cast({{ expression }} as timestamp)
{%- endmacro %}

{% macro postgres__litmos_utc(expression) -%}
    cast(({{ expression }} at time zone 'UTC') as timestamp)
{%- endmacro %}

{#- A number written as text (achievements' Score: "92.5", "" or null): null unless numeric. -#}
{% macro litmos_text_to_number(expression) -%}
    {{ return(adapter.dispatch('litmos_text_to_number', 'litmos')(expression)) }}
{%- endmacro %}

{% macro default__litmos_text_to_number(expression) -%}
    try_cast({{ expression }} as decimal(18, 4))
{%- endmacro %}

{% macro postgres__litmos_text_to_number(expression) -%}
    case when trim({{ expression }}) ~ '^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$'
        then cast(trim({{ expression }}) as decimal(18, 4)) end
{%- endmacro %}

{#- A ratio or a mean as an exact decimal, the same in every warehouse. -#}
{% macro litmos_round(expression, places) -%}
    round(cast({{ expression }} as decimal(18, 6)), {{ places }})
{%- endmacro %}

{#- A list of texts (course_custom_fields.Dropdown) as the text of a JSON array,
    `["SOX","GDPR"]`, the same in every warehouse: target-duckdb loads the list as JSON,
    target-postgres as a `text[]`. -#}
{% macro litmos_text_list(name) -%}
    {{ return(adapter.dispatch('litmos_text_list', 'litmos')(litmos_column(name))) }}
{%- endmacro %}

{% macro default__litmos_text_list(expression) -%}
    cast(to_json(cast({{ expression }} as {{ dbt.type_string() }}[])) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro postgres__litmos_text_list(expression) -%}
    cast(to_json({{ expression }}) as {{ dbt.type_string() }})
{%- endmacro %}
