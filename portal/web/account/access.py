"""Getting into an applicant account: register, confirm, sign in (password or link), reset, sign out.

All of these are reachable signed out. Every request that could mail someone
answers the same way whether or not the address has an account. Links from mails
open a page with a button (GET never spends a token), so mail scanners that fetch
links cannot use them up.

Where the person was going (`next`, a local path: a seat's application, say) is kept
through registering, confirming and signing in: in the forms' hidden fields, and in
mailed links signed with the portal's key, so a link only leads where the portal sent
it and never off the site. Without one, panel members land on /panel.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, is_integrity_error, write_transaction
from portal.domain.accounts.applicants import authenticate_applicant, register_applicant
from portal.domain.accounts.credentials import MIN_PASSWORD, InvalidCredentials
from portal.domain.accounts.links import (
    SIGN_IN_LINK_VALID,
    TokenPurpose,
    WrongBrowser,
    ensure_same_browser,
    find_account_token,
    request_password_reset,
    request_sign_in_link,
    reset_password,
    use_sign_in_link,
    verify_email,
)
from portal.domain.errors import DomainError, NotFound
from portal.mail.compose.accounts import compose_account_mail
from portal.web.account.destinations import HOME, landing, local_or_empty, signed_destination
from portal.web.auth import sign_in, sign_out
from portal.web.common import form_errors, settings_of
from workers.dispatch import write_then_send

# The browser's half of a sign-in link. Only sent to /account paths, never readable by script.
NONCE_COOKIE = "portal_link_nonce"
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")


def _limit(name: str, per_minute: int = 10) -> RateLimitConfig:
    """A limiter with its own bucket: Litestar keys buckets by middleware class and
    client address, so limiters sharing an identifier would count together."""

    def identify(request: Request) -> str:
        return f"account-{name}::{get_remote_address(request)}"

    return RateLimitConfig(
        rate_limit=("minute", per_minute), store="rate_limit", identifier_for_request=identify
    )


sign_in_limit = _limit("sign-in")
register_limit = _limit("register")
reset_limit = _limit("reset")
link_limit = _limit("link")
token_limit = _limit("token")  # using links: guessing one is hopeless, but cheap to bound


async def _password_link_form(
    template: str,
    token: str,
    purpose: TokenPurpose,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    *,
    next_path: str = "",
    sig: str = "",
) -> Template:
    """The page a verification or reset link opens (opening never spends the link); a
    signed `next` is carried in the form, still signed, to be checked when it is used."""
    try:
        row = await find_account_token(token, purpose, await database_now())
    except NotFound as exc:
        return _dead_link(exc.message, purpose)
    return Template(
        template,
        context={
            "token": token,
            "account": row,
            "errors": errors or {},
            "min_password": MIN_PASSWORD,
            "next": local_or_empty(next_path),
            "sig": sig[:64] if local_or_empty(next_path) else "",
        },
        status_code=status_code,
    )


async def _set_password_by_link(
    request: Request,
    token: str,
    data: PasswordForm,
    purpose: TokenPurpose,
    spend: Callable[[str, str, str, datetime], Awaitable[int]],
    template: str,
    done_url: str,
) -> Template | Redirect:
    """Spend a verification or reset link, set the password and sign the person in."""
    try:
        async with write_transaction():
            user_id = await spend(token, data.password, data.confirm, await database_now())
    except NotFound as exc:
        return _dead_link(exc.message, purpose)
    except DomainError as exc:
        return await _password_link_form(
            template, token, purpose, form_errors(exc), 400, next_path=data.next, sig=data.sig
        )
    sign_in(request, {"id": user_id})  # a new session id: nothing planted before survives
    return Redirect(signed_destination(request, data.next, data.sig) or done_url)


@dataclass
class RegisterForm:
    name: str = ""
    email: str = ""
    next: str = ""


@dataclass
class EmailForm:
    email: str = ""
    next: str = ""


@dataclass
class SignInForm:
    email: str = ""
    password: str = ""
    next: str = ""


@dataclass
class PasswordForm:
    password: str = ""
    confirm: str = ""
    next: str = ""
    sig: str = ""


@dataclass
class LinkForm:
    next: str = ""
    sig: str = ""


def _sent(what: str) -> Redirect:
    return Redirect(f"/account/sent?what={what}")


def _dead_link(message: str, purpose: TokenPurpose, status_code: int = 404) -> Template:
    return Template(
        "account/link_invalid.html",
        context={"message": message, "purpose": purpose.value},
        status_code=status_code,
    )


class AccessController(Controller):
    path = "/"
    opt = {"public": True}

    @get("/", name="account_home")
    async def home(self, request: Request) -> Redirect:
        # Public, so the session is read directly: the nav's one link serves both cases.
        signed_in = isinstance(request.session.get("user_id"), int) if request.session else False
        return Redirect(HOME if signed_in else "/account/sign-in")

    @get("/sent", name="account_sent")
    async def sent(self, what: FromQuery[str] = "") -> Template:
        what = what if what in {"register", "link", "reset"} else "register"
        return Template("account/check_email.html", context={"what": what, "link_minutes": 15})

    # ---- Register and confirm -----------------------------------------------

    @get("/register", name="account_register")
    async def register_form(self, next: FromQuery[str] = "") -> Template:
        """Anyone may register; `next` (a local path) is carried to the confirmation link."""
        return Template(
            "account/register.html",
            context={"form": RegisterForm(next=local_or_empty(next)), "errors": {}},
        )

    @post("/register", middleware=[register_limit.middleware])
    async def register(
        self, request: Request, data: URLEncodedBody[RegisterForm]
    ) -> Template | Redirect:
        try:
            async with write_then_send() as mail:
                message_id = await register_applicant(
                    data.name,
                    data.email,
                    await database_now(),
                    compose_account_mail(settings_of(request), local_or_empty(data.next)),
                )
                mail.send(message_id)
        except DomainError as exc:
            data.next = local_or_empty(data.next)
            return Template(
                "account/register.html",
                context={"form": data, "errors": form_errors(exc)},
                status_code=400,
            )
        except Exception as exc:
            # Two registrations of one new address at once: the other one won, and its
            # owner gets that mail. Saying anything else would tell who has an account.
            if not is_integrity_error(exc):
                raise
            return _sent("register")
        return _sent("register")

    @get("/verify/{token:str}", name="account_verify")
    async def verify_form(
        self, token: FromPath[str], next: FromQuery[str] = "", sig: FromQuery[str] = ""
    ) -> Template:
        """The page a confirmation link opens; spends nothing."""
        return await _password_link_form(
            "account/verify.html", token, TokenPurpose.verify, next_path=next, sig=sig
        )

    @post("/verify/{token:str}", middleware=[token_limit.middleware])
    async def verify(
        self, request: Request, token: FromPath[str], data: URLEncodedBody[PasswordForm]
    ) -> Template | Redirect:
        return await _set_password_by_link(
            request,
            token,
            data,
            TokenPurpose.verify,
            verify_email,
            "account/verify.html",
            f"{HOME}?welcome=1",
        )

    # ---- Sign in ------------------------------------------------------------

    def _sign_in_page(
        self,
        email: str = "",
        next: str = "",
        errors: dict[str, str] | None = None,
        link_errors: dict[str, str] | None = None,
        status_code: int = 200,
        signed_out: bool = False,
    ) -> Template:
        return Template(
            "account/sign_in.html",
            context={
                "email": email,
                "next": next,
                "errors": {**(errors or {}), **(link_errors or {})},
                "link_errors": link_errors or {},
                "signed_out": signed_out,
            },
            status_code=status_code,
        )

    @get("/sign-in", name="account_sign_in")
    async def sign_in_form(
        self, next: FromQuery[str] = "", signed_out: FromQuery[str] = ""
    ) -> Template:
        """The sign-in page; `next` (a local path) is kept in both of its forms."""
        return self._sign_in_page(next=local_or_empty(next), signed_out=signed_out == "1")

    @post("/sign-in", middleware=[sign_in_limit.middleware])
    async def sign_in_submit(
        self, request: Request, data: URLEncodedBody[SignInForm]
    ) -> Template | Redirect:
        try:
            # No write transaction around it: the argon2 check would hold SQLite's one
            # write lock for its whole run. The only write is a single UPDATE of the
            # sign-in time, atomic on its own.
            user = await authenticate_applicant(data.email, data.password, await database_now())
        except InvalidCredentials as exc:
            return self._sign_in_page(
                data.email, local_or_empty(data.next), {"email": exc.message}, status_code=400
            )
        sign_in(request, user)
        return Redirect(await landing(user["id"], data.next))

    @post("/sign-in/link", middleware=[link_limit.middleware])
    async def request_link(
        self, request: Request, data: URLEncodedBody[EmailForm]
    ) -> Template | Redirect:
        if not data.email.strip():
            return self._sign_in_page(
                next=local_or_empty(data.next),
                link_errors={"link-email": "Enter your email address to get a sign-in link."},
                status_code=400,
            )
        # One nonce per browser, kept while it lasts, so two links asked for in a row both work here.
        nonce = request.cookies.get(NONCE_COOKIE, "")
        if not _NONCE.fullmatch(nonce):
            nonce = secrets.token_urlsafe(32)
        async with write_then_send() as mail:
            message_id = await request_sign_in_link(
                data.email,
                nonce,
                await database_now(),
                compose_account_mail(settings_of(request), local_or_empty(data.next)),
            )
            mail.send(message_id)
        response = _sent("link")
        # Set whether or not the address has an account: the response must not differ.
        response.cookies.append(
            Cookie(
                key=NONCE_COOKIE,
                value=nonce,
                path="/account",
                max_age=int(SIGN_IN_LINK_VALID.total_seconds()),
                httponly=True,
                secure=settings_of(request).secure_cookies,
                samesite="lax",
            )
        )
        return response

    @get("/link/{token:str}", name="account_link")
    async def link_form(
        self,
        request: Request,
        token: FromPath[str],
        next: FromQuery[str] = "",
        sig: FromQuery[str] = "",
    ) -> Template:
        """The page a sign-in link opens, in the browser that asked for it; spends nothing."""
        try:
            row = await find_account_token(token, TokenPurpose.sign_in, await database_now())
            ensure_same_browser(row, request.cookies.get(NONCE_COOKIE))
        except WrongBrowser as exc:
            return _dead_link(exc.message, TokenPurpose.sign_in, status_code=403)
        except NotFound as exc:
            return _dead_link(exc.message, TokenPurpose.sign_in)
        kept = local_or_empty(next)
        return Template(
            "account/link_confirm.html",
            context={"token": token, "account": row, "next": kept, "sig": sig[:64] if kept else ""},
        )

    @post("/link/{token:str}", middleware=[token_limit.middleware])
    async def use_link(
        self, request: Request, token: FromPath[str], data: URLEncodedBody[LinkForm]
    ) -> Template | Redirect:
        """Spends a sign-in link and signs its owner in, where they were going."""
        try:
            async with write_transaction():
                user_id = await use_sign_in_link(
                    token, request.cookies.get(NONCE_COOKIE), await database_now()
                )
        except WrongBrowser as exc:
            return _dead_link(exc.message, TokenPurpose.sign_in, status_code=403)
        except NotFound as exc:
            return _dead_link(exc.message, TokenPurpose.sign_in)
        sign_in(request, {"id": user_id})
        destination = signed_destination(request, data.next, data.sig)
        response = Redirect(await landing(user_id, destination))
        response.delete_cookie(NONCE_COOKIE, path="/account")
        return response

    # ---- Reset --------------------------------------------------------------

    @get("/reset", name="account_reset")
    async def reset_request_form(self) -> Template:
        return Template("account/reset_request.html", context={"email": "", "errors": {}})

    @post("/reset", middleware=[reset_limit.middleware])
    async def reset_request(
        self, request: Request, data: URLEncodedBody[EmailForm]
    ) -> Template | Redirect:
        if not data.email.strip():
            return Template(
                "account/reset_request.html",
                context={
                    "email": "",
                    "errors": {"email": "Enter the email address of your account."},
                },
                status_code=400,
            )
        async with write_then_send() as mail:
            message_id = await request_password_reset(
                data.email, await database_now(), compose_account_mail(settings_of(request))
            )
            mail.send(message_id)
        return _sent("reset")

    @get("/reset/{token:str}", name="account_reset_token")
    async def reset_form(self, token: FromPath[str]) -> Template:
        return await _password_link_form("account/reset_form.html", token, TokenPurpose.reset)

    @post("/reset/{token:str}", middleware=[token_limit.middleware])
    async def reset(
        self, request: Request, token: FromPath[str], data: URLEncodedBody[PasswordForm]
    ) -> Template | Redirect:
        return await _set_password_by_link(
            request,
            token,
            data,
            TokenPurpose.reset,
            reset_password,
            "account/reset_form.html",
            f"{HOME}?reset=1",
        )

    # ---- Sign out -----------------------------------------------------------

    @post("/sign-out", name="account_sign_out")
    async def sign_out_submit(self, request: Request) -> Redirect:
        sign_out(request)
        return Redirect("/account/sign-in?signed_out=1")


public_controllers = [AccessController]
