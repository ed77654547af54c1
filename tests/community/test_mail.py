"""The e-mail outbox is delivered at least once, through a real SMTP server."""

import socket

import pytest
from aiosmtpd.controller import Controller

from community import mail
from community.extensions import db
from community.models import EmailOutbox, Member


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def _queue(app, member, subject="“Dark mode” is now Delivered", body="Shipped in 5.2."):
    with app.app_context():
        row = EmailOutbox(member_id=member.id, subject=subject, body=body)
        db.session.add(row)
        db.session.commit()
        return row.id


def test_pending_mail_goes_out_through_smtp_once(app, make_member, smtp_server):
    controller, inbox = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    member = make_member("Vera Voter", email="vera@customer.example")
    outbox_id = _queue(app, member)
    with app.app_context():
        report = mail.deliver_pending()
        assert (report.sent, report.failed) == (1, 0)
        assert mail.deliver_pending().sent == 0  # nothing is sent twice
        row = db.session.get(EmailOutbox, outbox_id)
        assert row.sent_at is not None and row.attempts == 1
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["vera@customer.example"]
    text = envelope.content.decode()
    assert "Subject: =?utf-8?" in text or "Dark mode" in text
    assert "Shipped in 5.2." in text
    assert f"Message-ID: <outbox-{outbox_id}@localhost>" in text


def test_a_down_server_keeps_mail_queued_until_it_is_back(app, make_member):
    port = _free_port()  # nothing listens here yet
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_MAX_ATTEMPTS=3)
    member = make_member("Pat Patient")
    outbox_id = _queue(app, member)
    with app.app_context():
        report = mail.deliver_pending()
        assert (report.sent, report.failed) == (0, 1)
        row = db.session.get(EmailOutbox, outbox_id)
        assert row.sent_at is None and row.attempts == 1
        assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with app.app_context():
            assert mail.deliver_pending().sent == 1
            assert mail.pending_count() == 0
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_mail_is_given_up_after_the_configured_attempts(app, make_member):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port(), MAIL_MAX_ATTEMPTS=2)
    _queue(app, make_member())
    with app.app_context():
        assert mail.deliver_pending().failed == 1
        assert mail.deliver_pending().gave_up == 1
        assert mail.deliver_pending().failed == 0  # no longer retried
        assert mail.pending_count() == 1  # but kept, with its last error, for the operator


def test_without_smtp_mail_is_written_to_the_instance_folder(app, make_member, runner, tmp_path):
    member = make_member("Fiona File")
    outbox_id = _queue(app, member, subject="Hello", body="Written to disk")
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 1, failed 0" in result.output
    written = (tmp_path / "instance" / "mail" / f"outbox-{outbox_id}.eml").read_text()
    assert "Written to disk" in written
    assert "To: Fiona File <" in written
    with app.app_context():
        assert db.session.get(Member, member.id) is not None


def test_a_worker_until_idle_sends_what_waits_then_stops(app, make_member, runner, tmp_path):
    member = make_member("Ida Idle")
    _queue(app, member, subject="First", body="One")
    _queue(app, member, subject="Second", body="Two")
    result = runner.invoke(args=["worker", "--job", "mail", "--until-idle"])
    assert result.exit_code == 0, result.output
    assert "mail: sent 2, failed 0 (gave up on 0)" in result.output
    assert len(list((tmp_path / "instance" / "mail").glob("outbox-*.eml"))) == 2
    with app.app_context():
        assert mail.pending_count() == 0
