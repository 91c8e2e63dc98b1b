{#- Helpers of the history models (compliance over time, docs/dbt.md). -#}

{#- When each link of a link stream held: current links from their creation on (end
    null), removed ones from their creation until their removal (the UpdatedDate of the
    Active = false version, stg_litmos__removed_links). `parent_column` and `child_column`
    name the ids in the stream's staging model, in the order stg_litmos__removed_links
    keeps them (parent_id, child_id). -#}
{% macro litmos_link_intervals(stream, parent_column, child_column) -%}
    select
        source_relation,
        {{ parent_column }} as parent_id,
        {{ child_column }}  as child_id,
        created_at          as held_from,
        cast(null as timestamp) as held_until
    from {{ ref('stg_litmos__' ~ stream) }}
    union all
    select
        source_relation,
        parent_id,
        child_id,
        linked_at  as held_from,
        removed_at as held_until
    from {{ ref('stg_litmos__removed_links') }}
    where link_stream = '{{ stream }}'
{%- endmacro %}

{#- The earlier of two ends of intervals, where null means "never ends". -#}
{% macro litmos_earlier_end(first, second) -%}
    case
        when {{ first }} is null then {{ second }}
        when {{ second }} is null then {{ first }}
        when {{ first }} < {{ second }} then {{ first }}
        else {{ second }}
    end
{%- endmacro %}

{#- Whether an interval [held_from, held_until) holds at `instant`. -#}
{% macro litmos_holds(prefix, instant) -%}
    ({{ prefix }}.held_from <= {{ instant }}
        and ({{ prefix }}.held_until is null or {{ prefix }}.held_until > {{ instant }}))
{%- endmacro %}

{#- The first day whose figures see an event at `instant`: figures are judged at the end
    of the day (the midnight after it), so an event in (midnight d, midnight d+1] shows
    from day d on. -#}
{% macro litmos_effect_date(instant) -%}
    case
        when {{ instant }} = cast(cast({{ instant }} as date) as timestamp)
            then cast({{ dbt.dateadd('day', '-1', instant) }} as date)
        else cast({{ instant }} as date)
    end
{%- endmacro %}

{#- An event's instant, no later than as_of (`window_bounds.as_of`): a change stamped after
    as_of (when `litmos_as_of` is in the past) counts as made at as_of, as today's marts,
    which read the latest version whatever its date, count it. Null stays null. -#}
{% macro litmos_by_as_of(instant) -%}
    case when {{ instant }} > window_bounds.as_of then window_bounds.as_of else {{ instant }} end
{%- endmacro %}

{#- The history mart's planner hint. PostgreSQL estimates a row or two for the latest
    versions the staging views pick (a window function, then a filter), plans nested
    loops on that, and a join of a hundred thousand rows with another then runs for many
    minutes (on 1 000 users: over ten, against ten seconds with hash joins). Nested loops
    off, for this model's transaction only. DuckDB plans well without it. -#}
{% macro litmos_history_planner_hint() -%}
    {{ return(adapter.dispatch('litmos_history_planner_hint', 'litmos')()) }}
{%- endmacro %}

{% macro default__litmos_history_planner_hint() -%}
{%- endmacro %}

{% macro postgres__litmos_history_planner_hint() -%}
    set local enable_nestloop = off
{%- endmacro %}
