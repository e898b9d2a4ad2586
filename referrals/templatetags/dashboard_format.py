"""The dashboard's template filters: thin wrappers over referrals.dashboard.formatting."""

from django import template

from referrals.dashboard import formatting

register = template.Library()
register.filter("count", formatting.count)
register.filter("money", formatting.money)
register.filter("percent", formatting.percent)
register.filter("svg_bars", formatting.svg_bars)
