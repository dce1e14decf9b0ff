"""Delivery channels. One small class per channel, raising one error type with a ``permanent`` flag.

``MailTransport`` keeps one connection of the configured Django mail backend open for a whole batch:
opening an SMTP session per message (the backend's default) costs a TCP and EHLO round trip each
time and dominates the dispatcher's throughput.

``SMTPBackend`` (the backend the settings choose for SMTP) is Django's, with one addition: a message
may be sent with a ``before_final_dot`` callable, run after the envelope and the message's bytes
went out but before the final ``.`` that hands the message over. The dispatcher uses it to let the
previous message's "sent" mark commit while this message travels, without ever having more than
one message the server accepted but the database does not know about (``notifications.dispatch``).
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
from collections.abc import Callable
from typing import Any, cast

from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend

Hook = Callable[[], None]


class _HeldDot:
    """Mixed into ``smtplib.SMTP``: inside DATA, the body goes out at once and its closing ``.``
    only after ``before_final_dot`` returned. ``smtplib.SMTP.data`` sends body and dot in one
    ``send`` call (dot-stuffed, ending ``CRLF . CRLF``); this splits that one call, nothing else."""

    before_final_dot: Hook | None = None
    _in_data = False

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock: socket.socket = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        # The dot is written apart from the bytes before it. With Nagle's algorithm on, the kernel
        # holds that small write until the server acknowledges the body — which a server waiting
        # for the dot does only when its delayed-ACK timer fires (40 ms on Linux): 15 ms a message.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._in_data = True
        try:
            reply: tuple[int, bytes] = super().data(msg)  # type: ignore[misc]
            return reply
        finally:
            self._in_data = False

    def send(self, s: Any) -> None:
        hook = self.before_final_dot
        if self._in_data and hook is not None and isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            super().send(s[:-3])  # type: ignore[misc]
            hook()  # may raise: the session is then abandoned mid-DATA and the server drops the message
            s = s[-3:]
        super().send(s)  # type: ignore[misc]


class HeldDotSMTP(_HeldDot, smtplib.SMTP):
    pass


class HeldDotSMTPSSL(_HeldDot, smtplib.SMTP_SSL):
    pass


class SMTPBackend(DjangoSMTPBackend):
    """Django's SMTP backend whose sessions can hold a message's final dot (see the module's docstring)."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return HeldDotSMTPSSL if self.use_ssl else HeldDotSMTP

    def send_held(self, message: EmailMessage, before_final_dot: Hook) -> bool:
        self.open()  # a no-op when open; the hook must be on the session that sends
        session = cast(_HeldDot, self.connection)
        session.before_final_dot = before_final_dot
        try:
            return bool(self.send_messages([message]))
        finally:
            session.before_final_dot = None

    def abandon(self) -> None:
        """Drop the session without QUIT: in the middle of DATA a QUIT would be read as message text
        (and its answer waited for until the timeout). The server discards the unfinished message."""
        session, self.connection = self.connection, None
        if session is not None:
            with contextlib.suppress(OSError):
                session.close()


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


def classify_smtp_error(exc: Exception) -> TransportError:
    """4xx replies and network trouble are worth retrying; 5xx replies are not."""
    code = None
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        code = min(codes) if codes else None
    elif isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
    if code is not None:
        return TransportError(f"SMTP {code}: {exc}", permanent=500 <= code < 600)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # e.g. an internationalised address to a server without SMTPUTF8: retrying cannot help.
        return TransportError(f"SMTP: {exc!r}", permanent=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | socket.timeout | TimeoutError | OSError):
        return TransportError(f"connection: {exc!r}", permanent=False)
    if isinstance(exc, smtplib.SMTPException):
        return TransportError(f"SMTP: {exc!r}", permanent=False)
    return TransportError(repr(exc), permanent=True)


class MailTransport:
    """Sends ``EmailMessage`` objects over one reused connection; reconnects after a failure."""

    def __init__(self, connection: BaseEmailBackend | None = None) -> None:
        self._connection = connection
        self._open = False

    def _conn(self) -> BaseEmailBackend:
        if self._connection is None:
            self._connection = get_connection(fail_silently=False)
        if not self._open:
            self._connection.open()
            self._open = True
        return self._connection

    def send(self, message: EmailMessage, before_final_dot: Hook | None = None) -> None:
        """Send one message; ``before_final_dot`` runs before the server is asked to take it (right
        before the final ``.`` over SMTP; before handing it over with any other backend)."""
        try:
            connection = self._conn()
            message.connection = connection
            if before_final_dot is None:
                sent = connection.send_messages([message])
            elif isinstance(connection, SMTPBackend):
                sent = connection.send_held(message, before_final_dot)
            else:
                before_final_dot()
                sent = connection.send_messages([message])
        except (smtplib.SMTPException, OSError) as exc:  # anything else (a time limit, a bug) propagates
            self.close()
            raise classify_smtp_error(exc) from exc
        except BaseException:
            self.abandon()  # a session left in the middle of a message is never reused
            raise
        if not sent:
            self.close()
            raise TransportError("the mail backend accepted nothing", permanent=False)

    def abandon(self) -> None:
        if isinstance(self._connection, SMTPBackend):
            self._connection.abandon()
            self._open = False
        else:
            self.close()

    def close(self) -> None:
        if self._connection is not None and self._open:
            with contextlib.suppress(Exception):  # the connection is being thrown away anyway
                self._connection.close()
        self._open = False

    def __enter__(self) -> MailTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
