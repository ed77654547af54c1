"""Listening forms: fields and the CSRF token; the rules are in services."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice


class WatchlistForm(FlaskForm):
    name = StringField("Name", description="What the list listens for, e.g. “Buying intent”.")
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice("lead", "Lead (buying intent)"),
            SelectChoice("churn", "Churn (risk of leaving)"),
        ],
    )
    terms = TextAreaField(
        "Words and phrases",
        description="One a line (or separated by commas). Matching ignores case and word "
        "endings: “price” also finds “prices” and “pricing”, never “priceless”.",
    )


class EscalateForm(FlaskForm):
    subject = StringField("Case subject", description="Leave empty to use the thread's title.")
    description = TextAreaField(
        "Note for the case", description="Leave empty to quote the post and link the thread."
    )
