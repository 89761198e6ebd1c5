"""The mail worker: the only code that talks SMTP.

It runs a few *lanes* (threads), each with its own database session and one SMTP connection that serves many
messages. A lane leases a batch of due messages, sends them one by one, and records every message's fate.

Delivery semantics: a message is marked sent only after the server's 250 reply to DATA. A 4xx reply or a dropped
connection means retry later (with backoff); a 5xx reply means failed, with the reply kept. If the connection dies
after the message was transmitted but before the reply, its fate is unknown: it is retried with the same
Message-ID, so the worst case is a duplicate the receiver can recognise, never a loss. A worker killed outright
leaves its messages leased; they become due again when the lease expires.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask

from app.addresses import AddressError, wire_address
from app.extensions import db
from app.mail import queue
from app.mail.models import MessageState
from app.mail.queue import ClaimedMessage, Fate

log = logging.getLogger(__name__)

DRAIN_CRASHES = 3  # `--drain` gives up after this many crashes of a lane in a row (a long-running worker never does)


@dataclass
class WorkerStats:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, fates: list[Fate]) -> None:
        with self.lock:
            for fate in fates:
                setattr(self, fate.outcome, getattr(self, fate.outcome) + 1)


class SMTPConnection:
    """One SMTP session, opened lazily and reused for many messages."""

    def __init__(self, config: dict):
        self.host = config["MAIL_SERVER"]
        self.port = config["MAIL_PORT"]
        self.timeout = config["MAIL_TIMEOUT"]
        self.use_ssl = config["MAIL_USE_SSL"]
        self.use_tls = config["MAIL_USE_TLS"]
        self.username = config.get("MAIL_USERNAME")
        self.password = config.get("MAIL_PASSWORD")
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        if self.smtp is None:
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                smtp.ehlo()
                if self.use_tls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password or "")
            except BaseException:
                _quietly_close(smtp)
                raise
            self.smtp = smtp
        return self.smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                _quietly_close(self.smtp)
            self.smtp = None

    def reset_encoding(self) -> None:
        # smtplib switches commands to UTF-8 for an SMTPUTF8 transaction and never switches back.
        if self.smtp is not None:
            self.smtp.command_encoding = "ascii"

    def drop(self) -> None:
        if self.smtp is not None:
            _quietly_close(self.smtp)
            self.smtp = None


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


class Signer:
    """Optional DKIM signing (dkimpy), configured by MAIL_DKIM_SELECTOR, MAIL_DKIM_DOMAIN and MAIL_DKIM_KEY_FILE."""

    HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"mime-version", b"content-type"]

    def __init__(self, config: dict):
        self.key = None
        key_file = config.get("MAIL_DKIM_KEY_FILE")
        if key_file:
            with open(key_file, "rb") as f:
                self.key = f.read()
            self.selector = config["MAIL_DKIM_SELECTOR"].encode()
            self.domain = config["MAIL_DKIM_DOMAIN"].encode()

    def sign(self, message: bytes) -> bytes:
        if self.key is None:
            return message
        import dkim

        signature = dkim.sign(message, self.selector, self.domain, self.key, include_headers=self.HEADERS)
        return signature + message


class Unsendable(Exception):
    """This message cannot be sent as it is (it would fail the same way on every attempt)."""


def _envelope(message: ClaimedMessage, smtp: smtplib.SMTP, signer: Signer) -> tuple[str, str, list[str], bytes]:
    """Sender, recipient, MAIL options and the signed bytes for one message, or Unsendable with the reason."""
    try:
        sender, recipient = wire_address(message.envelope_from), wire_address(message.envelope_to)
    except AddressError as error:
        raise Unsendable(f"not an address any server accepts: {error.code}") from None
    head = message.raw.partition(b"\r\n\r\n")[0]
    international = sender.needs_smtputf8 or recipient.needs_smtputf8 or not head.isascii()
    options: list[str] = []
    if international:
        if not smtp.has_extn("smtputf8"):
            raise Unsendable(
                "the address has a mailbox name in another script, and the mail server does not offer SMTPUTF8"
            )
        options.append("SMTPUTF8")
    data = signer.sign(b"To: " + recipient.text.encode("utf-8") + b"\r\n" + message.raw)
    return sender.text, recipient.text, options, data


def deliver(connection: SMTPConnection, message: ClaimedMessage, signer: Signer) -> Fate:
    """Send one message over the connection. Never raises: whatever goes wrong is this message's fate.

    Trouble with the server or the network means retry; a message that cannot be composed, signed or addressed
    fails at once with the reason (it would fail the same way every time); anything unforeseen is retried, with the
    error recorded, until MAIL_MAX_ATTEMPTS.
    """
    transmitted = False
    try:
        smtp = connection.open()
        sender, recipient, options, data = _envelope(message, smtp, signer)
        code, text = smtp.mail(sender, options)
        if code != 250:
            return _refused(connection, message, code, text)
        code, text = smtp.rcpt(recipient)
        if code not in (250, 251):
            return _refused(connection, message, code, text, recipient=True)
        transmitted = True
        code, text = smtp.data(data)
        if code != 250:
            return _refused(connection, message, code, text)
        return Fate(message, MessageState.SENT, _reply(code, text))
    except Unsendable as error:
        return Fate(message, MessageState.FAILED, f"not sent: {error}"[:500])
    except smtplib.SMTPResponseException as error:  # e.g. 354 not offered, or a reply to an unexpected command
        return _refused(connection, message, error.smtp_code, error.smtp_error)
    except (TimeoutError, smtplib.SMTPException, OSError) as error:
        connection.drop()
        if transmitted:
            reply = f"connection lost after the message was sent, fate unknown; will resend it ({error!r})"
        else:
            reply = f"connection failed: {error!r}"
        return Fate(message, MessageState.RETRY, reply[:500])
    except Exception as error:  # noqa: BLE001 - one message must never stop the worker
        log.exception("message %s: unexpected error while sending", message.id)
        connection.drop()
        return Fate(
            message, MessageState.RETRY, f"unexpected error while sending: {type(error).__name__}: {error}"[:500]
        )
    finally:
        connection.reset_encoding()


def _refused(connection, message, code: int, text, recipient: bool = False) -> Fate:
    reply = _reply(code, text)
    if code == 421 or code < 200:  # the server is closing the session: reconnect for the next message
        connection.drop()
    else:
        try:
            connection.smtp.rset()
        except (smtplib.SMTPException, OSError, AttributeError):
            connection.drop()
    if 400 <= code < 500 or code < 200:
        return Fate(message, MessageState.RETRY, reply)
    return Fate(message, MessageState.FAILED, reply, hard_bounce=recipient)


class Worker:
    """Drains the outbox with `lanes` parallel SMTP connections."""

    def __init__(
        self,
        app: Flask,
        *,
        lanes: int | None = None,
        batch_size: int | None = None,
        idle_seconds: float | None = None,
        stop: threading.Event | None = None,
    ):
        config = app.config
        self.app = app
        self.lanes = max(1, lanes or config["MAIL_CONNECTIONS"])
        self.batch_size = max(1, batch_size or config["MAIL_BATCH_SIZE"])
        self.idle_seconds = config["MAIL_IDLE_SECONDS"] if idle_seconds is None else idle_seconds
        self.lease = timedelta(seconds=config["MAIL_LEASE_SECONDS"])
        self.record_every = max(1, config["MAIL_RECORD_EVERY"])
        self.stop = stop or threading.Event()
        self.stats = WorkerStats()
        self.errors: list[BaseException] = []

    def run(self, drain: bool = False) -> WorkerStats:
        threads = [
            threading.Thread(target=self._lane, args=(drain,), name=f"mail-lane-{n}", daemon=True)
            for n in range(self.lanes)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
        return self.stats

    def _lane(self, drain: bool) -> None:
        """One lane until stopped (or drained). A lane that crashes (the database went away, say) is restarted
        after a pause that grows with each crash in a row; its leased messages come back when their lease ends."""
        crashes = 0
        with self.app.app_context():
            while not self.stop.is_set():
                try:
                    self._lane_round(drain)
                    return
                except Exception as error:  # noqa: BLE001 - a lane's crash must never stop delivery
                    crashes += 1
                    self.errors.append(error)
                    _quietly_rollback()
                    if drain and crashes >= DRAIN_CRASHES:
                        # A one-off drain (cron) reports the trouble and ends instead of trying forever.
                        log.exception("mail lane crashed %d times in a row; giving up this drain", crashes)
                        return
                    log.exception("mail lane crashed (%d in a row); restarting it", crashes)
                    self.stop.wait(min(60.0, self.idle_seconds * 2**crashes))
                finally:
                    db.session.remove()

    def _lane_round(self, drain: bool) -> None:
        connection = SMTPConnection(self.app.config)
        signer = Signer(self.app.config)
        try:
            while not self.stop.is_set():
                batch = self._claim()
                if not batch:
                    if drain:
                        return
                    connection.close()  # do not hold idle connections open against the server
                    self.stop.wait(self.idle_seconds)
                    continue
                self._send_batch(connection, signer, batch)
        finally:
            connection.close()

    def _claim(self) -> list[ClaimedMessage]:
        return queue.claim_due_messages(self.batch_size, self.lease)

    def _send_batch(self, connection: SMTPConnection, signer: Signer, batch: list[ClaimedMessage]) -> None:
        """Send a leased batch, recording fates every few messages so a crash repeats as little as possible.

        The lease is renewed while the batch is sent (every third of its length), so a slow server can never let
        another worker claim messages this one is still sending; messages whose lease was lost anyway (this worker
        was paused longer than the lease) are left to whoever holds them now.
        """
        unrecorded: list[Fate] = []
        pending = list(batch)
        failures_in_a_row = 0
        renew_every = self.lease.total_seconds() / 3
        renewed_at = time.monotonic()
        try:
            while pending and not self.stop.is_set():
                if time.monotonic() - renewed_at >= renew_every:
                    self._record(unrecorded)
                    unrecorded = []
                    pending = queue.renew_leases(pending, self.lease)
                    renewed_at = time.monotonic()
                    if not pending:
                        break
                message = pending.pop(0)
                fate = deliver(connection, message, signer)
                unrecorded.append(fate)
                failures_in_a_row = failures_in_a_row + 1 if fate.reply.startswith("connection failed") else 0
                if failures_in_a_row >= 3:
                    # The server is unreachable: put the rest of the batch back for later, pause a moment.
                    unrecorded.extend(Fate(m, MessageState.RETRY, fate.reply) for m in pending)
                    pending = []
                    self.stop.wait(min(5.0, self.idle_seconds))
                if len(unrecorded) >= self.record_every:
                    self._record(unrecorded)
                    unrecorded = []
        finally:
            self._record(unrecorded)
            queue.release_leases(pending)

    def _record(self, fates: list[Fate]) -> None:
        queue.record_fates(fates)
        self.stats.add(fates)


def _quietly_rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001, S110 - the database may be the reason the lane crashed
        pass
