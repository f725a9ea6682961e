"""The reference tests' fixtures, defined in ``reference_fixtures``, for every test module here."""

from reference_fixtures import make_services_fixture, services_fixture  # noqa: F401 - fixtures
