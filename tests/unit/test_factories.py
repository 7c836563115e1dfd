"""The shared test factory builds what it says (other tests rely on it)."""

from portal.tables import Application, PanelMember, Statement
from tests.conftest import run
from tests.factories import add_application, add_panel_member, fetch, make_round


def test_round_with_applications_and_panel(settings) -> None:
    async def build():
        setup = await make_round(weights=(3, 1))
        await add_application(setup, email="a@example.org", name="Ada", panel_number=1)
        await add_application(setup, email="b@example.org", name="Bo", status="draft")
        await add_panel_member(setup, email="p@example.org", name="Pat", role="chair")
        return setup

    setup = run(build())
    statuses = run(
        fetch(Application.select(Application.status).where(Application.round == setup.round_id))
    )
    assert sorted(r["status"] for r in statuses) == ["draft", "submitted"]
    assert run(fetch(Statement.count().where(Statement.application == setup.applications[0]))) == 2
    assert run(fetch(PanelMember.count().where(PanelMember.round == setup.round_id))) == 1
