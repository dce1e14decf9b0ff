"""The organiser mailbox: where calendar clients send their answers, read over IMAP by the worker.

Every invite names ``VISITDESK_ORGANIZER_EMAIL`` as ORGANIZER, so Outlook, Gmail, Apple Calendar and
Thunderbird mail their REPLY (Accept/Decline/Tentative) and COUNTER (Propose new time) there. Beat runs
``notifications.read_organizer_mailbox`` every ``VISITDESK_ORGANIZER_IMAP_POLL_SECONDS``; with
``VISITDESK_ORGANIZER_IMAP_URL`` unset it does nothing (the embedded default).

Each message is taken once, and a crash at any point neither loses nor doubles an answer:

1. fetch it without setting \\Seen (``BODY.PEEK``);
2. ``replies.message_take`` records it by fingerprint in the same transaction as the answers it
   gives — a message already recorded changes nothing and is only moved;
3. then move it: to the processed folder (answers, ignored and held ones — the database has what a
   coordinator needs), to the review folder left unread (a calendar that cannot be read: a person
   looks), or leave it unread in the inbox with the ``$VisitdeskLeft`` keyword (other mail, unless
   ``VISITDESK_ORGANIZER_OTHER_MAIL=forward`` sends it to the coordinators and files it as processed).

A worker killed between 2 and 3 leaves the message in the inbox; the next poll finds it recorded and
only moves it. Two polls at once both try to record it; the unique fingerprint lets one win.
"""

from __future__ import annotations

import logging
import ssl
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessage
from imap_tools.mailbox import BaseMailBox

from . import replies
from .models import InboundMessage

logger = logging.getLogger(__name__)
Outcome = InboundMessage.Outcome

#: Set on other mail left in the inbox, so later polls do not read it again (it stays unread).
LEFT_KEYWORD = "$VisitdeskLeft"
#: Messages taken per poll; the rest wait for the next one.
BATCH = 200
TIMEOUT_SECONDS = 30


class MailboxConfigError(ValueError):
    pass


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    user: str
    password: str
    folder: str
    #: "ssl" (imaps://), "starttls" (imap://) or "none" (imap://…?tls=none, for a server on this machine)
    tls: str

    def __repr__(self) -> str:  # never print the password
        return f"MailboxConfig({self.tls}://{self.user}@{self.host}:{self.port}/{self.folder})"


def mailbox_config(url: str | None = None) -> MailboxConfig | None:
    """``VISITDESK_ORGANIZER_IMAP_URL`` read: ``imaps://user:password@host:993/INBOX`` or
    ``imap://user:password@host:143/INBOX`` (STARTTLS required); user and password percent-encoded."""
    url = settings.VISITDESK_ORGANIZER_IMAP_URL if url is None else url
    if not url:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps"):
        raise MailboxConfigError("VISITDESK_ORGANIZER_IMAP_URL must start with imaps:// or imap://")
    if not parts.hostname or not parts.username:
        raise MailboxConfigError("VISITDESK_ORGANIZER_IMAP_URL needs a user and a host")
    tls = "ssl" if scheme == "imaps" else "starttls"
    query = parse_qs(parts.query)
    if scheme == "imap" and query.get("tls", [""])[0].lower() == "none":
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise MailboxConfigError("tls=none sends the password in clear: only for a server on this machine")
        tls = "none"
    return MailboxConfig(
        host=parts.hostname, port=parts.port or (993 if scheme == "imaps" else 143),
        user=unquote(parts.username), password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX", tls=tls,
    )


class RawMailMessage(MailMessage):
    """imap-tools' message that keeps the bytes exactly as the server sent them (the fingerprint and
    any forwarded copy must be the original, not a re-serialisation)."""

    def __init__(self, fetch_data: list[Any]) -> None:
        super().__init__(fetch_data)
        self.raw = self._get_message_data_parts(fetch_data)[0]


@contextmanager
def connect(config: MailboxConfig) -> Iterator[BaseMailBox]:
    box: BaseMailBox
    if config.tls == "ssl":
        box = MailBox(config.host, config.port, timeout=TIMEOUT_SECONDS, ssl_context=ssl.create_default_context())
    elif config.tls == "starttls":
        box = MailBoxStartTls(config.host, config.port, timeout=TIMEOUT_SECONDS,
                              ssl_context=ssl.create_default_context())
    else:
        box = MailBoxUnencrypted(config.host, config.port, timeout=TIMEOUT_SECONDS)
    box.email_message_class = RawMailMessage
    box.login(config.user, config.password, initial_folder=config.folder)
    try:
        yield box
    finally:
        try:
            box.logout()
        except Exception:  # the session is over either way
            logger.debug("organiser mailbox: logout failed", exc_info=True)


def _ensure_folder(box: BaseMailBox, name: str) -> None:
    if not box.folder.exists(name):
        box.folder.create(name)


def destination(record: InboundMessage, *, forward_other: bool) -> str:
    """Where a taken message goes: "processed", "review" or "left" (stays unread in the inbox)."""
    if record.outcome == Outcome.REFUSED:
        return "review"
    if record.outcome == Outcome.NOT_ITIP:
        return "processed" if forward_other else "left"
    return "processed"


def read_mailbox(*, config: MailboxConfig | None = None, limit: int = BATCH) -> dict[str, int]:
    """Take every new message in the organiser mailbox once (see the module docstring)."""
    config = config or mailbox_config()
    stats: Counter[str] = Counter()
    if config is None:
        return {"disabled": 1}
    forward_other = settings.VISITDESK_ORGANIZER_OTHER_MAIL.strip().lower() == "forward"
    processed, review = settings.VISITDESK_ORGANIZER_IMAP_PROCESSED, settings.VISITDESK_ORGANIZER_IMAP_REVIEW
    with connect(config) as box:
        for name in (processed, review):
            _ensure_folder(box, name)
        box.folder.set(config.folder)
        validity = box.folder.status(config.folder, ["UIDVALIDITY"]).get("UIDVALIDITY", 0)
        for message in box.fetch(f"NOT KEYWORD {LEFT_KEYWORD}", mark_seen=False, limit=limit, bulk=50):
            raw = getattr(message, "raw", b"")
            if not raw or not message.uid:
                continue
            record, new = replies.message_take(raw=raw, mailbox_uid=f"{config.folder}:{validity}:{message.uid}",
                                               forward_other=forward_other)
            stats["taken" if new else "again"] += 1
            stats[record.outcome] += 1
            where = destination(record, forward_other=forward_other)
            if where == "left":
                box.flag(message.uid, LEFT_KEYWORD, True)
            elif where == "review":
                box.move(message.uid, review)
            else:
                box.flag(message.uid, "\\Seen", True)
                box.move(message.uid, processed)
    return dict(stats)
