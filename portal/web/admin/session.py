"""Admin sign-in and sign-out, and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction
from portal.domain.accounts.credentials import InvalidCredentials, authenticate
from portal.domain.seats.queries import seat_overview
from portal.web.auth import CurrentUser, sign_in, sign_out

# Ten attempts a minute per client address (proxy headers are believed only from
# PORTAL_TRUSTED_PROXIES, so one user behind a proxy cannot exhaust everyone's).
sign_in_rate_limit = RateLimitConfig(rate_limit=("minute", 10), store="rate_limit")


@dataclass
class SignInForm:
    email: str = ""
    password: str = ""
    next: str = ""


def safe_next(target: str) -> str:
    """Only local admin paths: an open redirect would help phishing."""
    if target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin"


class SignInController(Controller):
    path = "/"
    opt = {"public": True}

    @get("/sign-in", name="admin_sign_in")
    async def form(self, next: FromQuery[str] = "") -> Template:
        return Template("admin/sign_in.html", context={"form": SignInForm(next=next), "errors": {}})

    @post("/sign-in", middleware=[sign_in_rate_limit.middleware])
    async def submit(
        self, request: Request, data: URLEncodedBody[SignInForm]
    ) -> Template | Redirect:
        try:
            user = await authenticate(data.email, data.password, await database_now())
        except InvalidCredentials as exc:
            return Template(
                "admin/sign_in.html",
                context={
                    "form": SignInForm(email=data.email, next=data.next),
                    "errors": {"email": exc.message},
                },
                status_code=400,
            )
        sign_in(request, user)
        return Redirect(safe_next(data.next))

    @post("/sign-out")
    async def sign_out(self, request: Request) -> Redirect:
        sign_out(request)
        return Redirect("/admin/sign-in")


class DashboardController(Controller):
    path = "/"

    @get("/", name="admin_dashboard")
    async def dashboard(self, request: Request[CurrentUser, dict, object]) -> Template:
        async with read_transaction():
            seats = await seat_overview(await database_now())
        return Template("admin/dashboard.html", context={"user": request.user, "seats": seats})


public_controllers = [SignInController]
controllers = [DashboardController]
