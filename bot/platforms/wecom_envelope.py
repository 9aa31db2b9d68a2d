"""WeCom's encrypted callbacks opened with care: the signature and its timestamp are checked before anything
inside is decrypted, and the XML is read without DTDs or entities (WeCom never sends them)."""

from __future__ import annotations

import hmac
import re
from xml.parsers.expat import ExpatError

import xmltodict
from aiohttp import web
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto

from bot.platforms import Malformed

# Seconds a callback's timestamp may be off now, as Slack allows: a captured callback cannot be replayed later,
# and the deliveries table only has to remember ids for as long as a platform retries.
REPLAY_WINDOW = 300.0
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class Forged(Exception):
    """Not signed by the callback's token, or signed too long ago: 403, no effect."""


def query_value(request: web.Request, name: str) -> str:
    """A query parameter as WeCom meant it: aiohttp decodes '+' as a space, and WeCom's base64 values contain '+'
    when a client forgot to encode it."""
    return request.query.get(name, "").replace(" ", "+")


def check_signed(token: str, *, signature: str, timestamp: str, nonce: str, encrypt: str, now: float) -> None:
    """WeCom's SHA1 signature over (token, timestamp, nonce, ciphertext), within the replay window; Forged if not."""
    expected = _get_signature(token, timestamp, nonce, encrypt)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise Forged("signature does not match")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Forged("no timestamp")
    if abs(now - int(timestamp)) > REPLAY_WINDOW:
        raise Forged(f"timestamp {timestamp} is {int(now - int(timestamp))} s away from now")


def decrypt(key: bytes, encrypt: str, receive_id: str) -> str:
    """The plaintext of a signed ciphertext (AES-CBC, receive id appended); Malformed when it does not open."""
    try:
        return PrpCrypto(key).decrypt(encrypt, receive_id)
    except Exception as exc:  # bad base64, padding, length or receive id: all mean "not a WeCom message for us"
        raise Malformed(f"ciphertext does not decrypt: {type(exc).__name__}") from None


def read_xml(text: str) -> dict:
    """The fields of `<xml>…</xml>` as xmltodict reads them; Malformed for anything else (DTDs included)."""
    if _DECLARATION.search(text):
        raise Malformed("XML with a DTD or entity declarations")
    try:
        document = xmltodict.parse(text, disable_entities=True)
    except (ExpatError, ValueError) as exc:
        raise Malformed(f"not XML: {exc}") from None
    fields = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(fields, dict):
        raise Malformed("XML without <xml> fields")
    return fields


def ciphertext_of(raw: bytes) -> str:
    """The <Encrypt> of a callback body; Malformed when the body is not such a document."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("body is not UTF-8") from None
    encrypt = read_xml(text).get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise Malformed("no <Encrypt> in the body")
    return encrypt
