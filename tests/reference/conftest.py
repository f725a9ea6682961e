"""The reference tests' fixtures, defined in ``reference_fixtures``, for every test module here."""

from reference_fixtures import desk_fixture, make_desk_fixture, services_fixture  # noqa: F401
