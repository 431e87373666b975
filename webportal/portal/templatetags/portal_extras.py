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


@register.filter
def highlight(text, evidence) -> str:
    """The text, escaped, with each evidence word (ml.evidence: JSON text or a list of {word, start, end, weight})
    wrapped in <mark class="evidence">. Spans that do not match the text (an edited description) are skipped."""
    import json

    from django.utils.html import conditional_escape
    from django.utils.safestring import mark_safe

    text = "" if text is None else str(text)
    if isinstance(evidence, str):
        try:
            evidence = json.loads(evidence or "[]")
        except ValueError:
            evidence = []
    spans = []
    for item in evidence if isinstance(evidence, list) else []:
        try:
            start, end, word = int(item["start"]), int(item["end"]), str(item["word"])
        except (KeyError, TypeError, ValueError):
            continue
        if 0 <= start < end <= len(text) and text[start:end] == word:
            spans.append((start, end, float(item.get("weight", 0.0))))
    out, at = [], 0
    for start, end, weight in sorted(spans):
        if start < at:
            continue
        out.append(conditional_escape(text[at:start]))
        out.append(format_html('<mark class="evidence" title="evidence, weight {}">{}</mark>', f"{weight:.3f}", text[start:end]))
        at = end
    out.append(conditional_escape(text[at:]))
    return mark_safe("".join(str(part) for part in out))
