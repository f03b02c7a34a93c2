"""Input errors in words an end user understands: Chinese field names and messages."""

from __future__ import annotations

import re
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
    # every pydantic-core error type (pydantic_core.core_schema.ErrorType); tests check none is missing
    "no_such_attribute": "是不认识的字段",
    "json_invalid": "不是有效的 JSON：{error}",
    "json_type": "应为 JSON 文本",
    "needs_python_object": "应为对象",
    "recursion_loop": "嵌套出现循环，请去掉循环引用",
    "recursion_depth_exceeded": "嵌套层数过多，请减少嵌套",
    "missing": "为必填项",
    "frozen_field": "不能修改",
    "frozen_instance": "不能修改",
    "extra_forbidden": "是不认识的字段",
    "invalid_key": "字段名应为文字",
    "get_attribute_error": "无法读取",
    "model_type": "应为对象（JSON 的 {{…}}）",
    "model_attributes_type": "应为对象（JSON 的 {{…}}）",
    "dataclass_type": "应为对象（JSON 的 {{…}}）",
    "dataclass_exact_type": "应为对象（JSON 的 {{…}}）",
    "named_tuple_type": "应为列表",
    "default_factory_not_called": "缺少默认值，请填写",
    "none_required": "应为空（null）",
    "greater_than": "应大于{gt}",
    "greater_than_equal": "不能小于{ge}",
    "less_than": "应小于{lt}",
    "less_than_equal": "不能大于{le}",
    "multiple_of": "应为{multiple_of}的整数倍",
    "finite_number": "应为有限的数字",
    "too_short": "至少需要{min_length}项",
    "too_long": "不能超过{max_length}项",
    "iterable_type": "应为列表",
    "iteration_error": "无法逐项读取，请提交列表",
    "string_type": "应为文字",
    "string_unicode": "应为有效的 Unicode 文字",
    "string_too_short": "至少需要{min_length}个字符",
    "string_too_long": "不能超过{max_length}个字符",
    "string_pattern_mismatch": "格式不正确",
    "string_not_ascii": "只能包含英文字母、数字和半角符号",
    "enum": "应为以下之一：{expected}",
    "dict_type": "应为对象（JSON 的 {{…}}）",
    "frozen_dict_type": "应为对象（JSON 的 {{…}}）",
    "ordered_dict_type": "应为对象（JSON 的 {{…}}）",
    "counter_type": "应为对象（JSON 的 {{…}}）",
    "mapping_type": "应为对象（JSON 的 {{…}}）",
    "list_type": "应为列表",
    "deque_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为列表（各项不重复）",
    "set_item_not_hashable": "列表中的每一项应为文字或数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_parsing_size": "整数太大",
    "int_from_float": "应为整数（金额以分为单位）",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bytes_type": "应为文字",
    "bytes_too_short": "至少需要{min_length}个字节",
    "bytes_too_long": "不能超过{max_length}个字节",
    "bytes_invalid_encoding": "编码无效，应为 {encoding}",
    "value_error": "取值不正确",
    "assertion_error": "取值不正确",
    "literal_error": "应为以下之一：{expected}",
    "missing_sentinel_error": "不应填写",
    "ellipsis_error": "不应填写",
    "date_type": "应为日期，如 2027-01-01",
    "date_parsing": "应为日期，如 2027-01-01",
    "date_from_datetime_parsing": "应为日期，如 2027-01-01",
    "date_from_datetime_inexact": "应为日期，不要带时刻，如 2027-01-01",
    "date_past": "应为今天以前的日期",
    "date_future": "应为今天以后的日期",
    "time_type": "应为时刻，如 09:30:00",
    "time_parsing": "应为时刻，如 09:30:00",
    "datetime_type": "应为日期时间，如 2027-01-01T09:00:00+08:00",
    "datetime_parsing": "应为日期时间，如 2027-01-01T09:00:00+08:00",
    "datetime_object_invalid": "不是有效的日期时间",
    "datetime_from_date_parsing": "应为日期时间，如 2027-01-01T09:00:00+08:00",
    "datetime_past": "应为现在以前的时间",
    "datetime_future": "应为现在以后的时间",
    "timezone_naive": "不应带时区",
    "timezone_aware": "须带时区，如 2027-01-01T09:00:00+08:00",
    "timezone_offset": "时区应为 {tz_expected}",
    "time_delta_type": "应为时长，如 P1D",
    "time_delta_parsing": "应为时长，如 P1D",
    "frozen_set_type": "应为列表（各项不重复）",
    "is_instance_of": "类型不正确",
    "is_subclass_of": "类型不正确",
    "callable_type": "类型不正确",
    "union_tag_invalid": "类别 {tag} 不正确，应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少用于区分类别的字段 {discriminator}",
    "arguments_type": "参数格式不正确",
    "missing_argument": "为必填项",
    "unexpected_keyword_argument": "是不认识的字段",
    "missing_keyword_only_argument": "为必填项",
    "unexpected_positional_argument": "是多余的参数",
    "missing_positional_only_argument": "为必填项",
    "multiple_argument_values": "重复填写了",
    "url_type": "应为网址",
    "url_parsing": "应为网址，如 https://example.gov.cn/",
    "url_syntax_violation": "网址格式不正确",
    "url_too_long": "网址不能超过{max_length}个字符",
    "url_scheme": "网址应以 {expected_schemes} 开头",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID，如 123e4567-e89b-12d3-a456-426614174000",
    "uuid_version": "应为第{expected_version}版 UUID",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_max_digits": "数字总位数不能超过{max_digits}位",
    "decimal_max_places": "小数不能超过{decimal_places}位",
    "decimal_whole_digits": "整数部分不能超过{whole_digits}位",
    "fraction_type": "应为分数或数字",
    "fraction_parsing": "应为分数或数字",
    "complex_type": "应为数字",
    "complex_str_parsing": "应为数字",
}
"""Every pydantic-core error type in words an end user understands."""

_CHINESE = re.compile(r"[\u4e00-\u9fff]")

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


def _listed(value: Any) -> str:
    """pydantic's "'a', 'b' or 'c'" as a Chinese list."""
    return str(value).replace(" or ", "、").replace(", ", "、")


def _message(error: dict[str, Any]) -> str:
    context = error.get("ctx") or {}
    if error["type"] in ("value_error", "assertion_error") and context.get("error"):
        reason = str(context["error"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return reason if _CHINESE.search(reason) else _MESSAGES[error["type"]]
    template = _MESSAGES.get(error["type"], "取值不正确")
    values = {key: _listed(value) for key, value in context.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template.split("：")[0].split("{")[0] or "取值不正确"


def describe(errors: Iterable[dict[str, Any]], model: type[BaseModel] | None = None) -> list[str]:
    """One line per problem: where it is (named after ``model``'s fields) and what is wrong."""
    return [f"{_place(e.get('loc', ()), model)}：{_message(e)}" for e in errors]


def describe_validation_error(error: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    return describe(error.errors(), model)
