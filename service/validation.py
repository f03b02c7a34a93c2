"""Input errors in words an end user understands: Chinese field names and messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from schemas.application import Application, MaterialSubmission, Person, Venue
from schemas.calendar import CalendarYear
from schemas.procurement import (
    BidInput,
    DemandInput,
    Eligibility,
    FairSchedule,
    NegotiationInput,
    ScoreInput,
    ShowcaseInput,
)
from service import views

_MESSAGES = {
    "missing": "为必填项",
    "string_too_short": "至少需要{min_length}个字符",
    "string_too_long": "不能超过{max_length}个字符",
    "string_type": "应为文字",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数（金额以分为单位）",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "greater_than_equal": "不能小于{ge}",
    "less_than_equal": "不能大于{le}",
    "enum": "应为以下之一：{expected}",
    "literal_error": "应为以下之一：{expected}",
    "too_short": "至少需要{min_length}项",
    "too_long": "不能超过{max_length}项",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "json_invalid": "不是有效的 JSON",
    "date_from_datetime_parsing": "应为日期，如 2027-01-01",
    "date_parsing": "应为日期，如 2027-01-01",
    "extra_forbidden": "是不认识的字段",
}

_MODELS: Sequence[type[BaseModel]] = (
    Application,
    Person,
    Venue,
    MaterialSubmission,
    CalendarYear,
    DemandInput,
    Eligibility,
    FairSchedule,
    BidInput,
    ShowcaseInput,
    NegotiationInput,
    ScoreInput,
    views.CorrectionInput,
    views.WithdrawalInput,
    views.DecisionInput,
    views.ObjectionInput,
    views.ObjectionResolutionInput,
    views.FairInput,
    views.DemandReviewInput,
    views.ConflictInput,
    views.ChallengeInput,
    views.ChallengeAnswerInput,
    views.AwardResponseInput,
    views.DisqualificationInput,
    views.FailedLotInput,
)
_TITLES: dict[str, str] = {}
for _model in _MODELS:
    for _name, _field in _model.model_fields.items():
        if _field.title:
            _TITLES.setdefault(_name, _field.title)


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X``, ``X | None``, ``list[X]`` or ``dict[str, X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        if found := _inner_model(argument):
            return found
    return None


def _place(location: Iterable[Any], model: type[BaseModel] | None) -> str:
    """Walk the request's own model along the error's location, naming each field by its title."""
    parts = []
    for item in location:
        if item in ("body", "query", "path", "header"):
            continue
        if isinstance(item, int):
            parts.append(f"第{item + 1}项")
            continue
        field = model.model_fields.get(str(item)) if model else None
        title = (field.title if field else None) or _TITLES.get(str(item))
        parts.append(f"{title}（{item}）" if title else str(item))
        model = _inner_model(field.annotation) if field else None
    return " › ".join(parts) or "请求内容"


def _message(error: dict[str, Any]) -> str:
    template = _MESSAGES.get(error["type"])
    context = error.get("ctx") or {}
    if error["type"] == "value_error":
        return str(context.get("error") or error["msg"]).removeprefix("Value error, ")
    if template is None:
        return str(error["msg"])
    try:
        return template.format(**context)
    except KeyError:
        return template


def describe(errors: Iterable[dict[str, Any]], model: type[BaseModel] | None = None) -> list[str]:
    """One line per problem: where it is (named after ``model``'s fields) and what is wrong."""
    return [f"{_place(e.get('loc', ()), model)}：{_message(e)}" for e in errors]


def describe_validation_error(error: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    return describe(error.errors(), model)
