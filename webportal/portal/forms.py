from __future__ import annotations

from django import forms
from django.conf import settings

from webportal.portal.models import Component, Label
from webportal.portal.services import TextError, text_check


class DescriptionForm(forms.Form):
    text = forms.CharField(
        label="Component description",
        max_length=settings.MAX_TEXT_CHARS,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "e.g. Steel bracket manufactured in 2012, good condition", "autofocus": True}
        ),
    )

    def clean_text(self):
        try:
            return text_check(self.cleaned_data["text"])
        except TextError as exc:
            raise forms.ValidationError(f"The description {exc.message}.") from exc


class FeedbackForm(forms.Form):
    correct_label = forms.TypedChoiceField(label="The correct label is", choices=Label.choices, coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(label="Comment", required=False, max_length=settings.MAX_TEXT_CHARS, widget=forms.Textarea(attrs={"rows": 2}))


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file with a 'text' column")
    key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class FilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    label = forms.ChoiceField(required=False, choices=[("", "any label"), ("0", "compliant"), ("1", "non-compliant")])
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *Component.Status.choices])
    created_by = forms.CharField(required=False, label="Entered by")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    review = forms.ChoiceField(
        required=False,
        label="Review",
        choices=[("", "any review state"), ("reviewed", "reviewed (confirmed)"), ("disputed", "disputed"), ("unreviewed", "unreviewed")],
    )


class ReviewRequestForm(forms.Form):
    note = forms.CharField(label="What looks wrong?", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
