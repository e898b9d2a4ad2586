"""The dashboard's template filters: thin wrappers over referrals.dashboard.formatting."""

from django import template

from referrals.dashboard import formatting

register = template.Library()
register.filter("count", formatting.count)
register.filter("money", formatting.money)
register.filter("percent", formatting.percent)
register.filter("svg_columns", formatting.svg_columns)
register.filter("chart_table_rows", formatting.chart_table_rows)


@register.filter
def get_item(mapping: dict, key):
    """mapping[key] ("" when absent): the per-row links the views compute."""
    return mapping.get(key, "") if isinstance(mapping, dict) else ""
