"""HTML forms. They carry fields and the CSRF token; the rules live in services,
whose field errors the views attach back onto these forms."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from .models import ROLES


class RegisterForm(FlaskForm):
    email = EmailField("E-mail address")
    display_name = StringField("Display name")
    password = PasswordField("Password", description="At least 10 characters.")
    # A honeypot: people never see it (CSS hides it); robots fill every field.
    website = StringField("Leave this empty")
    # Where to go once registered (an invitation link, say); checked to stay on the site.
    next = HiddenField()


class LoginForm(FlaskForm):
    email = EmailField("E-mail address")
    password = PasswordField("Password")
    remember = BooleanField("Keep me signed in")
    next = HiddenField()


class ProfileForm(FlaskForm):
    display_name = StringField("Display name")
    bio = TextAreaField("About you", description="A few words other members will see.")


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password")
    new_password = PasswordField("New password", description="At least 10 characters.")


class TokenForm(FlaskForm):
    name = StringField("Token name", description="For example: reporting script.")


class ThreadForm(FlaskForm):
    kind = RadioField(
        "This is a",
        choices=[SelectChoice("question", "Question"), SelectChoice("discussion", "Discussion")],
        default="question",
    )
    title = StringField("Title")
    body = TextAreaField("Details", description="Markdown is supported.")
    tags = StringField("Tags", description="Up to 5, separated by commas.")


class ReplyForm(FlaskForm):
    body = TextAreaField("Your reply", description="Markdown is supported; @handle mentions.")


class EditPostForm(FlaskForm):
    title = StringField("Title")
    body = TextAreaField("Body")
    tags = StringField("Tags")


class SpaceForm(FlaskForm):
    name = StringField("Name")
    slug = StringField("Address", description="Lower-case letters, digits and dashes.")
    description = TextAreaField("Description")
    position = IntegerField("Position", validators=[Optional()])
    kind = SelectField(
        "Kind", choices=[SelectChoice("forum", "Forum"), SelectChoice("advisory", "Advisory")]
    )
    visibility = SelectField(
        "Visibility",
        choices=[
            SelectChoice("public", "Public"),
            SelectChoice("private", "Private (members only)"),
        ],
    )


class RolesForm(FlaskForm):
    roles = SelectMultipleField(
        "Roles",
        choices=[SelectChoice(r, r.replace("_", " ")) for r in ROLES if r != "member"],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )


class CaseForm(FlaskForm):
    subject = StringField("Subject")
    description = TextAreaField(
        "What happened?", description="What you tried, what you expected, any error message."
    )
    email = EmailField("Your e-mail address", description="Support will answer you there.")
    query = HiddenField()
    thread_id = HiddenField()
