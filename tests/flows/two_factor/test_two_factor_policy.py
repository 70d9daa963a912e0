"""Who must use two-factor login (a runtime setting), in Chromium on a server of its own: a user the policy
covers is led through setting up an app at their next login, cannot switch it off, and an admin's reset in the
console sends them through setup again. By default, System Managers are covered once one of them has an app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from two_factor_support import alert, confirm_enrolment, log_in_with_password

from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, private_server

pytestmark = pytest.mark.browser
REQUIRED = (
    "Two-factor login is required for your account, so it cannot be switched off. To move to a new phone, "
    "set up the new app first; if you lost it, log in with a recovery code or ask an admin."
)


@pytest.fixture(scope="module")
def policy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The policy is one setting for the whole server: these tests change it on a server no other test uses."""
    with private_server("sqlite", tmp_path_factory.mktemp("gatepass-two-factor-policy")) as live:
        yield live


async def test_a_role_that_must_use_two_factors_is_led_through_setup_and_cannot_switch_it_off(
    page: Any, policy_server: LiveServer
) -> None:
    server = policy_server
    server.cli("role", "add", "Finance")
    user = server.create_user(roles=("Finance",))
    server.cli("settings", "set", "two_factor_required", "roles")
    server.cli("settings", "set", "two_factor_roles", "Finance")

    await log_in_with_password(page, server, user)
    assert await page.title() == "Set up two-factor login · Gatepass"
    assert await page.locator("header .who").count() == 0
    await confirm_enrolment(page, server)
    async with page.expect_navigation():
        await page.click("text=I saved them, continue")
    assert page.url == f"{server.url}/"
    assert await page.text_content("header .who") == user["email"]

    await page.goto(f"{server.url}/account/two-factor")
    await page.fill("#remove-proof", user["password"])
    async with page.expect_navigation():
        await page.click("form[action='/account/two-factor/remove'] button")
    assert await alert(page) == REQUIRED
    assert await page.text_content("#recovery-codes-left") == "10"

    # An admin resets the lost phone in the console; the next login sets up a new app.
    admin_page = await page.context.browser.new_page()
    await log_in_with_password(admin_page, server, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, "/admin/users")
    await admin_page.click(f"text={user['email']}")
    async with admin_page.expect_navigation():
        await admin_page.click("text=Reset two-factor login")
    assert "Two-factor login reset" in (await admin_page.text_content("[role=status]") or "")
    await admin_page.close()
    await page.context.clear_cookies()
    await log_in_with_password(page, server, user)
    assert await page.title() == "Set up two-factor login · Gatepass"


async def test_by_default_system_managers_must_use_two_factors_once_one_of_them_does(
    page: Any, policy_server: LiveServer
) -> None:
    server = policy_server
    server.cli("settings", "set", "two_factor_required", "admins")
    other_admin = server.create_user(roles=("System Manager",))
    await log_in_with_password(page, server, other_admin)
    assert page.url == f"{server.url}/"

    await page.context.clear_cookies()
    await log_in_with_password(page, server, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    await page.goto(f"{server.url}/account/two-factor")
    await confirm_enrolment(page, server)

    await page.context.clear_cookies()
    await log_in_with_password(page, server, other_admin)
    assert await page.title() == "Set up two-factor login · Gatepass"

    # The way back in for an admin who lost everything: the command line. With no System Manager left
    # with an app, the default policy covers none of them until one sets one up again.
    result = server.cli("user", "reset-factors", ADMIN_EMAIL)
    assert result.stdout.strip() == (
        f"Reset the second factors of {ADMIN_EMAIL}: at their next login they log in with their password alone."
    )
    await page.context.clear_cookies()
    await log_in_with_password(page, server, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert page.url == f"{server.url}/"
    assert await page.text_content("header .who") == ADMIN_EMAIL


def test_the_policy_settings_refuse_what_they_cannot_mean(policy_server: LiveServer) -> None:
    unknown = policy_server.cli("settings", "set", "two_factor_required", "sometimes", check=False)
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "Error: two_factor_required must be one of admins, roles, everyone, off\n",
    )
    empty = policy_server.cli("settings", "set", "two_factor_roles", " , ", check=False)
    assert (empty.returncode, empty.stderr) == (2, "Error: two_factor_roles needs at least one role name\n")
    tidy = policy_server.cli("settings", "set", "two_factor_roles", " Finance,,System Manager , Finance")
    assert tidy.stdout == "two_factor_roles = Finance, System Manager\n"
