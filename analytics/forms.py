from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from .services import CONFIGURABLE_ROLES


class DashboardRolesForm(FlaskForm):
    roles = SelectMultipleField(
        "Roles that see the dashboard (admins always do)",
        choices=[SelectChoice(r, r.replace("_", " ")) for r in CONFIGURABLE_ROLES],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
