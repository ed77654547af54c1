"""Delivering the e-mail outbox.

Services write an ``EmailOutbox`` row in the same transaction as the change that
causes the mail; ``deliver_pending`` sends them later, at least once. Each mail
carries a stable Message-ID built from its outbox id, so a mail sent twice after
a crash is recognisably the same mail. With ``PARLEY_SMTP_HOST`` set, mail goes
through that SMTP server; without, it is written as .eml files into
``<instance>/mail/`` (handy on a laptop and in the demo).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from .extensions import db
from .models import EmailOutbox, utcnow


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0

    def __int__(self) -> int:  # what the background runner counts
        return self.sent + self.failed

    def __str__(self) -> str:
        return f"sent {self.sent}, failed {self.failed} (gave up on {self.gave_up})"


def _message(row: EmailOutbox) -> EmailMessage:
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_FROM"]
    if row.member is not None:
        message["To"] = formataddr((row.member.display_name, row.member.email))
    else:
        message["To"] = row.to_address
    message["Subject"] = row.subject
    domain = cfg["MAIL_FROM"].rsplit("@", 1)[-1].strip(">") or "localhost"
    message["Message-ID"] = f"<outbox-{row.id}@{domain}>"
    footer = f"\n\n-- \n{cfg['SITE_NAME']} community. Manage notifications in your settings."
    message.set_content(row.body + footer)
    return message


def _send_smtp(messages: list[EmailMessage]) -> None:
    cfg = current_app.config
    with smtplib.SMTP(cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=20) as smtp:
        if cfg["SMTP_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("SMTP_USERNAME"):
            smtp.login(cfg["SMTP_USERNAME"], cfg.get("SMTP_PASSWORD") or "")
        for message in messages:
            smtp.send_message(message)


def _send_file(messages: list[EmailMessage]) -> None:
    folder = Path(current_app.instance_path) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    for message in messages:
        name = message["Message-ID"].strip("<>").split("@")[0]
        (folder / f"{name}.eml").write_bytes(bytes(message))


def deliver_pending(limit: int = 100) -> DeliveryReport:
    """Send up to ``limit`` pending mails, oldest first; failures are retried on the
    next run until ``MAIL_MAX_ATTEMPTS``, then left with their last error."""
    cfg = current_app.config
    send = _send_smtp if cfg.get("SMTP_HOST") else _send_file
    query = (
        select(EmailOutbox)
        .where(EmailOutbox.sent_at.is_(None), EmailOutbox.attempts < cfg["MAIL_MAX_ATTEMPTS"])
        .order_by(EmailOutbox.id)
        .limit(1)
    )
    if db.engine.dialect.name == "postgresql":
        # Each mail is locked from its claim to its commit, so several workers share
        # the queue and none sends a mail another is sending.
        query = query.with_for_update(skip_locked=True)
    report = DeliveryReport()
    last_id = 0
    for _ in range(limit):
        row = db.session.scalars(query.where(EmailOutbox.id > last_id)).first()
        if row is None:
            break
        last_id = row.id  # a failure waits for the next run, not the next turn
        try:
            send([_message(row)])
        except (OSError, smtplib.SMTPException) as error:
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            report.failed += 1
            if row.attempts >= cfg["MAIL_MAX_ATTEMPTS"]:
                report.gave_up += 1
        else:
            row.attempts += 1
            row.sent_at = utcnow()
            row.last_error = None
            report.sent += 1
        db.session.commit()
    return report


def pending_count() -> int:
    return db.session.scalar(
        select(db.func.count(EmailOutbox.id)).where(EmailOutbox.sent_at.is_(None))
    )
