"""Single sign-on with the government's identity platform by OpenID Connect (authorization code with
PKCE): where to send the browser, and who came back. The platform's user is mapped to the account
whose user id is the configured claim; the platform never creates accounts here."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from schemas.accounts import USER_ID
from service.common import ServiceError
from settings import Settings

DISCOVERY_SECONDS = 3600
"""How long the provider's metadata and keys are kept before they are fetched again."""
UNAVAILABLE = "统一身份认证平台暂时无法连接，请稍后重试，或用本系统账号密码登录"


@dataclass(frozen=True)
class Attempt:
    """What the browser carries (signed) between leaving for the platform and coming back."""

    state: str
    nonce: str
    verifier: str


class SingleSignOn:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.issuer = (settings.oidc_issuer or "").rstrip("/")
        self._metadata: tuple[float, dict[str, Any], KeySet] | None = None

    @property
    def redirect_uri(self) -> str:
        return f"{self.settings.public_base_url}/api/oidc/callback"

    async def _discovered(self) -> tuple[dict[str, Any], KeySet]:
        if self._metadata is None or time.monotonic() - self._metadata[0] > DISCOVERY_SECONDS:
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    metadata = (await http.get(f"{self.issuer}/.well-known/openid-configuration")).raise_for_status().json()
                    keys = KeySet.import_key_set((await http.get(metadata["jwks_uri"])).raise_for_status().json())
            except (httpx.HTTPError, KeyError, ValueError) as error:
                raise ServiceError("unavailable", UNAVAILABLE) from error
            self._metadata = (time.monotonic(), metadata, keys)
        return self._metadata[1], self._metadata[2]

    async def start(self) -> tuple[str, Attempt]:
        """The platform's sign-in address for a new attempt, and the attempt to keep in the browser."""
        metadata, _ = await self._discovered()
        attempt = Attempt(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))
        query = urlencode({
            "response_type": "code", "client_id": self.settings.oidc_client_id, "redirect_uri": self.redirect_uri,
            "scope": self.settings.oidc_scope, "state": attempt.state, "nonce": attempt.nonce,
            "code_challenge": create_s256_code_challenge(attempt.verifier), "code_challenge_method": "S256",
        })
        return f"{metadata['authorization_endpoint']}?{query}", attempt

    async def finish(self, attempt: Attempt, state: str, code: str) -> str:
        """The user id the platform vouches for, from a verified ID token of this very attempt."""
        if not secrets.compare_digest(state, attempt.state):
            raise ServiceError("forbidden", "统一身份认证的回调与本次登录不符（可能已过期或被篡改），请重新登录")
        metadata, keys = await self._discovered()
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(
                    metadata["token_endpoint"],
                    data={"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                          "code_verifier": attempt.verifier},
                    auth=(self.settings.oidc_client_id or "", self.settings.oidc_client_secret or ""),
                )
        except httpx.HTTPError as error:
            raise ServiceError("unavailable", UNAVAILABLE) from error
        if answer.status_code != 200 or "id_token" not in answer.json():
            raise ServiceError("forbidden", "统一身份认证平台没有确认本次登录（授权码无效或已使用），请重新登录")
        try:
            token = jwt.decode(answer.json()["id_token"], keys)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer}, aud={"essential": True, "value": self.settings.oidc_client_id},
                nonce={"essential": True, "value": attempt.nonce}, sub={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError) as error:
            raise ServiceError("forbidden", "统一身份认证平台返回的身份凭证无法验证，请重新登录") from error
        claims = token.claims
        if self.settings.oidc_user_claim not in claims and "userinfo_endpoint" in metadata:
            claims = await self._userinfo(metadata["userinfo_endpoint"], answer.json().get("access_token", ""), claims["sub"])
        user = claims.get(self.settings.oidc_user_claim)
        if not isinstance(user, str) or not re.fullmatch(USER_ID, user):
            raise ServiceError("forbidden", f"统一身份认证平台没有提供用户标识（{self.settings.oidc_user_claim}），请联系管理员")
        return user

    async def _userinfo(self, endpoint: str, access_token: str, subject: str) -> dict[str, Any]:
        """The user's claims from the platform (an ID token of the code flow may carry only ``sub``),
        for the same subject as the verified ID token."""
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                claims = (await http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})).raise_for_status().json()
        except (httpx.HTTPError, ValueError) as error:
            raise ServiceError("unavailable", UNAVAILABLE) from error
        if not isinstance(claims, dict) or claims.get("sub") != subject:
            raise ServiceError("forbidden", "统一身份认证平台返回的用户信息与身份凭证不符，请重新登录")
        return claims
