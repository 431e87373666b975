from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def version(value) -> str:
    """A model version for tables: registry versions as they are, long run ids shortened (full id on hover)."""
    text = "" if value is None else str(value)
    if len(text) <= 16:
        return text or "–"
    return format_html('<span title="{}">{}…</span>', text, text[:10])
