"""Creates BottleCRM's tables and what Parley's connector needs to talk to it.

Run by start.sh with the BottleCRM virtualenv's Python and crm.settings. BottleCRM has
no endpoint that turns a password into an API token, so the organisation, its admin
profile and a personal access token are made here through its own Django models.
Idempotent: an existing organisation, profile and still-valid token are kept.

    bootstrap.py TOKEN_FILE [--migrate]
"""

import os
import sys

import django

ORG_NAME = "Parley bridge test"
ADMIN_EMAIL = "parley-bridge@example.com"
PAT_LABEL = "parley-crm-bridge"


def main(token_file, migrate):
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    if migrate:
        call_command("migrate", interactive=False, verbosity=0)

    from common.models import Org, PersonalAccessToken, Profile

    org = Org.objects.filter(name=ORG_NAME).first() or Org.objects.create(
        name=ORG_NAME, company_name=ORG_NAME
    )
    user_model = get_user_model()
    user = user_model.objects.filter(email=ADMIN_EMAIL).first()
    if user is None:
        user = user_model.objects.create_user(email=ADMIN_EMAIL, password=None)
    profile, _ = Profile.objects.get_or_create(
        user=user,
        org=org,
        defaults={"role": "ADMIN", "is_organization_admin": True, "is_active": True},
    )
    if profile.role != "ADMIN" or not profile.is_active:
        profile.role, profile.is_active = "ADMIN", True
        profile.save()

    raw = ""
    if os.path.exists(token_file):
        with open(token_file) as f:
            raw = f.read().strip()
    if raw:
        pat = PersonalAccessToken.objects.filter(
            token_hash=PersonalAccessToken.hash_token(raw), profile=profile
        ).first()
        if pat is None or not pat.is_valid():
            raw = ""
    if not raw:
        # Unrestricted scopes: the connector writes contacts, accounts, tickets, leads,
        # tasks and (as the org's admin) the custom-field definitions it needs.
        raw, _ = PersonalAccessToken.generate(profile, PAT_LABEL)
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(raw + "\n")
    print(f"organisation {org.id}, admin {ADMIN_EMAIL}, token in {token_file}")


if __name__ == "__main__":
    main(sys.argv[1], "--migrate" in sys.argv[2:])
