"""Ideas forms: fields and the CSRF token; the rules are in services."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from .models import IMPORTANCE_LABELS, STATUS_LABELS


class IdeaForm(FlaskForm):
    area = SelectField("Product area", choices=[])
    title = StringField("Your idea, in one line")
    body = TextAreaField("Describe it", description="What problem would it solve? Markdown works.")
    tags = StringField("Tags", description="Up to 5, separated by commas.")


class VoteForm(FlaskForm):
    importance = SelectField(
        "How important is it to you?",
        choices=[SelectChoice("", "Just vote")]
        + [SelectChoice(k, v) for k, v in IMPORTANCE_LABELS.items()],
    )


class StatusForm(FlaskForm):
    status = SelectField(
        "New status",
        choices=[SelectChoice(k, v) for k, v in STATUS_LABELS.items() if k != "merged"],
    )
    note = TextAreaField(
        "Note to every voter", description="Required for Delivered and Declined. Markdown works."
    )


class MergeForm(FlaskForm):
    into = StringField("Merge into idea number", description="The idea to keep, e.g. 42.")


class AreaForm(FlaskForm):
    name = StringField("Name")
    slug = StringField("Address", description="Lower-case letters, digits and dashes.")
    description = TextAreaField("Description")
    space = SelectField("Space", choices=[], description="Private spaces keep their ideas private.")
