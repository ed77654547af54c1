"""Moderation forms (CSRF-protected; the services validate the values)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from .models import FLAG_REASON_LABELS


class FlagForm(FlaskForm):
    reason = RadioField(
        "Why?", choices=[SelectChoice(k, v) for k, v in FLAG_REASON_LABELS.items()], default="spam"
    )
    note = TextAreaField("Anything the moderators should know?", description="Required for Other.")


class ActionForm(FlaskForm):
    action = HiddenField()
    target_type = HiddenField()
    target_id = HiddenField()
    reason = StringField("Reason")
    until = StringField("Suspend until (YYYY-MM-DD)")
    into = StringField("Into (space slug to move to, thread id to merge into)")
    body = TextAreaField("New text")
    level = StringField("Trust level")


class SpamRuleForm(FlaskForm):
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice("word", "Blocked word"),
            SelectChoice("domain", "Blocked link domain"),
        ],
    )
    value = StringField("Word or domain")
