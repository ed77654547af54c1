"""Advisory forms: fields and the CSRF token; the rules live in services."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from .models import RSVP_LABELS
from .services import OPERATOR_LABELS, RULE_FIELDS


class CharterForm(FlaskForm):
    purpose = TextAreaField("Purpose", description="Why the committee exists. Markdown.")
    time_commitment = TextAreaField(
        "Time commitment", description="For example: one meeting a month and a quarterly call."
    )
    recognition = TextAreaField(
        "Recognition and compensation", description="How members are thanked for their time."
    )
    response_days = IntegerField(
        "Response commitment (days)",
        validators=[Optional()],
        description="Every suggestion gets the company's answer within this many days.",
    )


class AcceptForm(FlaskForm):
    accept_charter = BooleanField("I have read the charter and accept it")


class InviteForm(FlaskForm):
    email = EmailField("E-mail address", description="A customer, member or not.")


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""


class MeetingForm(FlaskForm):
    title = StringField("Title")
    starts_at = StringField("Date and time (UTC)", description="For example 2027-03-31T16:00.")
    agenda = TextAreaField("Agenda", description="Markdown.")
    minutes = TextAreaField("Minutes", description="Written after the meeting. Markdown.")


class RsvpForm(FlaskForm):
    answer = RadioField("Will you attend?", choices=list(RSVP_LABELS.items()))


class CohortForm(FlaskForm):
    name = StringField("Cohort name", description="For example: 2027 committee.")
    starts_on = DateField("Term starts", validators=[Optional()])
    ends_on = DateField("Term ends", validators=[Optional()])


class AssignCohortForm(FlaskForm):
    cohort = SelectField("Cohort", coerce=str)


FIELD_CHOICES = [(f, f.replace("_", " ")) for f in RULE_FIELDS]
OP_CHOICES = list(OPERATOR_LABELS.items())


class RuleForm(FlaskForm):
    name = StringField("Rule name", description="For example: strategic accounts renewing soon.")
    cohort = SelectField("Invite into cohort", coerce=str)
    field_1 = SelectField("Field", choices=FIELD_CHOICES)
    key_1 = StringField("Custom field name", description="Only for custom fields.")
    op_1 = SelectField("Condition", choices=OP_CHOICES)
    value_1 = StringField("Value")
    field_2 = SelectField("and field", choices=[("", "—"), *FIELD_CHOICES])
    key_2 = StringField("Custom field name")
    op_2 = SelectField("Condition", choices=OP_CHOICES)
    value_2 = StringField("Value")


class RewardForm(FlaskForm):
    member = SelectField("Member", coerce=str)
    description = StringField("What they received", description="For example: $250 gift card.")
    amount = StringField("Amount", validators=[Optional()])
    currency = StringField("Currency", validators=[Optional()], description="EUR, USD, ...")
    given_on = DateField("Given on", validators=[Optional()])
