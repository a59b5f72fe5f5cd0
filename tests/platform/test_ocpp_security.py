"""Issue 8, item 6: the platform link. OCPP 1.6 security profiles 1 (HTTP Basic authentication
over ws://) and 2 (TLS, wss://, with Basic authentication) as the OCPP 1.6 Security Whitepaper
defines them; a second connection with the id of a live charge point refused as a security
event while the live session goes on; no password or key in a log, a record or an error.

Everything runs on loopback. The test makes its own CA and server certificate (the openssl
command line, else the ``cryptography`` package) and its own AuthorizationKey.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from bench.core.clock import Clock
from bench.core.errors import ProfileError
from bench.core.profile import OcppEndpoint, load_profile
from bench.platform.errors import SECURITY_KINDS, PlatformLost, PlatformSecurityError
from bench.platform.log import MessageLog
from bench.platform.ocpp import OcppChannel
from bench.protocols.platform import ocpp_mapping as m
from bench.protocols.platform.loop_thread import LoopThread
from instruments import registry
from instruments.sim.platform.ocpp_charge_point import SimChargePoint
from tests.platform.fake_port import FakePlatformPort
from tests.platform.raw_charge_point import RawChargePoint
from tests.support.transcript import new_clock

ROOT = Path(__file__).resolve().parents[2]
CP_ID = "CP-0001"
KEY_HEX = "5a1f0c9e77d2b4a8e13f6c0b29d85e4a7c3b1f0e"  # 20 bytes: the test's AuthorizationKey
KEY = bytes.fromhex(KEY_HEX)


# -- the test's own certificates and password ------------------------------------------------
@dataclass(frozen=True)
class Credentials:
    folder: Path
    password_file: Path
    ca_file: Path
    certificate_file: Path
    key_file: Path
    other_ca_file: Path  # a CA the server certificate does not come from

    def secrets(self) -> list[str]:
        """Every form the password or the key could leak in."""
        key_body = "".join(line for line in self.key_file.read_text().splitlines() if "-----" not in line)
        header = base64.b64encode(CP_ID.encode() + b":" + KEY).decode()
        return [
            KEY_HEX,
            KEY_HEX.upper(),
            header,
            base64.b64encode(KEY).decode(),
            KEY.decode("latin-1"),
            repr(KEY)[2:-1],
            key_body[40:80],
            key_body[-40:],
        ]


def _openssl(folder: Path) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=30)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench test CA")
    run("req", "-x509", *ec, "-keyout", "other.key", "-out", "other.pem", "-days", "2", "-subj", "/CN=other CA")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    run("pkey", "-in", "server.key", "-aes256", "-passout", "pass:bench", "-out", "encrypted.key")


def _cryptography(folder: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def key_pem(key):
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def cert(subject, issuer, public, signer, ca, extra=()):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        for extension in extra:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    for stem, cn in (("ca", "bench test CA"), ("other", "other CA")):
        key = ec.generate_private_key(ec.SECP256R1())
        (folder / f"{stem}.key").write_bytes(key_pem(key))
        (folder / f"{stem}.pem").write_bytes(cert(name(cn), name(cn), key.public_key(), key, True))
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    server = ec.generate_private_key(ec.SECP256R1())
    (folder / "server.key").write_bytes(key_pem(server))
    (folder / "encrypted.key").write_bytes(
        server.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"bench"),
        )
    )
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    usage = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    (folder / "server.pem").write_bytes(
        cert(name("127.0.0.1"), name("bench test CA"), server.public_key(), ca_key, False, (san, usage))
    )


@pytest.fixture(scope="module")
def creds(tmp_path_factory) -> Credentials:
    folder = tmp_path_factory.mktemp("ocpp-tls")
    if shutil.which("openssl"):
        _openssl(folder)
    else:
        pytest.importorskip("cryptography", reason="neither the openssl command nor the cryptography package")
        _cryptography(folder)
    (folder / "pile.key").write_text(KEY_HEX + "\n")
    return Credentials(
        folder,
        folder / "pile.key",
        folder / "ca.pem",
        folder / "server.pem",
        folder / "server.key",
        folder / "other.pem",
    )


# -- a Central System with a given security profile, and piles to connect to it ----------------
@dataclass
class Rig:
    clock: Clock
    port: FakePlatformPort
    channel: OcppChannel
    log: MessageLog
    creds: Credentials
    closers: list = field(default_factory=list)

    def pile(
        self, password: bytes | None = KEY, ca_file: Path | None = None, charge_point_id: str = CP_ID, **options
    ) -> SimChargePoint:
        cp = SimChargePoint(
            self.port,
            self.clock,
            self.channel.base_url,
            charge_point_id,
            password=m.Secret(password) if password is not None else None,
            ca_file=ca_file or self.creds.ca_file,
            meter_interval_s=5.0,
            **options,
        )
        self.closers.append(cp.close)
        return cp

    def connected(self, **options) -> SimChargePoint:
        cp = self.pile(**options)
        cp.connect()
        self.channel.wait_connected(5.0)
        return cp

    def notes(self) -> str:
        return "\n".join(r.text for r in self.log.records if r.direction == "note")

    def assert_no_secret(self, *texts: str) -> None:
        everything = "\n".join([self.log.text(), *texts])
        for secret in self.creds.secrets():
            assert secret not in everything, f"a secret ({secret[:6]}…) leaked"


@pytest.fixture
def rig(creds):
    rigs: list[Rig] = []

    def build(security_profile: int = 2, **options) -> Rig:
        clock = new_clock()
        endpoint = OcppEndpoint(
            "127.0.0.1",
            0,
            CP_ID,
            security_profile,
            creds.password_file if security_profile >= 1 else None,
            creds.certificate_file if security_profile == 2 else None,
            creds.key_file if security_profile == 2 else None,
        )
        log = MessageLog()
        channel = OcppChannel(endpoint, clock, log, rated_power_w=60_000.0, call_timeout_s=3.0, **options)
        rigs.append(Rig(clock, FakePlatformPort(clock), channel, log, creds))
        return rigs[-1]

    yield build
    for built in rigs:
        for close in reversed(built.closers):
            close()
        built.channel.close()


def security_event(rig: Rig, kind: str) -> PlatformSecurityError:
    assert kind in SECURITY_KINDS
    events = [e for e in rig.channel.security_events if e.kind == kind]
    assert events, f"no {kind} security event: {rig.channel.security_events}"
    assert f"error: PlatformSecurityError: {kind}: security event:" in rig.notes()
    return events[-1]


# -- a second connection with the id of a live charge point ------------------------------------
@pytest.mark.parametrize("security_profile", [0, 2])
def test_a_second_connection_for_a_live_charge_point_is_refused_and_the_session_kept(rig, security_profile):
    bench = rig(security_profile)
    bench.connected()
    bench.channel.start()
    bench.clock.sleep(3.0)  # the pile starts: StartTransaction, transaction 1
    assert bench.channel.transaction_id == 1
    intruder = bench.pile()  # the right id (and, under profile 2, the right password)
    with pytest.raises(ConnectionRefusedError, match="HTTP 409"):
        intruder.connect()
    if security_profile == 0:  # a bare client would send StopTransaction if it got in: it does not
        raw = RawChargePoint(bench.channel.url)
        try:
            with pytest.raises(websockets.InvalidStatus, match="409"):
                raw.connect()
        finally:
            raw._loop.stop()
    event = security_event(bench, "duplicate_connection")
    assert "the live session (from 127.0.0.1) answered a ping and is kept" in str(event)
    assert bench.channel.errors == []  # a security event, not an error of the pile under test
    # the live session is untouched: a command after the intrusion reaches the same pile
    assert bench.channel.connected and bench.channel.transaction_id == 1
    assert bench.channel.realtime().state == "charging"
    bench.channel.stop()
    bench.clock.sleep(3.0)
    assert [name for _, name, _ in bench.port.calls] == ["start", "stop"]
    assert [e.kind for e in bench.channel.events()] == ["start", "stop"]  # the live pile's own stop only
    bench.assert_no_secret(str(event))


def test_a_live_connection_that_no_longer_answers_gives_way(rig):
    """A dead link the bench has not noticed (no pong): the reconnecting pile takes over."""
    bench = rig(0, liveness_probe_s=0.3)
    stale = RawChargePoint(bench.channel.url, {"RemoteStartTransaction": lambda uid: [3, uid, {"status": "Accepted"}]})
    stale.connect()
    try:
        bench.channel.wait_connected(5.0)
        stale._loop.loop.call_soon_threadsafe(stale._websocket.transport.pause_reading)  # deaf: no pong
        started = time.monotonic()
        bench.connected()
        assert time.monotonic() - started < 3.0
        assert "did not answer a ping within 0.3 s; closed it for the new connection from 127.0.0.1" in bench.notes()
        bench.channel.start()
        assert [name for _, name, _ in bench.port.calls] == ["start"]  # the new connection got it
        assert bench.channel.errors == [] and bench.channel.security_events == []
    finally:
        stale._loop.stop()


# -- security profile 1: HTTP Basic authentication ---------------------------------------------
def test_profile_1_the_right_password_gets_in(rig):
    bench = rig(1)
    assert bench.channel.url.startswith("ws://")
    bench.connected()
    bench.channel.start()
    assert [name for _, name, _ in bench.port.calls] == ["start"]
    assert "HTTP Basic authentication over ws:// (security profile 1)" in bench.notes()
    bench.assert_no_secret()


@pytest.mark.parametrize(
    "case, kind",
    [
        ("wrong password", "wrong_password"),
        ("no password", "no_credentials"),
        ("hex digits", "password_as_hex"),
        ("wrong username", "wrong_username"),
        ("not basic", "malformed_credentials"),
        ("not base64", "malformed_credentials"),
    ],
)
def test_profile_1_bad_credentials_are_refused_and_logged(rig, case, kind):
    bench = rig(1)
    header = {
        "wrong password": m.basic_auth_header(CP_ID, m.Secret(b"\x00" * 20)),
        "no password": None,
        "hex digits": "Basic " + base64.b64encode(f"{CP_ID}:{KEY_HEX}".encode()).decode(),
        "wrong username": "Basic " + base64.b64encode(b"CP-9:" + KEY).decode(),
        "not basic": "Bearer " + KEY_HEX,
        "not base64": "Basic ###" + KEY_HEX,
    }[case]
    refused = _connect_raw(bench.channel.url, header)
    assert "HTTP 401" in refused
    error = security_event(bench, kind)
    assert f"refused charge point '{CP_ID}' from 127.0.0.1 (HTTP 401)" in str(error)
    # no pile is connected: it is most likely the pile under test, so the bench says so at once
    started = time.monotonic()
    with pytest.raises(PlatformSecurityError) as caught:
        bench.channel.wait_connected(5.0)
    assert time.monotonic() - started < 1.0 and caught.value is error
    bench.assert_no_secret(str(error), refused, repr(error))


def test_profile_1_a_wrong_password_while_the_pile_is_connected_disturbs_nothing(rig):
    bench = rig(1)
    bench.connected()
    with pytest.raises(ConnectionRefusedError, match=r"HTTP 401 \(wrong or missing credentials\)"):
        bench.pile(password=b"\x11" * 16).connect()
    error = security_event(bench, "wrong_password")
    bench.channel.start()  # not raised: the live session goes on
    assert [name for _, name, _ in bench.port.calls] == ["start"]
    bench.assert_no_secret(str(error))


def _connect_raw(url: str, authorization: str | None, tls=None) -> str:
    """Connect with exactly this Authorization header; the refusal's text (or '' if accepted)."""
    loop = LoopThread("raw-basic")

    async def attempt():
        headers = {"Authorization": authorization} if authorization is not None else {}
        async with websockets.connect(
            url, subprotocols=[m.SUBPROTOCOL], additional_headers=headers, proxy=None, ssl=tls, open_timeout=5
        ):
            return ""

    try:
        return loop.run(attempt(), 10.0)
    except websockets.InvalidStatus as exc:
        return str(exc)
    finally:
        loop.stop()


# -- security profile 2: TLS ----------------------------------------------------------------------
class OcppPackageClient(ChargePoint):
    """The ocpp package's own charge point, as a lab's OCPP tool would use it."""

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag, connector_id=None, charging_profile=None):
        return call_result.RemoteStartTransaction(status="Accepted")


def test_profile_2_the_ocpp_package_client_over_wss(rig, creds):
    import ssl

    bench = rig(2)
    assert bench.channel.url == f"wss://127.0.0.1:{bench.channel.port}/{CP_ID}"
    loop = LoopThread("ocpp-package-client")
    tls = ssl.create_default_context(cafile=str(creds.ca_file))
    state = {}

    async def session():
        websocket = await websockets.connect(
            bench.channel.url,
            subprotocols=[m.SUBPROTOCOL],
            ssl=tls,
            proxy=None,
            additional_headers={"Authorization": m.basic_auth_header(CP_ID, m.Secret(KEY))},
        )
        state["tls"] = websocket.transport.get_extra_info("ssl_object").version()
        client = OcppPackageClient(CP_ID, websocket)
        state["websocket"], state["task"] = websocket, asyncio.get_running_loop().create_task(client.start())
        return await client.call(call.BootNotification(charge_point_vendor="Lab", charge_point_model="Tool"))

    try:
        boot = loop.run(session(), 10.0)
        assert boot.status == "Accepted"
        bench.channel.wait_connected(5.0)
        assert state["tls"] in ("TLSv1.2", "TLSv1.3")
        assert bench.channel.boot["vendor"] == "Lab"
        bench.channel.start()  # and the other way: a command over the same TLS link
        assert f"charge point '{CP_ID}' connected (subprotocol ocpp1.6, {state['tls']})" in bench.notes()
        frames = [json.loads(r.text) for r in bench.log.records if r.direction != "note"]
        assert [f[2] for f in frames if f[0] == 2] == ["BootNotification", "RemoteStartTransaction"]
    finally:
        if "websocket" in state:
            loop.run(state["websocket"].close(), 5.0)
        loop.stop()
    # a wrong password over TLS: refused and logged
    refused = _connect_raw(bench.channel.url, m.basic_auth_header(CP_ID, m.Secret(b"\x01" * 20)), tls)
    assert "HTTP 401" in refused
    security_event(bench, "wrong_password")
    bench.assert_no_secret(refused)


def test_profile_2_the_simulated_pile_over_wss(rig):
    bench = rig(2)
    pile = bench.connected()
    bench.channel.start()
    bench.clock.sleep(3.0)
    assert any(e.kind == "start" for e in bench.channel.events())
    assert pile.errors == []
    bench.assert_no_secret(*pile.errors)


def test_profile_2_refuses_what_is_not_tls(rig):
    bench = rig(2)
    plain = bench.channel.url.replace("wss://", "ws://")
    with pytest.raises(ConnectionError, match="cannot connect"):
        SimChargePoint(bench.port, bench.clock, plain.rsplit("/", 1)[0], CP_ID, password=m.Secret(KEY)).connect(2.0)
    with pytest.raises(PlatformLost, match="security profile 2: the Central System speaks TLS only"):
        bench.channel.wait_connected(0.3)


def test_profile_2_a_pile_that_does_not_trust_the_certificate_stays_out(rig, creds):
    bench = rig(2)
    with pytest.raises(ConnectionError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        bench.pile(ca_file=creds.other_ca_file).connect(2.0)
    assert not bench.channel.connected


# -- a conformance run on profile 2, and no secret anywhere in what it writes ------------------
def test_a_conformance_run_on_profile_2_writes_no_secret(tmp_path, creds):
    """The platform cases of the suite, in a child process as a lab runs them, over wss:// with
    Basic authentication; then every file of the run (platform.log, summary.json, checks,
    the Allure results and attachments) is searched for the password and the key."""
    from tests.support.runs import pytest_command

    for name in ("pile.key", "server.pem", "server.key", "ca.pem"):
        shutil.copy(creds.folder / name, tmp_path / name)
    text = (ROOT / "profiles" / "sim-ac-7kw-ocpp.toml").read_text(encoding="utf-8").replace('"../', f'"{ROOT}/')
    marker = "[dut.ocpp]\n"
    assert marker in text
    text = text.replace(
        marker,
        marker + 'security_profile = 2\npassword_file = "pile.key"\n'
        'certificate_file = "server.pem"\nkey_file = "server.key"\n'
        'ca_file = "ca.pem"\n',
    )
    profile_path = tmp_path / "sim-ac-7kw-ocpp-tls.toml"
    profile_path.write_text(text, encoding="utf-8")
    profile = load_profile(profile_path, registry.transports())
    assert profile.dut.ocpp.security_profile == 2 and KEY_HEX not in repr(profile)
    reports = tmp_path / "reports"
    command = pytest_command(profile_path, reports, "tls-run", "--grid", "quick")
    command[command.index("testcases")] = "testcases/platform"
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    run_dir = reports / "tls-run" / profile_path.stem
    log = (run_dir / "platform.log").read_text(encoding="utf-8")
    assert "TLS and HTTP Basic authentication (security profile 2)" in log and ", TLSv1." in log
    written = [path for path in reports.rglob("*") if path.is_file()]
    assert any(path.name == "summary.json" for path in written)
    assert any("attachment" in path.name for path in written), "no Allure attachment written"
    for path in [*written, None]:
        data = path.read_bytes() if path is not None else (done.stdout + done.stderr).encode()
        for secret in creds.secrets():
            assert secret.encode("latin-1") not in data, f"{path.name if path else 'the output'} holds a secret"


# -- the profile keys ----------------------------------------------------------------------------
def _profile_with(tmp_path: Path, creds: Credentials, lines: str, password: str | None = None) -> Path:
    for name in ("server.pem", "server.key", "ca.pem", "other.pem", "encrypted.key"):
        shutil.copy(creds.folder / name, tmp_path / name)
    (tmp_path / "pile.key").write_text(password if password is not None else KEY_HEX)
    (tmp_path / "other.key").write_text((creds.folder / "other.key").read_text())
    text = (ROOT / "profiles" / "sim-ac-7kw-ocpp.toml").read_text(encoding="utf-8").replace('"../', f'"{ROOT}/')
    path = tmp_path / "p.toml"
    path.write_text(text.replace("[dut.ocpp]\n", "[dut.ocpp]\n" + lines + "\n"), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "lines, password, key, expected",
    [
        (
            "security_profile = 1",
            None,
            "password_file",
            "missing; security_profile = 1 needs a file with the charge point's AuthorizationKey",
        ),
        (
            'password_file = "pile.key"',
            None,
            "password_file",
            "only used with security_profile = 1 or 2 (security_profile is 0)",
        ),
        (
            'security_profile = 1\npassword_file = "pile.key"',
            "not-a-hex-key-but-32-characters!",
            "password_file",
            "not hexadecimal digits",
        ),
        ('security_profile = 1\npassword_file = "pile.key"', "00112233", "password_file", "the file holds 8 digits"),
        (
            'security_profile = 1\npassword_file = "pile.key"\ncertificate_file = "server.pem"',
            None,
            "certificate_file",
            "only used with security_profile = 2",
        ),
        ('security_profile = 2\npassword_file = "pile.key"', None, "certificate_file", "missing; security_profile = 2"),
        (
            'security_profile = 2\npassword_file = "pile.key"\ncertificate_file = "server.pem"\nkey_file = "other.key"',
            None,
            "key_file",
            "that belong together",
        ),
        (
            'security_profile = 2\npassword_file = "pile.key"\ncertificate_file = "server.pem"\nkey_file = "server.key"\n'
            'ca_file = "pile.key"',
            None,
            "ca_file",
            "PEM certificates a charge point can trust",
        ),
        (
            'security_profile = 2\npassword_file = "pile.key"\ncertificate_file = "server.pem"\nkey_file = "encrypted.key"',
            None,
            "key_file",
            "an unencrypted PEM private key; this one asks for a passphrase",
        ),
        ("security_profile = 3", None, "security_profile", "expected one of 0, 1, 2, got 3"),
        ('security_profile = 1\npassword_file = "nowhere.key"', None, "password_file", "an existing file"),
        ("max_frame_bytes = 10", None, "max_frame_bytes", "expected an integer in 1024 … 16777216"),
    ],
)
def test_security_keys_give_one_line_profile_errors(tmp_path, creds, lines, password, key, expected):
    path = _profile_with(tmp_path, creds, lines, password)
    with pytest.raises(ProfileError) as caught:
        load_profile(path, registry.transports())
    text = str(caught.value)
    assert "\n" not in text and str(path) in text and f"dut.ocpp.{key}" in text, text
    assert expected in text, text
    assert "not-a-hex" not in text and "00112233" not in text  # a password file is never quoted


def test_a_colon_in_the_charge_point_id_cannot_be_a_basic_username(tmp_path, creds):
    path = _profile_with(tmp_path, creds, 'security_profile = 1\npassword_file = "pile.key"')
    path.write_text(path.read_text().replace('charge_point_id = "', 'charge_point_id = "A:'), encoding="utf-8")
    with pytest.raises(ProfileError, match="dut.ocpp.charge_point_id: no ':' with security_profile 1 or 2"):
        load_profile(path, registry.transports())


def test_the_profile_keeps_file_names_only(tmp_path, creds):
    path = _profile_with(
        tmp_path,
        creds,
        'security_profile = 2\npassword_file = "pile.key"\ncertificate_file = "server.pem"\nkey_file = "server.key"',
    )
    ocpp = load_profile(path, registry.transports()).dut.ocpp
    assert (ocpp.security_profile, ocpp.password_file, ocpp.ca_file) == (2, tmp_path / "pile.key", None)
    assert KEY_HEX not in repr(ocpp) and repr(m.read_authorization_key(ocpp.password_file)) == "<secret>"
