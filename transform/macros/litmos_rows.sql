{#- One row per account (`source_relation`) and primary key: the latest by the replication
    key, then by the time it was extracted. Upserting targets already keep one row per key;
    an append-only target (or one that re-reads a window edge) keeps every version, and
    this picks the newest.

    Removals in the link streams are versions too (`Active = false` on the same key), so
    they are picked here first and filtered afterwards: filtering first would bring back
    the older, active version. -#}
{% macro litmos_latest(relation, keys, order_by=none) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by source_relation, {% for key in keys %}{{ litmos_column(key) }}{% if not loop.last %}, {% endif %}{% endfor %}
                order by
                    {% if order_by %}{{ litmos_column(order_by) }} desc nulls last,{% endif %}
                    {{ litmos_column('_sdc_extracted_at') }} desc nulls last
            ) as litmos_version_rank
        from {{ relation }}
    ) as versions
    where litmos_version_rank = 1
{%- endmacro %}

{#- The instant statuses are judged at, as a zone-less UTC timestamp: the `litmos_as_of`
    variable when set, else the time of the run. -#}
{% macro litmos_as_of() -%}
    {%- set as_of = var('litmos_as_of', '') -%}
    {%- if as_of -%}
        cast('{{ as_of }}' as timestamp)
    {%- else -%}
        {{ return(adapter.dispatch('litmos_now', 'litmos')()) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__litmos_now() -%}
    cast(timezone('UTC', current_timestamp) as timestamp)
{%- endmacro %}

{% macro postgres__litmos_now() -%}
    cast((current_timestamp at time zone 'UTC') as timestamp)
{%- endmacro %}
