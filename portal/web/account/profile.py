"""The applicant's own profile: name, organisation, role, phone and adjustments request."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.db import database_now, read_transaction, write_transaction
from portal.domain.accounts import applicants
from portal.domain.accounts.applicants import ProfileChange, applicant_profile, update_profile
from portal.domain.errors import DomainError
from portal.web.auth import CurrentUser
from portal.web.common import form_errors
from portal.web.reminders import reminder_setting

LIMITS = {
    "name": 200,
    "organisation": applicants.MAX_ORGANISATION,
    "job_title": applicants.MAX_JOB_TITLE,
    "phone": applicants.MAX_PHONE,
    "adjustments": applicants.MAX_ADJUSTMENTS,
}


@dataclass
class ProfileForm:
    # Only these fields are read: anything else a form sends (role, email...) is ignored.
    name: str = ""
    organisation: str = ""
    job_title: str = ""
    phone: str = ""
    adjustments: str = ""


class ProfileController(Controller):
    path = "/profile"

    def _page(
        self,
        profile: dict,
        form: ProfileForm | dict,
        errors: dict[str, str],
        status_code: int = 200,
        notice: str = "",
    ) -> Template:
        return Template(
            "account/profile_form.html",
            context={
                "profile": profile,
                "form": form,
                "errors": errors,
                "limits": LIMITS,
                "notice": notice,
            },
            status_code=status_code,
        )

    @get("/", name="account_profile")
    async def show(
        self,
        request: Request[CurrentUser, dict, object],
        welcome: FromQuery[str] = "",
        reset: FromQuery[str] = "",
        saved: FromQuery[str] = "",
    ) -> Template:
        async with read_transaction():
            profile = await applicant_profile(request.user.id)
            profile["reminders"] = await reminder_setting(request, request.user.id)
        notice = ""
        if welcome == "1":
            notice = "Your email address is confirmed and you are signed in."
        elif reset == "1":
            notice = "Your new password is set and you are signed in."
        elif saved == "1":
            notice = "Your profile is saved."
        return self._page(profile, profile, {}, notice=notice)

    @post("/")
    async def save(
        self, request: Request[CurrentUser, dict, object], data: URLEncodedBody[ProfileForm]
    ) -> Template | Redirect:
        change = ProfileChange(
            name=data.name,
            organisation=data.organisation,
            job_title=data.job_title,
            phone=data.phone,
            adjustments=data.adjustments,
        )
        try:
            async with write_transaction():
                await update_profile(request.user.id, change, await database_now())
        except DomainError as exc:
            async with read_transaction():
                profile = await applicant_profile(request.user.id)
                profile["reminders"] = await reminder_setting(request, request.user.id)
            return self._page(profile, data, form_errors(exc), status_code=400)
        return Redirect("/account/profile?saved=1")


controllers = [ProfileController]
