"""External clusters from Temporal's environment configuration: precedence and bad input.

The loader is temporalio's own (``temporalio.envconfig``); these tests pin how our settings
lie over what it finds, and that no message shows a secret. The end-to-end runs against a
real dev server are in test_envconfig_cluster.py and test_envconfig_tls.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_temporal_agents import TemporalConfigError
from pytest_temporal_agents.harness import resolve_settings
from pytest_temporal_agents.servers import EXTERNAL, ServerConfig, resolve_connection

KEY = "tak-very-secret-0123456789"

PROFILES = f"""\
[profile.default]
address = "default-host:7233"
namespace = "from-default-profile"

[profile.prod]
address = "prod-host:7233"
namespace = "prod-ns"
api_key = "{KEY}"

[profile.mtls]
address = "mtls-host:7233"

[profile.mtls.tls]
client_cert_path = "CERT"
client_key_path = "KEY"
"""


def settings(environ: dict[str, str], **options: str) -> ServerConfig:
    return resolve_settings(options.get, lambda _: None, environ).server


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nnot checked here\n")
    (tmp_path / "key.pem").write_text(f"-----BEGIN PRIVATE KEY-----\n{KEY}\n")
    path = tmp_path / "temporal.toml"
    path.write_text(PROFILES.replace("CERT", str(tmp_path / "cert.pem")).replace('"KEY"', f'"{tmp_path / "key.pem"}"'))
    return path


class TestWhichCluster:
    def test_external_takes_the_cluster_temporal_address_names(self) -> None:
        environ = {"TEMPORAL_ADDRESS": "env-host:7233"}
        assert settings(environ).env == "time-skipping"  # never chosen by the variable alone
        server = settings(environ, temporal_env="external")
        assert server.env == EXTERNAL
        connection = resolve_connection(server, environ)
        assert (connection.address, connection.namespace) == ("env-host:7233", "default")
        assert connection.address_source == "TEMPORAL_ADDRESS"
        assert connection.tls is False

    def test_command_line_and_ini_beat_the_environment(self) -> None:
        environ = {"TEMPORAL_ADDRESS": "env-host:7233", "TEMPORAL_NAMESPACE": "env-ns"}
        assert settings(environ, temporal_env="time-skipping").env == "time-skipping"
        ini = {"temporal_env": "ini-host:7233"}
        server = resolve_settings(lambda _: None, ini.get, environ).server
        connection = resolve_connection(server, environ)
        assert connection.address == "ini-host:7233"
        assert connection.namespace == "env-ns"  # not given on the command line or in the ini
        connection = resolve_connection(settings(environ, temporal_namespace="cli-ns"), environ)
        assert (connection.namespace, connection.namespace_source) == ("cli-ns", "--temporal-namespace")

    def test_the_default_profile_of_the_config_file(self, config_file: Path) -> None:
        environ = {"TEMPORAL_CONFIG_FILE": str(config_file)}
        connection = resolve_connection(settings(environ, temporal_env="external"), environ)
        assert (connection.address, connection.namespace) == ("default-host:7233", "from-default-profile")
        assert connection.address_source == f"profile 'default' of {config_file}"

    def test_a_profile_by_variable_and_by_option(self, config_file: Path) -> None:
        environ = {"TEMPORAL_CONFIG_FILE": str(config_file), "TEMPORAL_PROFILE": "prod"}
        connection = resolve_connection(settings(environ, temporal_env="external"), environ)
        assert (connection.address, connection.namespace, connection.api_key) == ("prod-host:7233", "prod-ns", KEY)
        assert connection.tls is True  # an API key means TLS, as the SDK's loader says
        by_option = settings(environ, temporal_env="external", temporal_profile="default")
        assert resolve_connection(by_option, environ).address == "default-host:7233"

    def test_environment_variables_beat_the_profile(self, config_file: Path) -> None:
        environ = {
            "TEMPORAL_CONFIG_FILE": str(config_file),
            "TEMPORAL_PROFILE": "prod",
            "TEMPORAL_ADDRESS": "env-host:1234",
            "TEMPORAL_TLS": "false",
        }
        connection = resolve_connection(settings(environ, temporal_env="external"), environ)
        assert connection.address == "env-host:1234"
        assert connection.tls is False  # TEMPORAL_TLS=false wins over the API key's default

    def test_tls_material_from_the_profile_and_from_options(self, config_file: Path, tmp_path: Path) -> None:
        environ = {"TEMPORAL_CONFIG_FILE": str(config_file), "TEMPORAL_PROFILE": "mtls"}
        connection = resolve_connection(settings(environ, temporal_env="external"), environ)
        assert connection.tls.client_cert.startswith(b"-----BEGIN CERTIFICATE")
        assert connection.tls_summary() == "mTLS"
        other = tmp_path / "other-cert.pem"
        other.write_text("-----BEGIN CERTIFICATE-----\nfrom the option\n")
        server = settings(environ, temporal_env="external", temporal_tls_cert=str(other))
        connection = resolve_connection(server, environ)
        assert b"from the option" in connection.tls.client_cert
        assert connection.tls_sources == ("--temporal-tls-cert", "TEMPORAL_TLS_* or the profile's tls table")


class TestSecretsAreNeverShown:
    def test_descriptions_and_reprs(self, config_file: Path) -> None:
        environ = {"TEMPORAL_CONFIG_FILE": str(config_file), "TEMPORAL_PROFILE": "prod"}
        connection = resolve_connection(settings(environ, temporal_env="external"), environ)
        assert connection.describe() == "prod-host:7233 (namespace 'prod-ns', TLS, API key set; from profile 'prod' of " + f"{config_file})"
        for text in (connection.describe(), repr(connection), repr(settings(environ, temporal_api_key=KEY))):
            assert KEY not in text

    def test_a_toml_error_does_not_quote_the_line_with_the_key(self, tmp_path: Path) -> None:
        bad = tmp_path / "temporal.toml"
        bad.write_text(f'[profile.default]\napi_key = "{KEY}" oops\n')
        environ = {"TEMPORAL_CONFIG_FILE": str(bad)}
        with pytest.raises(TemporalConfigError) as caught:
            resolve_connection(settings(environ, temporal_env="external"), environ)
        message = str(caught.value)
        assert "TOML parse error at line 2" in message
        assert "Fix: correct the file" in message
        assert KEY not in message


class TestBadInput:
    def test_external_with_no_address_anywhere(self) -> None:
        with pytest.raises(TemporalConfigError, match="neither --temporal-env, TEMPORAL_ADDRESS nor the environment") as caught:
            resolve_connection(settings({}, temporal_env="external"), {"TEMPORAL_CONFIG_FILE": ""})
        assert "export TEMPORAL_ADDRESS=HOST:PORT" in str(caught.value)

    def test_an_unknown_profile(self, config_file: Path) -> None:
        environ = {"TEMPORAL_CONFIG_FILE": str(config_file)}
        with pytest.raises(TemporalConfigError) as caught:
            resolve_connection(settings(environ, temporal_env="external", temporal_profile="staging"), environ)
        assert "Profile 'staging' not found" in str(caught.value)
        assert "choose a profile the file defines (`temporal config list`), or unset --temporal-profile" in str(caught.value)

    def test_a_config_file_that_does_not_exist(self, tmp_path: Path) -> None:
        environ = {"TEMPORAL_CONFIG_FILE": str(tmp_path / "nope.toml")}
        with pytest.raises(TemporalConfigError, match="TEMPORAL_CONFIG_FILE names the environment configuration file"):
            resolve_connection(settings(environ, temporal_env="external"), environ)

    def test_an_unreadable_tls_file_from_the_environment(self, tmp_path: Path) -> None:
        environ = {"TEMPORAL_ADDRESS": "h:1", "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "missing.key")}
        with pytest.raises(TemporalConfigError) as caught:
            resolve_connection(settings(environ, temporal_env="external"), environ)
        assert "Cannot read the file named by TEMPORAL_TLS_* or the profile's tls table" in str(caught.value)
        assert "missing.key" in str(caught.value) and "client key" in str(caught.value)

    def test_external_is_a_valid_env_and_bogus_is_not(self) -> None:
        assert settings({}, temporal_env="external").env == EXTERNAL
        with pytest.raises(TemporalConfigError, match="or 'external': the cluster TEMPORAL_ADDRESS"):
            settings({}, temporal_env="bogus")


def test_temporal_address_alone_never_moves_the_tests_off_the_embedded_server() -> None:
    """A shell exporting TEMPORAL_ADDRESS for the `temporal` CLI (perhaps production) must not
    send test workflows there: only --temporal-env=external (or the ini) does."""
    from pytest_temporal_agents.harness import resolve_settings

    settings = resolve_settings(
        option=lambda name: None, ini=lambda name: None, environ={"TEMPORAL_ADDRESS": "prod:7233"}
    )
    assert settings.server.env == "time-skipping"
