"""OpenID Connect sign-in (authorization code flow with PKCE S256), with Authlib.

The relying party:
- finds the provider through `<issuer>/.well-known/openid-configuration` (the document's
  `issuer` must equal the configured one exactly) and caches it for an hour;
- starts a login with a random `state`, `nonce` and PKCE `code_verifier`, kept in a short-lived
  cookie that is sealed (AES-256-GCM, key derived from the server's key secret): the browser
  cannot read or change it, and each one is accepted once (a replayed callback is refused in
  this process, and the provider refuses a second use of the code everywhere);
- exchanges the code (Authlib's AsyncOAuth2Client, client_secret_basic or _post) and checks the
  ID token: signature against the provider's JWKS (asymmetric algorithms only), `iss`, `aud`
  (and `azp`), `exp`/`iat`, `nonce` and `at_hash` (Authlib's CodeIDToken over joserfc);
- reads the claims from the ID token, completed from the userinfo endpoint when a configured
  claim is missing (its `sub` must match).

Claims map to gennai's accounts by configuration (auth.oidc): the user is found by (issuer,
subject) or created; display name, e-mail and — when `role_map` is set — roles follow the
provider at every sign-in. Memberships of the teams named by `team_map` / `team_admin_map`
are ADDED (and raised to team admin), never removed: taking someone out of a team stays with
the team's or system administrators, because a sign-in that removed memberships could leave a
team without an administrator. Teams named in the mapping that do not exist are skipped with a
warning; sign-in never creates teams.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gennai.config import OidcConfig
from gennai.store.tables import Membership, Team, User

log = logging.getLogger("gennai.auth.oidc")

LOGIN_TTL_S = 600  # how long a started login may take at the provider
METADATA_TTL_S = 3600
CLOCK_LEEWAY_S = 60
# Asymmetric signatures only: "none" and HS* (keyed with the client secret) are refused.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519")
ROLE_NAMES = ("auditor", "evaluator")

ErrorKind = Literal["invalid_request", "denied", "forbidden", "unavailable"]


class OidcError(Exception):
    """A sign-in through the provider failed. `kind` says whose fault (the API layer picks
    the HTTP status): invalid_request (state missing, expired, reused, tampered), denied
    (the provider said no, or its token did not validate), forbidden (gennai refuses this
    account), unavailable (the provider could not be reached)."""

    def __init__(self, kind: ErrorKind, code: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message


def read_client_secret(config: OidcConfig, resolve: Callable[[str], Path]) -> str | None:
    """The client secret from its variable or file; None for a public client (PKCE only)."""
    if config.client_secret_env:
        value = os.environ.get(config.client_secret_env)
        if not value:
            raise ValueError(f"auth.oidc.client_secret_env: the variable {config.client_secret_env} is not set")
        return value.strip()
    if config.client_secret_file:
        path = resolve(config.client_secret_file)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"auth.oidc.client_secret_file: {path}: {exc.strerror or exc}") from None
        if not value:
            raise ValueError(f"auth.oidc.client_secret_file: {path} is empty")
        return value
    return None


def safe_next_path(value: str | None) -> str | None:
    """A local path to return to after sign-in ("/", "/chat?x=1"), or None when `value` could
    lead anywhere else (absolute URLs, //host, /\\host, control characters)."""
    if value is None or value == "":
        return "/"
    if len(value) > 2000 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class LoginState:
    id: str
    state: str
    nonce: str
    code_verifier: str
    next_path: str
    expires: float


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    issuer: str
    subject: str
    username: str
    display_name: str
    email: str | None
    groups: tuple[str, ...]
    claims: Mapping[str, Any] = field(repr=False, default_factory=dict)


class OidcClient:
    """The relying party for one provider. `secret` is the server's key secret: the login
    state cookie is sealed with a key derived from it."""

    def __init__(
        self,
        config: OidcConfig,
        client_secret: str | None,
        secret: bytes,
        *,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, url in (("issuer", config.issuer), ("redirect_uri", config.redirect_uri)):
            scheme = urlsplit(url).scheme
            if scheme != "https" and not (scheme == "http" and _is_loopback(url)):
                raise ValueError(f"auth.oidc.{name} must be an https:// URL (http:// only on loopback): {url}")
        if "openid" not in config.scopes:
            raise ValueError("auth.oidc.scopes must include 'openid'")
        self.config = config
        self.client_secret = client_secret
        self._aead = AESGCM(hmac.new(secret, b"gennai/oidc-login-state/v1", hashlib.sha256).digest())
        self.timeout_s = timeout_s
        self.clock = clock
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: dict[str, Any] | None = None
        self._consumed: dict[str, float] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ login state cookie

    def seal(self, state: LoginState) -> str:
        payload = orjson.dumps(
            {"i": state.id, "s": state.state, "n": state.nonce, "v": state.code_verifier, "r": state.next_path, "e": state.expires}
        )
        nonce = os.urandom(12)
        return _b64(nonce + self._aead.encrypt(nonce, payload, b"gennai-oidc-state"))

    def unseal(self, value: str | None) -> LoginState:
        if not value:
            raise OidcError(
                "invalid_request",
                "oidc_state_missing",
                "サインインの状態が見つかりません。もう一度サインインしてください（同じブラウザーで、時間を置かずに） / "
                "No sign-in in progress in this browser (it expired, finished, or started elsewhere); sign in again",
            )
        try:
            raw = _unb64(value)
            data = orjson.loads(self._aead.decrypt(raw[:12], raw[12:], b"gennai-oidc-state"))
            state = LoginState(data["i"], data["s"], data["n"], data["v"], data["r"], float(data["e"]))
        except Exception:  # noqa: BLE001 - any tampering or garbage is the same answer
            raise OidcError(
                "invalid_request",
                "oidc_state_invalid",
                "サインインの状態が改ざんされているか壊れています。もう一度サインインしてください / "
                "The sign-in state was tampered with or is damaged; sign in again",
            ) from None
        if state.expires < self.clock():
            raise OidcError(
                "invalid_request",
                "oidc_state_expired",
                "サインインの有効時間が過ぎました。もう一度サインインしてください / The sign-in took too long; sign in again",
            )
        return state

    def _consume(self, state: LoginState) -> None:
        now = self.clock()
        with self._lock:
            for key in [k for k, exp in self._consumed.items() if exp < now]:
                del self._consumed[key]
            if state.id in self._consumed:
                raise OidcError(
                    "invalid_request",
                    "oidc_state_used",
                    "このサインインは既に使われました（再送や戻るボタン）。もう一度サインインしてください / "
                    "This sign-in response was already used (a replay or the back button); sign in again",
                )
            self._consumed[state.id] = state.expires

    # ------------------------------------------------------------------ provider

    def _http(self, **kwargs: Any) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.client_secret,
            scope=" ".join(self.config.scopes),
            redirect_uri=self.config.redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout_s,
            follow_redirects=False,
            **kwargs,
        )

    async def _get_json(self, client: AsyncOAuth2Client, url: str, what: str) -> dict[str, Any]:
        try:
            response = await client.request("GET", url, withhold_token=True)
        except Exception as exc:  # noqa: BLE001 - network trouble of any kind
            raise OidcError(
                "unavailable",
                "oidc_provider_unreachable",
                f"ID プロバイダーに接続できません / The identity provider cannot be reached ({what}: {type(exc).__name__})",
            ) from None
        if response.status_code != 200:
            raise OidcError(
                "unavailable",
                "oidc_provider_error",
                f"ID プロバイダーがエラーを返しました / The identity provider answered HTTP {response.status_code} ({what})",
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise OidcError("unavailable", "oidc_provider_error", f"ID プロバイダーの応答が JSON ではありません / {what} is not a JSON object")
        return data

    async def metadata(self, client: AsyncOAuth2Client | None = None) -> dict[str, Any]:
        """The provider's discovery document (cached for an hour)."""
        if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL_S:
            return self._metadata
        issuer = self.config.issuer
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        if client is None:
            async with self._http() as own:
                data = await self._get_json(own, url, "discovery")
        else:
            data = await self._get_json(client, url, "discovery")
        if data.get("issuer") != issuer:
            raise OidcError(
                "unavailable",
                "oidc_issuer_mismatch",
                f"ID プロバイダーの issuer が設定と違います / The provider calls itself {data.get('issuer')!r}, configured {issuer!r}",
            )
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(data.get(key), str):
                raise OidcError("unavailable", "oidc_provider_error", f"discovery document lacks {key}")
        methods = data.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise OidcError("unavailable", "oidc_provider_error", "the provider does not support PKCE S256")
        self._metadata, self._metadata_at, self._jwks = data, time.monotonic(), None
        return data

    async def begin(self, next_path: str) -> tuple[str, str]:
        """Start a sign-in: (the provider's authorization URL, the sealed state for the
        login cookie). `next_path` must already be a safe local path."""
        metadata = await self.metadata()
        login = LoginState(
            id=uuid.uuid4().hex,
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48),  # 64 characters, RFC 7636's 43..128
            next_path=next_path,
            expires=self.clock() + LOGIN_TTL_S,
        )
        async with self._http() as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], state=login.state, code_verifier=login.code_verifier, nonce=login.nonce
            )
        if "code_challenge=" + create_s256_code_challenge(login.code_verifier) not in url:
            raise RuntimeError("the authorization URL lacks the PKCE challenge")
        return url, self.seal(login)

    async def finish(self, params: Mapping[str, str], sealed_state: str | None) -> tuple[OidcIdentity, str]:
        """Complete a sign-in from the callback's query parameters and the login cookie:
        (the verified identity, the local path to return to). Raises OidcError."""
        login = self.unseal(sealed_state)
        presented = params.get("state") or ""
        if not hmac.compare_digest(presented.encode(), login.state.encode()):
            raise OidcError(
                "invalid_request",
                "oidc_state_mismatch",
                "サインインの応答がこのブラウザーで始めたサインインと一致しません / "
                "The sign-in response does not belong to the sign-in started in this browser",
            )
        self._consume(login)
        if "iss" in params and params["iss"] != self.config.issuer:  # RFC 9207: mix-up defence
            raise OidcError("denied", "oidc_issuer_mismatch", "the sign-in response comes from another issuer")
        if params.get("error"):
            error = params.get("error", "")[:100]
            raise OidcError(
                "denied",
                "oidc_provider_refused",
                f"ID プロバイダーがサインインを拒否しました / The identity provider refused the sign-in ({error})",
            )
        code = params.get("code")
        if not code:
            raise OidcError("invalid_request", "oidc_code_missing", "the callback carries no authorization code")
        async with self._http() as client:
            metadata = await self.metadata(client)
            supported = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
            if self.client_secret is None:
                client.token_endpoint_auth_method = "none"
            elif "client_secret_basic" not in supported and "client_secret_post" in supported:
                client.token_endpoint_auth_method = "client_secret_post"
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=login.code_verifier,
                    redirect_uri=self.config.redirect_uri,
                )
            except OidcError:
                raise
            except Exception as exc:  # noqa: BLE001 - OAuthError (invalid_grant …) or network
                detail = getattr(exc, "error", None) or type(exc).__name__
                raise OidcError(
                    "denied",
                    "oidc_token_refused",
                    f"ID プロバイダーがトークンを発行しませんでした / The provider refused the code ({detail})",
                ) from None
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise OidcError("denied", "oidc_id_token_missing", "the provider returned no ID token")
            claims = await self._validate_id_token(client, metadata, id_token, login.nonce, token.get("access_token"))
            claims = dict(claims)
            wanted = (self.config.username_claim, self.config.display_name_claim, self.config.groups_claim, "email")
            if any(name not in claims for name in wanted) and metadata.get("userinfo_endpoint") and token.get("access_token"):
                claims = await self._merge_userinfo(client, metadata["userinfo_endpoint"], token["access_token"], claims)
        return self._identity(claims), login.next_path

    async def _validate_id_token(
        self, client: AsyncOAuth2Client, metadata: Mapping[str, Any], id_token: str, nonce: str, access_token: str | None
    ) -> dict[str, Any]:
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in offered if alg in ID_TOKEN_ALGORITHMS] or ["RS256"]
        registry = JWSRegistry(algorithms=algorithms)

        def invalid(reason: str) -> OidcError:
            return OidcError(
                "denied",
                "oidc_id_token_invalid",
                f"ID トークンを検証できませんでした / The ID token did not validate ({reason})",
            )

        try:
            if self._jwks is None:
                self._jwks = await self._get_json(client, metadata["jwks_uri"], "jwks")
            try:
                decoded = jwt.decode(id_token, KeySet.import_key_set(self._jwks), registry=registry)  # type: ignore[arg-type]
            except InvalidKeyIdError:  # keys rotated: fetch them once more
                self._jwks = await self._get_json(client, metadata["jwks_uri"], "jwks")
                decoded = jwt.decode(id_token, KeySet.import_key_set(self._jwks), registry=registry)  # type: ignore[arg-type]
        except OidcError:
            raise
        except (JoseError, ValueError) as exc:
            raise invalid(f"signature: {type(exc).__name__}") from None
        options = {
            "iss": {"essential": True, "value": self.config.issuer},
            "aud": {"essential": True, "value": self.config.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        }
        params: dict[str, Any] = {"nonce": nonce, "client_id": self.config.client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)  # type: ignore[arg-type]
        try:
            claims.validate(now=int(self.clock()), leeway=CLOCK_LEEWAY_S)
        except JoseError as exc:
            claim = getattr(exc, "claim", None) or getattr(exc, "error", None) or type(exc).__name__
            raise invalid(f"{type(exc).__name__}: {claim}") from None
        return dict(claims)

    async def _merge_userinfo(
        self, client: AsyncOAuth2Client, url: str, access_token: str, claims: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            response = await client.request("GET", url, withhold_token=True, headers={"Authorization": f"Bearer {access_token}"})
            info = response.json() if response.status_code == 200 else None
        except Exception:  # noqa: BLE001 - the ID token alone still identifies the user
            info = None
        if not isinstance(info, dict):
            log.warning("OIDC userinfo could not be read; using the ID token's claims only")
            return claims
        if info.get("sub") != claims.get("sub"):
            raise OidcError("denied", "oidc_userinfo_mismatch", "userinfo is about another subject than the ID token")
        return {**info, **claims}

    def _identity(self, claims: Mapping[str, Any]) -> OidcIdentity:
        config = self.config
        subject = str(claims["sub"])

        def text(name: str) -> str | None:
            value = claims.get(name)
            return value.strip() if isinstance(value, str) and value.strip() else None

        username = text(config.username_claim) or text("preferred_username") or text("email") or subject
        raw_groups = claims.get(config.groups_claim)
        if isinstance(raw_groups, str):
            groups: tuple[str, ...] = (raw_groups,)
        elif isinstance(raw_groups, list):
            groups = tuple(str(g) for g in raw_groups if isinstance(g, (str, int)))
        else:
            groups = ()
        return OidcIdentity(
            issuer=config.issuer,
            subject=subject,
            username=username[:200],
            display_name=(text(config.display_name_claim) or username)[:200],
            email=(text("email") or None) if claims.get("email_verified", True) is not False else None,
            groups=groups,
            claims=dict(claims),
        )


# --------------------------------------------------------------------------- accounts


@dataclass(frozen=True, slots=True)
class OidcSignIn:
    user_id: str
    username: str
    created: bool
    teams_added: tuple[str, ...]
    teams_missing: tuple[str, ...]


def apply_identity(engine: Engine, config: OidcConfig, identity: OidcIdentity, now: datetime | None = None) -> OidcSignIn:
    """Find or create the user for a verified identity and apply the claim mapping (see the
    module doc: roles follow the provider when role_map is set; memberships are only added).
    Blocking (database). Raises OidcError (forbidden) for a disabled account or a user name
    that belongs to another account."""
    now = now or datetime.now(UTC)
    groups = set(identity.groups)
    member_of = {config.team_map[g] for g in groups if g in config.team_map}
    admin_of = {config.team_admin_map[g] for g in groups if g in config.team_admin_map}
    mapped_roles = {config.role_map[g] for g in groups if g in config.role_map}
    with Session(engine) as session, session.begin():
        user = session.scalars(
            select(User).where(User.oidc_issuer == identity.issuer, User.oidc_subject == identity.subject)
        ).first()
        created = user is None
        if user is None:
            if session.scalars(select(User.id).where(User.username == identity.username)).first() is not None:
                raise OidcError(
                    "forbidden",
                    "oidc_username_taken",
                    f"ユーザー名 '{identity.username}' は別のアカウントで使われています。管理者に連絡してください / "
                    f"The user name '{identity.username}' belongs to another gennai account; ask an administrator to link them",
                )
            user = User(
                id=str(uuid.uuid4()),
                username=identity.username,
                display_name=identity.display_name,
                kind="person",
                is_system_admin=False,
                disabled=False,
                created_at=now,
                roles=[],
                failed_sign_ins=0,
                oidc_issuer=identity.issuer,
                oidc_subject=identity.subject,
            )
            session.add(user)
            session.flush()
        elif user.disabled:
            raise OidcError(
                "forbidden",
                "account_disabled",
                "このアカウントは無効にされています。管理者に連絡してください / This account is disabled; contact an administrator",
            )
        user.display_name = identity.display_name
        if identity.email:
            user.email = identity.email[:320]
        if config.role_map:  # the provider is the source of truth for roles
            user.roles = sorted(mapped_roles & set(ROLE_NAMES))
            user.is_system_admin = "system_admin" in mapped_roles
        user.last_sign_in_at = now
        wanted = member_of | admin_of
        teams = {t.name: t for t in session.scalars(select(Team).where(Team.name.in_(wanted))).all()} if wanted else {}
        missing = tuple(sorted(wanted - teams.keys()))
        for name in missing:
            log.warning("OIDC mapping names team %r, which does not exist: skipped (sign-in never creates teams)", name)
        added: list[str] = []
        for name, team in sorted(teams.items()):
            is_admin = name in admin_of
            membership = session.get(Membership, (team.id, user.id))
            if membership is None:
                session.add(Membership(team_id=team.id, user_id=user.id, is_admin=is_admin, created_at=now))
                added.append(name)
            elif is_admin and not membership.is_admin:
                membership.is_admin = True
        return OidcSignIn(user.id, user.username, created, tuple(added), missing)
