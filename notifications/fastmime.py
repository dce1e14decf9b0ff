"""Serialising many mails of one shape fast, byte for byte as Django's ``EmailMessage.message()`` would.

Django builds every mail through ``email.mime`` and the generator, which folds each header of each
part through ``email.header.Header`` (about twenty per reminder): that and the MIME tree were a
quarter of a dispatcher's time per reminder. A reminder always has the same shape — a
multipart/alternative with a plain-text and an HTML part, no attachment — so its *structure*
(the boundary, the part headers) is made once per process by Django itself, with stand-in tokens for
the two bodies. Each mail then gets its own header block (the same headers in the same order, each
checked by Django's ``forbid_multi_line_headers`` and folded by the generator's own policy) and its
bodies put in place of the tokens, line endings as the generator writes them.

Anything of another shape takes Django's path: a body with a line over 998 bytes (Django switches
that part to quoted-printable), a body that contains the boundary, a calendar part, attachments, Cc
or Bcc. ``tests/notifications/test_reminder_batch.py`` compares the bytes with Django's.
"""

from __future__ import annotations

import email
import functools
import re
import secrets
from collections.abc import Iterator
from email import policy as email_policy
from email import quoprimime
from email.charset import RFC2047_CHROME_LEN, Charset
from email.header import Header
from email.message import Message
from email.utils import formatdate, make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import ADDRESS_HEADERS, RFC5322_EMAIL_LINE_LENGTH_LIMIT, forbid_multi_line_headers
from django.core.mail.utils import DNS_NAME

#: The generator's policy for ``as_bytes(linesep="\r\n")`` (Django's MIME classes use compat32).
_POLICY = email_policy.compat32.clone(linesep="\r\n")
_NL = re.compile(r"\r\n|\r|\n")
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to"})
#: Printable ASCII without leading or trailing blanks and runs of blanks: folds to itself when short.
_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*\Z")
_MAX_HEADER_LINE = 78  # compat32's max_line_length


class PrebuiltMessage:
    """What ``message()`` returns for a prebuilt mail: ``as_bytes(linesep="\\r\\n")`` is the bytes
    Django's SMTP backend sends; anything else a caller asks of a message is answered by the same
    bytes, parsed on first use."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._parsed: Message | None = None

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        if unixfrom:
            return self._message().as_bytes(unixfrom=True)
        return self.data if linesep == "\r\n" else self.data.replace(b"\r\n", linesep.encode("ascii"))

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(unixfrom, linesep).decode("utf-8", "surrogateescape")

    def __bytes__(self) -> bytes:
        return self.as_bytes()

    def __str__(self) -> str:
        return self.as_string()

    def _message(self) -> Message:
        if self._parsed is None:
            self._parsed = email.message_from_bytes(self.data)
        return self._parsed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message(), name)

    def __getitem__(self, name: str) -> Any:
        return self._message()[name]

    def __contains__(self, name: str) -> bool:
        return name in self._message()

    def __len__(self) -> int:
        return len(self._message())

    def __iter__(self) -> Any:
        return iter(self._message())


def fold(name: str, value: str, encoding: str) -> bytes:
    """One header line as ``msg[name] = value`` and the generator write it (``BadHeaderError`` too)."""
    if name in _CACHED:
        return _fold_cached(name, str(value), encoding)
    return _fold(name, value, encoding)


#: Headers whose value repeats across mails (a subject per meeting and language, the sender).
_CACHED = frozenset({"Subject", "From", "Reply-To", "Auto-Submitted", "List-Unsubscribe-Post"})


@functools.lru_cache(maxsize=512)
def _fold_cached(name: str, value: str, encoding: str) -> bytes:
    return _fold(name, value, encoding)


class _LinearCharset(Charset):
    """utf-8 as ``email.charset`` has it, with ``header_encode_lines`` in linear time.

    The standard one re-encodes the whole line so far for every character it adds (quadratic: a
    third of a dispatcher's CPU went into reminder subjects). The length of an encoded word is a
    running sum for quoted-printable and a function of the byte count for base64, so adding one
    character's bytes gives the same length, the same split points and the same words."""

    def header_encode_lines(self, string: str, maxlengths: Iterator[int]) -> list[str | None]:
        codec = self.output_codec or "us-ascii"
        encoder_module = self._get_encoder(string.encode(codec))  # type: ignore[attr-defined]
        encoder = functools.partial(encoder_module.header_encode, charset=codec)
        qp = encoder_module is quoprimime
        extra = len(self.get_output_charset() or "") + RFC2047_CHROME_LEN
        lines: list[str | None] = []
        current: list[str] = []
        qp_length = byte_count = 0
        maxlen = next(maxlengths) - extra
        for character in string:
            octets = character.encode(codec)
            if qp:
                added = quoprimime.header_length(octets)
                length = qp_length + added
            else:
                groups, leftover = divmod(byte_count + len(octets), 3)
                length = groups * 4 + (4 if leftover else 0)
            if length > maxlen:
                if not lines and not current:
                    lines.append(None)
                else:
                    lines.append(encoder("".join(current).encode(codec)))
                current = [character]
                qp_length = quoprimime.header_length(octets) if qp else 0
                byte_count = len(octets)
                maxlen = next(maxlengths) - extra
            else:
                current.append(character)
                qp_length = length if qp else 0
                byte_count += len(octets)
        lines.append(encoder("".join(current).encode(codec)))
        return lines


_UTF8 = _LinearCharset("utf-8")


def _checked(name: str, value: Any, encoding: str) -> tuple[str, str]:
    """``forbid_multi_line_headers`` with the linear utf-8 encoder for non-address headers."""
    text = str(value)
    if encoding == "utf-8" and name.lower() not in ADDRESS_HEADERS and "\n" not in text and "\r" not in text \
            and not text.isascii():
        return name, Header(text, _UTF8).encode()
    return forbid_multi_line_headers(name, value, encoding)


def _fold(name: str, value: str, encoding: str) -> bytes:
    name, checked = _checked(name, value, encoding)
    if isinstance(checked, str) and len(name) + 2 + len(checked) <= _MAX_HEADER_LINE and _PLAIN.match(checked):
        return f"{name}: {checked}\r\n".encode("ascii")
    return _POLICY.fold_binary(name, checked)


def _cte(text: str) -> str | None:
    """The Content-Transfer-Encoding Django gives a utf-8 text part; None for quoted-printable."""
    if any(len(line.encode(errors="surrogateescape")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in text.splitlines()):
        return None
    return "7bit" if text.isascii() else "8bit"


class _Skeleton:
    """The bytes of a text + HTML mail as Django makes them, with tokens for both bodies."""

    def __init__(self, text_cte: str, html_cte: str, encoding: str) -> None:
        nonce = secrets.token_hex(8)
        self.text_token = f"VDTEXT{nonce}" + ("\u00e9" if text_cte == "8bit" else "")
        self.html_token = f"VDHTML{nonce}" + ("\u00e9" if html_cte == "8bit" else "")
        probe = EmailMultiAlternatives(subject="s", body=self.text_token, from_email="a@b.example", to=["c@d.example"])
        probe.encoding = encoding
        probe.attach_alternative(self.html_token, "text/html")
        data = probe.message().as_bytes(linesep="\r\n")
        head, sep, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        first = next(i for i, line in enumerate(lines) if line.startswith(b"Subject: "))
        #: Content-Type (with the boundary) and MIME-Version: what the multipart itself starts with.
        self.lead = b"\r\n".join(lines[:first]) + b"\r\n"
        self.boundary = Message.get_boundary(email.message_from_bytes(head + b"\r\n\r\n")) or ""
        text_at = rest.index(self.text_token.encode())
        html_at = rest.index(self.html_token.encode())
        if not (text_at < html_at) or rest.count(self.text_token.encode()) != 1:
            raise AssertionError("unexpected MIME layout")
        self.parts = (
            sep + rest[:text_at],
            rest[text_at + len(self.text_token.encode()) : html_at],
            rest[html_at + len(self.html_token.encode()) :],
        )


_SKELETONS: dict[tuple[str, str, str], _Skeleton] = {}


def _skeleton(text_cte: str, html_cte: str, encoding: str) -> _Skeleton:
    key = (text_cte, html_cte, encoding)
    found = _SKELETONS.get(key)
    if found is None:
        found = _SKELETONS[key] = _Skeleton(text_cte, html_cte, encoding)
    return found


def _body(text: str) -> bytes:
    """A text part's payload as the generator writes it with ``linesep="\\r\\n"``."""
    return _NL.sub("\r\n", text).encode("utf-8", "surrogateescape")


def prebuilt(mail: EmailMultiAlternatives) -> bytes | None:
    """``mail.message().as_bytes(linesep="\\r\\n")`` without the MIME tree, or None when ``mail`` is
    not of the one shape this knows (the caller then uses Django's own)."""
    if mail.attachments or mail.cc or mail.bcc or mail.content_subtype != "plain" or getattr(mail, "calendar", None):
        return None
    if len(mail.alternatives) != 1 or mail.alternatives[0][1] != "text/html" or mail.mixed_subtype != "mixed":
        return None
    text, html = mail.body, mail.alternatives[0][0]
    if not isinstance(text, str) or not isinstance(html, str):
        return None
    text_cte, html_cte = _cte(text), _cte(html)
    if text_cte is None or html_cte is None:
        return None
    encoding = mail.encoding or settings.DEFAULT_CHARSET
    if encoding != "utf-8":
        return None
    skeleton = _skeleton(text_cte, html_cte, encoding)
    if skeleton.boundary in text or skeleton.boundary in html:
        return None
    extra = mail.extra_headers
    headers: list[tuple[str, Any]] = [("Subject", mail.subject), ("From", extra.get("From", mail.from_email))]
    for name, values in (("To", mail.to), ("Reply-To", mail.reply_to)):
        if values:
            headers.append((name, extra[name] if name in extra else ", ".join(str(v) for v in values)))
    names = {key.lower() for key in extra}
    if "date" not in names:
        headers.append(("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    if "message-id" not in names:
        headers.append(("Message-ID", make_msgid(domain=DNS_NAME)))
    headers.extend((name, value) for name, value in extra.items() if name.lower() not in _ADDRESS_HEADERS)
    head = b"".join(fold(name, value, encoding) for name, value in headers)
    before, between, after = skeleton.parts
    return b"".join((skeleton.lead, head[:-2], before, _body(text), between, _body(html), after))
