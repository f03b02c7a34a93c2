"""The one Jinja2 environment for every text the product shows: documents now, notifications later.

Templates live under ``templates/``; HTML is autoescaped because names and reasons come from
applicants, plain-text templates (messages) are not. Undefined variables fail loudly so a missing
fact never prints as an empty gap or "None" in an official document.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from schemas.localtime import SHANGHAI, date_in_words
from schemas.money import yuan
from schemas.procurement import score_text
from settings import PROJECT_ROOT
from store import verification_codes

TEMPLATES_DIR = PROJECT_ROOT / "templates"


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: times must be timezone-aware")
    return moment.astimezone(SHANGHAI)


def cn_date(value: date | datetime | str) -> str:
    """``2026年11月21日``; a datetime is first converted to Shanghai time, so a UTC evening is the next day.
    A message's context carries its dates as ISO text (``2026-11-21``), read here the same way."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return date_in_words(_local(value).date() if isinstance(value, datetime) else value)


def cn_datetime(value: datetime) -> str:
    """``2026年11月21日 14时05分`` in Shanghai time."""
    moment = _local(value)
    return f"{cn_date(moment)} {moment.hour}时{moment.minute:02d}分"


def local_year(value: datetime) -> int:
    """The year in Shanghai time, e.g. to count a bar "until year N" from a document's date."""
    return _local(value).year


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")
_SECTIONS = ("", "万", "亿", "万亿")


def yuan_upper(fen: int) -> str:
    """``26000000`` → ``"贰拾陆万元整"``: the amount in capital numerals (大写) as contracts and
    payment vouchers write it, from integer fen (a float is refused, as by ``yuan``)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"amount must be integer fen, got {fen!r}")
    if fen < 0:
        return "负" + yuan_upper(-fen)
    whole, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    text, zero = "", False
    digits = str(whole)
    for index, char in enumerate(digits):
        position = len(digits) - 1 - index
        if char == "0":
            zero = True
        else:
            text += ("零" if zero and text else "") + _DIGITS[int(char)] + _PLACES[position % 4]
            zero = False
        if position % 4 == 0 and position and int(digits[max(0, index - 3) : index + 1]):
            text, zero = text + _SECTIONS[position // 4], False
    if whole:
        text += "元"
    if not cents:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif whole:
        text += "零"
    return text + (_DIGITS[fen_digit] + "分" if fen_digit else "整")


def book_title(title: str) -> str:
    """A regulation's or document's title in 书名号: ``《延吉市社区社会组织备案登记规则》``; a title that already
    carries them (``财政部《项目支出绩效评价管理办法》``) is left as it is."""
    return title if "《" in title else f"《{title}》"


def qr_code(url: str) -> str:
    """The QR code of a verification URL as an SVG ``data:`` URI that WeasyPrint prints as vector lines. Drawn
    by segno (pure Python, no imaging library, deterministic output, so a re-rendered document hashes alike);
    error correction M survives a crease or a stamp's edge."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=0, dark="#000")


def grouped_code(code: str) -> str:
    """A verification code as printed, in groups of four."""
    return verification_codes.grouped(code)


def iso_datetime(value: datetime) -> str:
    """W3C date-time in Shanghai time, e.g. for PDF metadata (``<meta name="dcterms.created">``)."""
    return _local(value).isoformat(timespec="seconds")


FILTERS = {
    "cn_date": cn_date,
    "cn_datetime": cn_datetime,
    "iso_datetime": iso_datetime,
    "yuan": yuan,
    "yuan_upper": yuan_upper,
    "local_year": local_year,
    "book_title": book_title,
    "score": score_text,
    "qr_code": qr_code,
    "grouped_code": grouped_code,
}


@cache
def environment() -> Environment:
    """The shared environment; building it once keeps the template cache warm across renders."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env
