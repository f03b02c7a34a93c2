"""Text as people type it, made safe to store, compare and show.

Every text a caller sends goes through one of two types: ``SingleLine`` for what identifies
someone or something (an organization's or a person's name, a title, a phone number, a code) and
``MultiLine`` for free text (reasons, contents, summaries). Both are put into Unicode NFC and
stripped of surrounding whitespace; both refuse characters that are invisible or change how the
text around them is shown, naming the character and its place, so that two names that look the
same are the same string. All of this happens when a caller sends the text (``RequestModel``);
what was recorded before loads as it was. ``name_key`` folds a name further for uniqueness checks.
"""

from __future__ import annotations

import re
import unicodedata
from contextvars import ContextVar
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

_NAMED = {
    "\u00ad": "软连字符",
    "\u061c": "阿拉伯字母标记",
    "\u180e": "蒙古文元音分隔符",
    "\u200b": "零宽空格",
    "\u200c": "零宽非连接符",
    "\u200d": "零宽连接符",
    "\u200e": "从左到右标记",
    "\u200f": "从右到左标记",
    "\u2028": "行分隔符",
    "\u2029": "段分隔符",
    "\u202a": "从左到右嵌入",
    "\u202b": "从右到左嵌入",
    "\u202c": "方向格式结束",
    "\u202d": "从左到右覆盖",
    "\u202e": "从右到左覆盖",
    "\u2060": "词连接符",
    "\u2066": "从左到右隔离",
    "\u2067": "从右到左隔离",
    "\u2068": "首强方向隔离",
    "\u2069": "方向隔离结束",
    "\ufeff": "零宽不换行空格（BOM）",
    "\n": "换行符",
    "\t": "制表符",
    "\r": "回车符",
}
_CATEGORIES = {
    "Cc": "控制字符",
    "Cf": "不可见的格式字符",
    "Co": "私用区字符",
    "Cn": "未分配的字符",
    "Cs": "代理字符",
    "Zl": "行分隔符",
    "Zp": "段分隔符",
}
_MULTI_LINE_ALLOWED = frozenset("\n\t")


def _refusal(text: str, allowed: frozenset[str]) -> str | None:
    """The first character that may not appear, said as what it is and where (1-based)."""
    for position, char in enumerate(text, start=1):
        if char in allowed:
            continue
        category = unicodedata.category(char)
        if char in _NAMED or category in _CATEGORIES:
            name = _NAMED.get(char) or _CATEGORIES[category]
            return f"第{position}个字符是{name} U+{ord(char):04X}，不能使用，请删除后重新输入"
    return None


_LONGER_THAN_ANY_FIELD = 50_000
"""Texts past this are left to the field's max_length (5,000 at most, even after NFC shortens a
decomposed text) without being scanned: a megabyte-long reason costs nothing to refuse."""

_AT_THE_DOOR: ContextVar[bool] = ContextVar("shezu_at_the_door", default=False)


def at_the_door() -> bool:
    """True while a caller's request is being validated (see ``RequestModel``)."""
    return _AT_THE_DOOR.get()


class RequestModel(BaseModel):
    """A model a caller sends. Validated on its own (an API body, a CLI file, a test), it is checked
    in full and its texts normalized. Validated inside a recorded state or payload (a workflow's
    history, the read model, a carried-over run), it loads exactly what was recorded: a check added
    since must not make a running case unreadable or change what its replay sees. Subclasses that
    are themselves recorded state (a bid as the lot keeps it) set ``recorded``. A check that must
    run only at the door belongs in a field validator (it runs inside this one); a subclass's
    ``model_validator(mode="after")`` runs outside it and would see ``at_the_door()`` False."""

    recorded: ClassVar[bool] = False

    @model_validator(mode="wrap")
    @classmethod
    def _checked_at_the_door(cls, data: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo) -> Any:
        if info.field_name is not None or cls.recorded or _AT_THE_DOOR.get():
            return handler(data)
        token = _AT_THE_DOOR.set(True)
        try:
            return handler(data)
        finally:
            _AT_THE_DOOR.reset(token)


def _normalize(value: Any, allowed: frozenset[str]) -> Any:
    if not _AT_THE_DOOR.get() or not isinstance(value, str) or len(value) > _LONGER_THAN_ANY_FIELD:
        return value  # recorded as it is; or the str validator and max_length say what is wrong
    if allowed:
        value = value.replace("\r\n", "\n")
    if problem := _refusal(value, allowed):
        raise ValueError(problem)
    return unicodedata.normalize("NFC", value).strip()


def single_line(value: Any) -> Any:
    """NFC, stripped; no line breaks, tabs, control, invisible or direction characters."""
    return _normalize(value, frozenset())


def multi_line(value: Any) -> Any:
    """As ``single_line``, but line breaks (\\r\\n becomes \\n) and tabs are kept."""
    return _normalize(value, _MULTI_LINE_ALLOWED)


def at_most(max_length: int) -> AfterValidator:
    """A length limit checked at the door only, so an item recorded before the limit still loads."""

    def check(value: str) -> str:
        if _AT_THE_DOOR.get() and len(value) > max_length:
            raise ValueError(f"不能超过{max_length}个字符")
        return value

    return AfterValidator(check)


SINGLE_LINE_FORMAT = "single-line"
MULTI_LINE_FORMAT = "multi-line"
"""The OpenAPI ``format`` of the two kinds of text, so the document states what the door refuses:
control, invisible-format, private-use, unassigned and surrogate characters (and, in a single
line, line breaks and tabs). JSON Schema's ``pattern`` cannot say "unassigned", a format can."""



def _stated(text_format: str) -> Any:
    return Field(json_schema_extra={"format": text_format})


SingleLine = Annotated[str, BeforeValidator(single_line), _stated(SINGLE_LINE_FORMAT)]
"""A name, title, code or phone number: bound it with ``Field(max_length=...)`` where it is used."""

MultiLine = Annotated[str, BeforeValidator(multi_line), _stated(MULTI_LINE_FORMAT)]
"""Free text: bound it with ``Field(max_length=...)`` where it is used."""


def newly_bounded(kind: Any, max_length: int) -> Any:
    """A text type for a field that had no limit before: the limit is shown in OpenAPI and checked
    at the door, and a longer value recorded earlier still loads."""
    text_format = MULTI_LINE_FORMAT if kind is multi_line else SINGLE_LINE_FORMAT
    schema = {"type": "string", "maxLength": max_length, "format": text_format}
    return Annotated[str, BeforeValidator(kind), at_most(max_length), WithJsonSchema(schema)]


Reason = newly_bounded(multi_line, 500)
"""One reason, item or comment in a list of them."""

NameItem = newly_bounded(single_line, 100)
"""One name in a list (team members, participants, deliverables, past projects)."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$", min_length=64, max_length=64)]


# Variants that NFKC leaves apart but a reader takes for the same mark.
_PUNCTUATION_FOLD = str.maketrans(
    {
        **dict.fromkeys("【〔［〖〘〚「『｢〈《", "("),
        **dict.fromkeys("】〕］〗〙〛」』｣〉》", ")"),
        **dict.fromkeys("・•‧∙⋅･", "·"),
        **dict.fromkeys("‐‑‒–—―−－", "-"),
        **dict.fromkeys("“”„‟〝〞＂", '"'),
        **dict.fromkeys("‘’‚‛｀＇", "'"),
        "、": ",",
        "。": ".",
    }
)
_SPACE = re.compile(r"\s+")


def name_key(name: str) -> str:
    """The form two organization names are compared in, so look-alikes count as one name.

    Folded: compatibility forms (NFKC: full-width letters, digits and ASCII punctuation such as
    （）， become their half-width forms; ① becomes 1), letter case (casefold), every whitespace
    character anywhere (including the ideographic space U+3000), invisible format characters, and
    the bracket, dot, dash and quote variants in ``_PUNCTUATION_FOLD`` (【】〔〕「」《》 become (),
    ・• become ·, — – － become -, Chinese 、。 become , .). Not folded: simplified versus
    traditional characters, and any other difference of wording.
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return _SPACE.sub("", text.translate(_PUNCTUATION_FOLD))
