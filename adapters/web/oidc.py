"""Single sign-on for the console: OpenID Connect, authorization code flow with PKCE.

``GET /console/signin/sso`` sends the browser to the identity provider with a fresh
``state``, ``nonce`` and PKCE challenge (S256); the three travel back to the callback in a
short-lived HttpOnly cookie signed with a secret kept in the database, so any server
process can finish what another started. The callback exchanges the code (Authlib) and
accepts the ID token only if its signature checks against the provider's JWKS and its
issuer, audience, nonce and expiry are right (joserfc). The role comes from the token's
groups or its verified e-mail domain, at every sign-in; a person with no mapped role gets
no session. Accounts are matched by a hash of issuer and subject, never by name, so an
identity provider user can never take over a local account that happens to share a name.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import sqlalchemy as sa
from aiohttp import web
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from adapters.web.accounts import AccountStore, Role, User, keyed_digest
from adapters.web.console import PREFIX, console_of
from adapters.web.oidc_settings import SETTINGS_KEY, OidcSettings, sign_in_options
from adapters.web.render import render
from adapters.web.security import SESSION_COOKIE, set_cookie
from adapters.web.signin import safe_next
from adapters.web.staff import record
from bot.store import schema

log = logging.getLogger(__name__)
FLOW_COOKIE = "policybot_sso"
FLOW_SECONDS = 600
LEEWAY_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 10
SSO_PASSWORD_HASH = "!single-sign-on"  # not an Argon2 hash: no password ever matches
SSO_ACTOR = "single sign-on"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._@-]")


class SignOnError(Exception):
    """The sign-in cannot finish; the message is shown to the person signing in."""


@dataclass
class SingleSignOn:
    """The configured provider and the console's account store."""

    settings: OidcSettings
    accounts: AccountStore
    flow_secret: str

    def client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.secret,
            scope=self.settings.scopes,
            redirect_uri=self.settings.redirect_url,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if self.settings.secret else "none",
            timeout=HTTP_TIMEOUT_SECONDS,
        )

    async def discovery(self, client: AsyncOAuth2Client) -> dict[str, Any]:
        url = f"{self.settings.issuer}/.well-known/openid-configuration"
        try:
            response = await client.request("GET", url, withhold_token=True)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("identity provider discovery failed: %s", exc.__class__.__name__)
            raise SignOnError(
                "The identity provider did not answer. Try again later, or sign in with "
                "your local account if you have one."
            ) from exc
        if document.get("issuer", "").rstrip("/") != self.settings.issuer:
            raise SignOnError("The identity provider's discovery document names another issuer.")
        return dict(document)

    def sign_flow(self, flow: dict[str, str]) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(flow).encode()).decode()
        return f"{payload}.{keyed_digest(self.flow_secret, payload)}"

    def read_flow(self, cookie: str) -> dict[str, str]:
        payload, _, signature = cookie.partition(".")
        if not signature or not hmac.compare_digest(
            signature, keyed_digest(self.flow_secret, payload)
        ):
            raise SignOnError("This sign-in was not started here. Start again.")
        flow = json.loads(base64.urlsafe_b64decode(payload.encode()))
        if float(flow["expires"]) < time.time():
            raise SignOnError("This sign-in took too long. Start again.")
        return {key: str(value) for key, value in flow.items()}

    def verify_id_token(self, id_token: str, jwks: dict[str, Any], nonce: str) -> dict[str, Any]:
        """The ID token's claims, if signature, issuer, audience, nonce and expiry are right."""
        try:
            keys = KeySet.import_key_set(cast(Any, jwks))
            token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256"])
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.settings.issuer or ""},
                aud={"essential": True, "value": self.settings.client_id or ""},
                nonce={"essential": True, "value": nonce},
                sub={"essential": True},
                exp={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            log.warning("ID token refused: %s", exc.__class__.__name__)
            raise SignOnError(
                "The identity provider's answer could not be verified, so you were not signed "
                "in. Try again; if it keeps failing, tell your administrator."
            ) from exc
        return dict(token.claims)


OIDC_KEY: web.AppKey[SingleSignOn] = web.AppKey("policybot_oidc", SingleSignOn)


def mapped_role(claims: dict[str, Any], settings: OidcSettings) -> Role | None:
    """Admin over support; groups from the configured claim, domains only from a verified
    e-mail address. None when no rule matches."""
    raw = claims.get(settings.groups_claim) or []
    groups = {raw} if isinstance(raw, str) else {str(group) for group in raw}
    email = str(claims.get("email") or "")
    verified = claims.get("email_verified") is True
    domain = email.rpartition("@")[2].lower() if verified and "@" in email else None
    if groups & settings.admin_groups or (domain and domain in settings.admin_domains):
        return Role.ADMIN
    if groups & settings.support_groups or (domain and domain in settings.support_domains):
        return Role.SUPPORT
    return None


def account_name(claims: dict[str, Any], subject_hash: str) -> str:
    wanted = str(claims.get("preferred_username") or claims.get("email") or "")
    name = _NAME_CHARS.sub("", wanted).lstrip("._@-")[:64]
    return name or f"sso-{subject_hash[:12]}"


def provision(accounts: AccountStore, claims: dict[str, Any], issuer: str, role: Role) -> User:
    """The account of this identity (made on first sign-in), its role brought up to date.

    Raises :class:`SignOnError` when an admin disabled the account.
    """
    subject = hashlib.sha256(f"{issuer}|{claims['sub']}".encode()).hexdigest()
    users = schema.console_users
    with accounts.engine.begin() as conn:
        row = conn.execute(sa.select(users).where(users.c.sso_subject == subject)).first()
        if row is None:
            name = account_name(claims, subject)
            taken = conn.execute(sa.select(users.c.id).where(users.c.name == name)).first()
            if taken:
                name = f"{name[:57]}-{subject[:6]}"
            inserted = conn.execute(
                users.insert().values(
                    name=name,
                    role=role.value,
                    password_hash=SSO_PASSWORD_HASH,
                    created_at=datetime.now(UTC),
                    sso_subject=subject,
                )
            ).inserted_primary_key
            assert inserted is not None, "an INSERT returns its primary key"
            record(conn, SSO_ACTOR, name, "added", f"role {role.value}")
            return User(id=int(inserted[0]), name=name, role=role)
        if row.disabled_at is not None:
            raise SignOnError("Your account has been disabled. Ask an administrator.")
        if row.role != role.value:
            conn.execute(users.update().where(users.c.id == row.id).values(role=role.value))
            record(conn, SSO_ACTOR, row.name, "role changed", f"{row.role} → {role.value}")
        return User(id=row.id, name=row.name, role=role)


def sso_of(request: web.Request) -> SingleSignOn | None:
    return request.config_dict.get(OIDC_KEY)


async def start(request: web.Request) -> web.StreamResponse:
    sso = sso_of(request)
    if sso is None:
        raise web.HTTPNotFound()
    async with sso.client() as client:
        try:
            document = await sso.discovery(client)
        except SignOnError as exc:
            return await _refused(request, str(exc), status=502)
        verifier = secrets.token_urlsafe(48)
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        url, _ = client.create_authorization_url(
            document["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
        )
    flow = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": request.query.get("next", ""),
        "expires": str(time.time() + FLOW_SECONDS),
    }
    redirect = web.HTTPSeeOther(url)
    set_cookie(
        request,
        redirect,
        FLOW_COOKIE,
        sso.sign_flow(flow),
        console_of(request).settings,
        max_age=FLOW_SECONDS,
    )
    raise redirect


async def callback(request: web.Request) -> web.StreamResponse:
    sso = sso_of(request)
    if sso is None:
        raise web.HTTPNotFound()
    console = console_of(request)
    try:
        flow = sso.read_flow(request.cookies.get(FLOW_COOKIE, ""))
        if not hmac.compare_digest(request.query.get("state", ""), flow["state"]):
            raise SignOnError("This sign-in was not started here. Start again.")
        if "error" in request.query:
            raise SignOnError("The identity provider did not sign you in.")
        claims = await _exchange(sso, request.query.get("code", ""), flow)
        role = mapped_role(claims, sso.settings)
        if role is None:
            log.info("single sign-on refused: no mapped role")
            return await _refused(
                request,
                "Your identity provider account has no role in this console. Ask an "
                "administrator to add you to the support or admin group.",
                status=403,
            )
        assert sso.settings.issuer is not None
        user = await asyncio.to_thread(provision, sso.accounts, claims, sso.settings.issuer, role)
    except SignOnError as exc:
        return await _refused(request, str(exc), status=400)
    lifetime = timedelta(hours=console.settings.session_hours)
    token = await asyncio.to_thread(sso.accounts.start_session, user, lifetime=lifetime)
    log.info("signed in through single sign-on", extra={"role": user.role.value})
    redirect = web.HTTPSeeOther(safe_next(flow["next"], user))
    set_cookie(
        request,
        redirect,
        SESSION_COOKIE,
        token,
        console.settings,
        max_age=int(lifetime.total_seconds()),
    )
    redirect.del_cookie(FLOW_COOKIE, path=PREFIX)
    raise redirect


async def _exchange(sso: SingleSignOn, code: str, flow: dict[str, str]) -> dict[str, Any]:
    async with sso.client() as client:
        document = await sso.discovery(client)
        try:
            token = await client.fetch_token(
                document["token_endpoint"], code=code, code_verifier=flow["verifier"]
            )
            jwks_response = await client.request("GET", document["jwks_uri"], withhold_token=True)
            jwks_response.raise_for_status()
            jwks = jwks_response.json()
        except Exception as exc:  # Authlib raises OAuthError, httpx its own; both refuse
            log.warning("code exchange failed: %s", exc.__class__.__name__)
            raise SignOnError(
                "The identity provider refused to complete the sign-in. Start again."
            ) from exc
    id_token = token.get("id_token")
    if not id_token:
        raise SignOnError("The identity provider sent no ID token; check the openid scope.")
    return sso.verify_id_token(str(id_token), jwks, flow["nonce"])


async def _refused(request: web.Request, message: str, *, status: int) -> web.Response:
    response = await render(
        request,
        "signin.html",
        status=status,
        title="Sign in",
        next="",
        error=message,
        **sign_in_options(request),
    )
    response.del_cookie(FLOW_COOKIE, path=PREFIX)
    return response


def add_routes(app: web.Application, settings: OidcSettings, accounts: AccountStore) -> None:
    """Mount single sign-on when an issuer is configured (the settings are already checked)."""
    if not settings.enabled:
        return
    app[SETTINGS_KEY] = settings
    app[OIDC_KEY] = SingleSignOn(settings, accounts, accounts.secret("oidc"))
    app.router.add_get("/signin/sso", start)
    app.router.add_get("/signin/sso/callback", callback)
