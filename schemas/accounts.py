"""Accounts, sign-in, tokens and the administrator's directory changes, as the API and the CLI exchange them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from schemas.people import Role
from schemas.text import RequestModel, SingleLine

USER_ID = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
"""A user id as the directory writes them (cg-zhao, org-chunhui, exp-01)."""
UserIdText = Field(min_length=1, max_length=64, pattern=USER_ID, title="用户名", description="字母、数字及 . _ @ -，不超过64个字符")
EMAIL = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
MOBILE = r"^1[3-9][0-9]{9}$"
"""A mainland mobile number: 11 digits starting 13–19."""
Password = Field(min_length=10, max_length=128, title="密码", description="10–128个字符")


class SignInInput(BaseModel):
    user_id: str = UserIdText
    password: str = Field(min_length=1, max_length=128, title="密码")


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=128, title="当前密码")
    new_password: str = Password


class PasswordReset(BaseModel):
    new_password: str = Password


class AccountInput(BaseModel):
    """An account an administrator opens; for staff, the same user id as in the directory."""

    user_id: str = UserIdText
    name: SingleLine = Field(min_length=1, max_length=50, title="姓名")
    password: str = Password


SIGN_UP_USER_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$"
"""A name someone chooses for themselves: 3–32 letters, digits and . _ - (a mobile number fits), kept in lower case."""


class SignUpInput(AccountInput):
    """注册: an applicant opens their own account. No role can be asked for; the e-mail and mobile given
    become the person's notification channels."""

    user_id: str = Field(min_length=3, max_length=32, pattern=SIGN_UP_USER_ID, title="用户名",
                         description="3–32个字符：字母、数字及 . _ -，如手机号码；不区分大小写（按小写保存）")
    password_again: str = Field(min_length=1, max_length=128, title="再次输入密码")
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL, title="电子邮箱", description="可不填；填了就用电子邮件通知您")
    mobile: str | None = Field(default=None, max_length=11, pattern=MOBILE, title="手机号码", description="可不填；填了就用短信通知您")

    @field_validator("user_id")
    @classmethod
    def _lower(cls, value: str) -> str:
        """WangFang and wangfang are one name, so nobody can pass for another by the case of a letter."""
        return value.lower()


class AccountStatus(BaseModel):
    disabled: bool = Field(title="是否停用")


class AccountView(BaseModel):
    user_id: str
    name: str
    role: Role = Field(description="按人员名录；不在名录中的为申请人")
    jurisdiction: str | None = None
    office: str | None = None
    has_account: bool = Field(description="是否有本地账号（经可信网关的用户可以没有）")
    disabled: bool = False
    created_at: datetime | None = None
    password_changed_at: datetime | None = None
    last_signed_in_at: datetime | None = Field(default=None, description="最近一次成功登录（仅在管理员的账号列表中）")


class SessionView(BaseModel):
    """A new session: the cookie is set; ``csrf_token`` goes back in ``X-CSRF-Token`` on every change."""

    user: AccountView
    csrf_token: str
    expires_at: datetime


class SignInView(BaseModel):
    at: datetime
    succeeded: bool
    outcome: str = Field(description="signed_in、signed_up、sign_up_refused、wrong_password、locked、throttled、disabled")
    client: str | None = Field(default=None, description="来自的网络地址")


class TokenInput(RequestModel):
    name: SingleLine = Field(min_length=1, max_length=60, title="令牌用途", description="如：命令行、某某系统对接")
    days: int | None = Field(default=90, ge=1, le=366, title="有效天数", description="不填则不过期（默认 90 天）")
    user_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=USER_ID, title="为谁创建",
                                description="仅系统管理员可为他人创建")


class TokenView(BaseModel):
    token_id: str
    user_id: str
    name: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class TokenCreated(TokenView):
    token: str = Field(description="只显示这一次，请妥善保存；请求时放在 Authorization: Bearer 之后")


class StaffInput(RequestModel):
    name: SingleLine = Field(min_length=1, max_length=50, title="姓名")
    role: Role = Field(title="角色")
    jurisdiction: str = Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)*$", title="辖区代码")
    office: SingleLine | None = Field(default=None, max_length=100, title="所在单位", description="购买服务部门须填，如 延吉市卫生健康局")


class StaffView(BaseModel):
    user_id: str
    name: str
    role: Role
    jurisdiction: str
    office: str | None = None


class PostInput(RequestModel):
    """AB岗: who holds the post (A) and who backs them up (B)."""

    role: Role = Field(title="角色")
    jurisdiction: str = Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)*$", title="辖区代码")
    office: str = Field(default="", max_length=100, title="所在单位", description="购买服务部门的岗位须填")
    a: str = Field(min_length=1, max_length=64, pattern=USER_ID, title="A岗")
    b: str = Field(min_length=1, max_length=64, pattern=USER_ID, title="B岗")


class PostView(BaseModel):
    role: Role
    jurisdiction: str
    office: str
    a: str
    b: str


class PostSlot(BaseModel):
    """An office's post in the directory: who holds it now (none yet for a new office) and who may (its
    role in its jurisdiction, and its office for a department)."""

    role: Role
    jurisdiction: str
    office: str = Field(description="购买服务部门的岗位为部门名称，其他为空")
    office_name: str = Field(description="办理该环节的单位，如 建工街道春光社区居民委员会")
    a: str | None = None
    b: str | None = None
    candidates: list[StaffView] = Field(description="可以担任A岗、B岗的人")


class JurisdictionChoice(BaseModel):
    code: str
    full_name: str


class DirectoryView(BaseModel):
    """The directory as the administrator edits it: what can be chosen, who is in it, and its AB岗 posts."""

    roles: list[Role] = Field(description="名录中可以设置的角色")
    jurisdictions: list[JurisdictionChoice]
    offices: list[str] = Field(description="名录中登记的单位名称")
    staff: list[StaffView]
    without_account: list[str] = Field(description="名录中还没有账号的人（用户名）")
    posts: list[PostSlot]


class AccountChangeView(BaseModel):
    at: datetime
    by_user_id: str = Field(description="谁改的")
    by_name: str | None = Field(default=None, description="改的人的姓名（有账号或在名录中的）")
    user_id: str | None = Field(default=None, description="改的是谁（岗位变更为空）")
    user_name: str | None = Field(default=None, description="被改的人的姓名（有账号或在名录中的）")
    action: str = Field(description="create_account、sign_up、reset_password、disable、enable、assign_staff、remove_staff、assign_post、create_token、revoke_token")
    detail: dict[str, Any] = Field(default_factory=dict)


class NotificationPreferences(RequestModel):
    """How a person wants notifications: always in the app (我的消息), and by e-mail or SMS if chosen."""

    email: str | None = Field(default=None, max_length=254, pattern=EMAIL, title="电子邮箱", description="如 wangfang@example.cn")
    mobile: str | None = Field(default=None, max_length=11, pattern=MOBILE, title="手机号码", description="11位大陆手机号码，如 13800138000")
    by_email: bool = Field(default=False, title="用电子邮件通知", description="须填写电子邮箱")
    by_sms: bool = Field(default=False, title="用短信通知", description="须填写手机号码")


class PreferencesView(NotificationPreferences):
    email_offered: bool = Field(description="本系统是否开通了电子邮件通知")
    sms_offered: bool = Field(description="本系统是否开通了短信通知")
