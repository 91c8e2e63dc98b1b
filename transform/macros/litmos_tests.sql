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
