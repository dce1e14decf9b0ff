"""The request-a-visit form and the small forms of the status and staff pages.

Forms check shape and the rules a requester can fix on the spot (dates in the past, end before
start, size, e-mail); ``visits.services`` stays the authority and its ``ValidationFailed`` is shown
on the matching field by the view.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django import forms
from django.core.validators import RegexValidator
from django.forms import formset_factory
from django.forms.utils import ErrorDict, ErrorList
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.text import single_line
from directory.models import Language, Topic
from events.models import Participation
from visits.models import Visit, VisitLength
from visits.services import MAX_DELEGATION_SIZE, MemberSpec, VisitRequestInput

from .labels import label

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_MEMBERS = MAX_DELEGATION_SIZE
MAX_WINDOWS = 5


class SingleLineField(forms.CharField):
    """A name or title: line breaks and other control characters typed or pasted become spaces."""

    def to_python(self, value: Any | None) -> str | None:
        text = super().to_python(value)
        return single_line(text) if text else text


class QuietForm(forms.Form):
    """A form the "add a row" button re-renders with what was typed, without complaining about it yet.

    With ``quiet=True`` it reports no errors, so nothing is validated and no field is marked invalid;
    the next real submission builds a new form that validates everything.
    """

    def __init__(self, *args: Any, quiet: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quiet = quiet

    @property
    def errors(self) -> ErrorDict:
        return ErrorDict() if self.quiet else super().errors


if TYPE_CHECKING:  # django-stubs make BaseFormSet generic; Django's own class is not subscriptable
    _QuietFormSetBase = forms.BaseFormSet[QuietForm]
else:
    _QuietFormSetBase = forms.BaseFormSet


class QuietFormSet(_QuietFormSetBase):
    """The rows of a ``QuietForm``: quiet, neither the rows nor the set (too few, too many) complain."""

    def __init__(self, *args: Any, quiet: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quiet = quiet
        if quiet:
            self.form_kwargs = {**self.form_kwargs, "quiet": True}

    @property
    def errors(self) -> list[ErrorList]:
        return [] if self.quiet else super().errors

    def non_form_errors(self) -> ErrorList:
        return self.error_class() if self.quiet else super().non_form_errors()


_FormSet = TypeVar("_FormSet", bound=QuietFormSet)


def quiet_formset(form: type[QuietForm], formset: type[_FormSet], **options: Any) -> type[_FormSet]:
    """``formset_factory``, typed as what it returns: a subclass of ``formset`` (the stubs say only BaseFormSet)."""
    return cast("type[_FormSet]", formset_factory(form, formset=formset, **options))


class VisitRequestForm(QuietForm):
    organisation_name = SingleLineField(label=_("Organisation name"), max_length=200)
    organisation_country = forms.CharField(
        label=_("Country"),
        max_length=2,
        required=False,
        help_text=_("Two-letter ISO code, e.g. DK or DE."),
        validators=[RegexValidator(r"^[A-Za-z]{2}$", _("Use the two-letter country code, e.g. DK."))],
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 3, "class": "short"}),
    )
    organisation_website = forms.URLField(
        label=_("Website"), required=False, assume_scheme="https",
        widget=forms.URLInput(attrs={"autocomplete": "url", "placeholder": "https://"}),
    )
    contact_name = SingleLineField(
        label=_("Your name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    contact_email = forms.EmailField(
        label=_("Your e-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("We send the acknowledgement and every update here."),
    )
    contact_language = forms.ChoiceField(label=_("Language for our e-mails"), choices=Language.choices)
    delegation_name = SingleLineField(
        label=_("Delegation name"), max_length=200,
        help_text=_("How we should call your group, e.g. “Life Science Nord delegation”."),
    )
    delegation_size = forms.IntegerField(
        label=_("Number of people travelling"), min_value=1, max_value=MAX_DELEGATION_SIZE,
        # Interpolated when shown, in the reader's language (a lazy string's % would be English at import).
        help_text=lazy(lambda: gettext("Between 1 and %(max)s.") % {"max": MAX_DELEGATION_SIZE}, str)(),
        widget=forms.NumberInput(attrs={"class": "short"}),
    )
    duration = forms.ChoiceField(
        label=_("How long should the visit be?"), required=False, initial=VisitLength.ONE_DAY,
        choices=[(VisitLength.HALF_DAY, _("Half a day")), (VisitLength.ONE_DAY, _("One day")),
                 (VisitLength.TWO_DAYS, _("Two days"))],
        widget=forms.RadioSelect,
        help_text=_("We plan that many working days inside your first date range."),
    )
    topics = forms.ModelMultipleChoiceField(
        label=_("Topics of interest"), queryset=Topic.objects.all(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    purpose = forms.CharField(
        label=_("Purpose of the visit"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What would you like to discuss or see?"),
    )

    def clean_organisation_country(self) -> str:
        country: str = self.cleaned_data["organisation_country"]
        return country.upper()


class MemberForm(QuietForm):
    name = SingleLineField(label=_("Name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    job_title = SingleLineField(label=_("Job title"), max_length=200, required=False)


class BaseMemberFormSet(QuietFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[str] = set()
        for form in self.forms:
            email = (form.cleaned_data.get("email") or "").lower()
            if email and email in seen:
                form.add_error("email", _("This person is listed twice."))
            seen.add(email)


class WindowForm(QuietForm):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean_start(self) -> date:
        start: date = self.cleaned_data["start"]
        if start < timezone.localdate():
            raise forms.ValidationError(_("This date is in the past."), code="past")
        return start

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", forms.ValidationError(_("The end is before the start."), code="end_before_start"))
        return cleaned


MemberFormSet = quiet_formset(
    MemberForm, BaseMemberFormSet, extra=1, max_num=MAX_MEMBERS, validate_max=True, absolute_max=MAX_MEMBERS
)
WindowFormSet = quiet_formset(
    WindowForm, QuietFormSet, extra=0, min_num=1, validate_min=True, max_num=MAX_WINDOWS, validate_max=True,
    absolute_max=MAX_WINDOWS,
)


def visit_request_input(form: VisitRequestForm, members: QuietFormSet, windows: QuietFormSet) -> VisitRequestInput:
    """The service's input from three valid forms; blank extra rows are left out."""
    data = form.cleaned_data
    return VisitRequestInput(
        organisation_name=data["organisation_name"],
        organisation_country=data["organisation_country"],
        organisation_website=data["organisation_website"],
        contact_name=data["contact_name"],
        contact_email=data["contact_email"],
        contact_language=data["contact_language"],
        delegation_name=data["delegation_name"],
        delegation_size=data["delegation_size"],
        members=[
            MemberSpec(name=m.cleaned_data["name"], email=m.cleaned_data["email"], job_title=m.cleaned_data["job_title"])
            for m in members.forms
            if m.cleaned_data
        ],
        preferred_windows=[(w.cleaned_data["start"], w.cleaned_data["end"]) for w in windows.forms if w.cleaned_data],
        topics=list(data["topics"]),
        purpose=data["purpose"],
        duration=data.get("duration") or "",
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RescheduleForm(forms.Form):
    body = forms.CharField(
        label=_("Which dates would suit you instead?"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class VisitFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *((value, label(value)) for value in Visit.Status.values)]
    )
    q = forms.CharField(
        label=_("Search"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Reference, delegation, organisation, contact")}),
    )


class ConfirmVisitForm(forms.Form):
    starts_on = forms.DateField(label=_("First day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    ends_on = forms.DateField(label=_("Last day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("starts_on"), cleaned.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", _("The last day is before the first day."))
        return cleaned


class DeclineVisitForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason sent to the requester"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


#: The answers a host gives on their meetings page, as (value, button text).
RSVP_CHOICES: list[tuple[str, StrOrPromise]] = [
    (Participation.Rsvp.ACCEPTED, _("Accept")),
    (Participation.Rsvp.TENTATIVE, _("Maybe")),
    (Participation.Rsvp.DECLINED, _("Decline")),
]


class RsvpForm(forms.Form):
    answer = forms.ChoiceField(choices=RSVP_CHOICES)
