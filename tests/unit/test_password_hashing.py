"""Password hashes: argon2-cffi's production cost outside test mode, the cheapest cost under
PORTAL_ENV=test (tests/conftest.py turns it on), and hashes of either cost verify under
the other, since argon2 stores its parameters in the hash."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from portal.domain.accounts.credentials import hash_password, use_cheap_hashing, verify_password

PASSWORD = "correct horse battery staple"


@pytest.fixture
def production_cost() -> Iterator[None]:
    use_cheap_hashing(False)
    try:
        yield
    finally:
        use_cheap_hashing()  # the rest of the suite runs cheap


def test_outside_test_mode_hashes_use_argon2_cffi_defaults(production_cost):
    parameters = extract_parameters(hash_password(PASSWORD))

    defaults = PasswordHasher()
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        defaults.time_cost,
        defaults.memory_cost,
        defaults.parallelism,
    )
    # argon2-cffi's default is RFC 9106's low-memory profile: 3 passes over 64 MiB, 4 lanes.
    assert parameters == RFC_9106_LOW_MEMORY
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (3, 65536, 4)


def test_test_mode_hashes_are_cheap():
    parameters = extract_parameters(hash_password(PASSWORD))

    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (1, 8, 1)


def test_a_cheap_hash_verifies_at_production_cost_and_the_other_way_round():
    cheap = hash_password(PASSWORD)
    use_cheap_hashing(False)
    try:
        assert verify_password(cheap, PASSWORD)
        assert not verify_password(cheap, "not the password")
        costly = hash_password(PASSWORD)
    finally:
        use_cheap_hashing()
    assert verify_password(costly, PASSWORD)
    assert not verify_password(costly, "not the password")


def test_unknown_account_check_costs_what_the_current_hasher_costs(production_cost):
    # The decoy hash an unknown email is checked against follows the switch, so a
    # sign-in for a missing account stays as slow as one for a real account.
    from portal.domain.accounts import credentials

    assert extract_parameters(credentials._DUMMY_HASH) == RFC_9106_LOW_MEMORY
    use_cheap_hashing()
    assert extract_parameters(credentials._DUMMY_HASH).time_cost == 1
    assert verify_password(None, PASSWORD) is False


def test_the_app_and_the_cli_in_test_mode_hash_cheaply(settings, production_cost, monkeypatch):
    from portal import cli
    from portal.app import create_app

    create_app(settings)
    assert extract_parameters(hash_password(PASSWORD)).time_cost == 1

    use_cheap_hashing(False)
    monkeypatch.setenv("PORTAL_ENV", "test")
    monkeypatch.setenv("PORTAL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PORTAL_VAR_DIR", str(settings.var_dir))
    monkeypatch.setattr(cli, "_setup_logging", lambda settings: None)  # leave pytest's alone
    cli.main(["migrate"])
    assert extract_parameters(hash_password(PASSWORD)).time_cost == 1
