"""A small SMTP client for the notification worker: one connection, reused, and a verdict
on each failure (try again later, or give up).

The settings (``hpsmart.config``): ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USER`` and
``SMTP_PASSWORD`` (login only when a user is set), ``SMTP_STARTTLS`` (upgrade the
connection with STARTTLS before logging in), ``SMTP_TIMEOUT`` (seconds per network
operation). Reply codes follow RFC 5321 section 4.2.1: 4xx is a transient failure
("try again later"), 5xx a permanent one.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage


@dataclass(frozen=True)
class SendFailure:
    """What a failed send means for the message.

    ``temporary``: try again later (RFC 5321 4xx, connection refused or lost, timeout,
    the server or our login refused for now). ``connection``: the server itself could
    not be used (nothing else will get through on this connection either, so the caller
    stops its batch). ``text``: a short description for ``OutboxMessage.last_error``;
    it holds the SMTP code and the server's words, which may repeat the recipient's
    address (already in the row) but nothing else of ours.
    """

    temporary: bool
    connection: bool
    text: str


def classify(error: BaseException) -> SendFailure:
    """Say whether ``error`` (raised by :meth:`SMTPTransport.send`) is worth a retry.

    :param error: an ``smtplib.SMTPException``, an ``OSError`` (refused, reset,
        timeout, DNS) or anything else.
    :returns: a :class:`SendFailure`. A recipient refusal is temporary only when every
        refused recipient got a 4xx code; an unknown exception is permanent (a bug or
        an unsendable message: retrying would not help).
    """
    name = type(error).__name__
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        text = "; ".join(f"{code} {_decode(msg)}" for code, msg in error.recipients.values())
        return SendFailure(temporary=bool(codes) and all(400 <= c < 500 for c in codes), connection=False,
                           text=f"{name}: {text}"[:500])
    if isinstance(error, smtplib.SMTPAuthenticationError):
        # A wrong password is the server's configuration, not this message's fault.
        return SendFailure(temporary=True, connection=True, text=f"{name}: {error.smtp_code}"[:500])
    if isinstance(error, (smtplib.SMTPConnectError, smtplib.SMTPHeloError)):
        return SendFailure(temporary=True, connection=True,
                           text=f"{name}: {error.smtp_code} {_decode(error.smtp_error)}"[:500])
    if isinstance(error, smtplib.SMTPResponseException):
        temporary = 400 <= error.smtp_code < 500
        return SendFailure(temporary=temporary, connection=error.smtp_code == 421,
                           text=f"{name}: {error.smtp_code} {_decode(error.smtp_error)}"[:500])
    if isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPNotSupportedError, OSError)):
        # OSError covers ConnectionRefusedError, timeouts, resets, DNS failures and ssl.SSLError.
        return SendFailure(temporary=True, connection=True, text=f"{name}: {error}"[:500])
    return SendFailure(temporary=False, connection=False, text=f"{name}: {error}"[:500])


def _decode(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class SMTPTransport:
    """One SMTP connection, opened on the first :meth:`send` and reused until :meth:`close`.

    Use as a context manager. ``config`` is the Flask config mapping (see the module
    docstring for the keys).
    """

    def __init__(self, config) -> None:
        self.host: str = config["SMTP_HOST"]
        self.port: int = int(config["SMTP_PORT"])
        self.user: str = config.get("SMTP_USER") or ""
        self.password: str = config.get("SMTP_PASSWORD") or ""
        self.starttls: bool = bool(config.get("SMTP_STARTTLS"))
        self.timeout: float = float(config.get("SMTP_TIMEOUT", 30))
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SMTPTransport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the server (its From/To headers give the envelope).

        Returns when the server has accepted the message for delivery (250 after DATA).
        :raises smtplib.SMTPException, OSError: see :func:`classify`; after an error
            the connection is dropped and the next send opens a new one.
        """
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Say QUIT (or just drop the connection when the server is gone); idempotent."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
