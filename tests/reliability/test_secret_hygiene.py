"""Secret hygiene: the raw keys appear nowhere SMP writes or answers.

The CLI flow: connect, sync (with a revoked key and faults, so errors are
produced), read outs, exports, all with DEBUG logging; then the database file
(and its WAL), every output, every export file and every log line are
searched for each raw key and its secret part.

The API and UI flow, against a real `smp serve --log-level debug`: connect
through the API and the Integrate form (good, revoked, useless, cut-short
keys, a key pasted in the wrong field), sync, a sync with faults and a key
revoked, every API read and export, every page; then every answer (status,
headers, body), the server's whole log, and the database file and WAL
(while serving and after) are searched the same way. XLSX files are searched
inside their zip.

A key where a name belongs: real `smp` processes given a key (whole, cut short,
its secret alone, a master key) as the value of every option that takes a
variable's or a file's name, and as an integration's name or a label. Each is
refused with exit 2, and stdout and stderr hold nothing of the key after
`SG.<key id>`. A variable that is not set is said to be so, not a bad key.
"""

from __future__ import annotations

import io
import logging
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.app import PASSWORD, make_users
from tests.support.figures import record
from tests.support.routes import app_routes
from tests.support.serving import Served, SmpHome
from tests.support.simulator import serve_simulator
from tests.support.web import csrf_of
from typer.testing import CliRunner

from smp.cli.main import app
from smp.services.exports import Dataset
from smp.simulator import FaultRule, Simulator, World, generate_world
from smp.storage import generate_key, make_engine, migrate


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[World, str, Simulator]]:
    monkeypatch.setenv("SMP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SMP_DATABASE_URL", raising=False)
    monkeypatch.delenv("SMP_SECRET_KEY", raising=False)
    world = generate_world(seed=31, accounts=1, teammates=10, subusers=2)
    for key in world.keys:
        monkeypatch.setenv(f"SG_{key.kind.upper()}", key.key)
    sim = Simulator(world, rate_limit=None)
    with serve_simulator(sim) as base_url:
        yield world, base_url, sim


@pytest.mark.loopback
def test_no_raw_key_anywhere(
    served: tuple[World, str, Simulator],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    world, base_url, sim = served
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    outputs: list[str] = []

    def smp(*args: str) -> None:
        result = runner.invoke(app, list(args))
        outputs.append(result.output + repr(result.exception))

    name = "Hygiene ✓"
    smp(
        "connect",
        "sendgrid",
        name,
        "--key-env",
        "SG_FULL",
        "--billing-key-env",
        "SG_BILLING",
        "--confirm-billing-account",
        "--base-url",
        base_url,
        "--json",
    )
    smp(
        "connect",
        "sendgrid",
        "revoked",
        "--key-env",
        "SG_REVOKED",
        "--base-url",
        base_url,
    )
    smp(
        "connect",
        "sendgrid",
        "broken",
        "--key-env",
        "SG_VALIDATION",
        "--base-url",
        base_url,
    )
    smp("sync", name, "--json")
    sim.add_fault(
        FaultRule(kind="status", status=502, html=True, path="/v3/stats", count=2)
    )
    # Once: a body cut short is fetched again, and every try sleeps for real.
    sim.add_fault(FaultRule(kind="truncated_json", path="/v3/teammates", count=1))
    sim.add_fault(FaultRule(kind="revoke_after", after=0, path="/v3/billing/*"))
    smp("sync", name, "--json")
    smp("sync", name)
    for command in ("members", "invoices", "usage", "history"):
        smp(command, name, "--json")
    smp("service-account", "list", name, "--json")
    out = tmp_path / "exports"
    smp("export", name, "--format", "csv", "--out", str(out))
    smp("export", name, "--format", "xlsx", "--out", str(out))
    assert any("needs_attention" in o for o in outputs), outputs[-1]

    haystacks = {f"output {i}": o.encode() for i, o in enumerate(outputs)}
    haystacks["log"] = caplog.text.encode()
    home = tmp_path / "home"
    for path in [*home.glob("smp.db*"), *out.rglob("*")]:
        if path.is_file():
            haystacks[str(path)] = unzipped(path.read_bytes())
    assert any(p.endswith(".xlsx") for p in haystacks)
    needles = set()
    for key in world.keys:
        needles |= {key.key, key.key.split(".")[2]}
    found = [
        (where, needle[:6])
        for where, data in haystacks.items()
        for needle in needles
        if needle.encode() in data
    ]
    assert found == []


def unzipped(data: bytes) -> bytes:
    """An XLSX file's parts as they are inside it: a zip's bytes hide any text."""
    if not data.startswith(b"PK\x03\x04"):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"\n".join(archive.read(name) for name in archive.namelist())


# --- the API and the web UI, against a real `smp serve` at DEBUG -----------------


class Recorder:
    """Every answer's status line, headers and body, kept for the search."""

    def __init__(self) -> None:
        self.seen: dict[str, bytes] = {}
        self.pages = 0

    def keep(self, what: str, answer: httpx.Response) -> httpx.Response:
        head = f"{answer.status_code} {answer.headers!r}\n".encode()
        self.seen[f"{len(self.seen)} {what}"] = head + unzipped(answer.content)
        self.pages += "text/html" in answer.headers.get("content-type", "")
        return answer


def _wait_idle(api: httpx.Client, iid: int, runs: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = api.get("/api/v1/sync-runs", params={"integration": iid}).json()
        if found["total"] >= runs and all(r["finished_at"] for r in found["items"]):
            return dict(found["items"][0])
        time.sleep(0.1)
    raise AssertionError("the sync did not finish")


@pytest.mark.loopback
def test_no_raw_key_anywhere_over_the_api_and_ui(tmp_path: Path) -> None:
    world = generate_world(seed=32, accounts=1, teammates=10, subusers=2)
    key = {k.kind: k.key for k in world.keys}
    home = SmpHome(tmp_path / "home")
    home.folder.mkdir()
    engine = make_engine(home.url)
    migrate(engine)
    admin, _viewer, token, viewer_token = make_users(engine)
    engine.dispose()
    sim = Simulator(world, rate_limit=None)
    rec = Recorder()
    with (
        serve_simulator(sim) as sim_url,
        home.serve(
            "--no-scheduler", "--sendgrid-url", sim_url, "--log-level", "debug"
        ) as served,
        served.client(headers={"Authorization": f"Bearer {token}"}) as api,
    ):
        iid = _api_flow(api, rec, key)
        _ui_flow(served, rec, key, admin, iid)
        # Errors mid-sync: an HTML 502, truncated JSON, the billing key revoked.
        # Once each: retried and logged, with no real-time backoff to sit out.
        sim.add_fault(
            FaultRule(kind="status", status=502, html=True, path="/v3/stats", count=1)
        )
        sim.add_fault(FaultRule(kind="truncated_json", path="/v3/teammates", count=1))
        sim.add_fault(FaultRule(kind="revoke_after", after=0, path="/v3/billing/*"))
        rec.keep("sync", api.post("/api/v1/sync-runs", json={"integration_id": iid}))
        run = _wait_idle(api, iid, 2)
        assert run["outcome"] == "failed", run
        accounts = rec.keep(
            "keys", api.get("/api/v1/service-accounts", params={"integration": iid})
        ).json()["items"]
        assert "needs_attention" in {a["status"] for a in accounts}
        review = {"name": "Hygiene review", "integrations": [str(iid)]}
        campaign = rec.keep("review", api.post("/api/v1/reviews", json=review))
        assert campaign.status_code == 201, campaign.text
        _read_everything(api, rec, iid)
        with served.client(headers={"Authorization": f"Bearer {viewer_token}"}) as v:
            _read_everything(v, rec, iid)
        while_running = {p.name: p.read_bytes() for p in home.folder.glob("smp.db*")}
    assert any(name.endswith("-wal") for name in while_running), while_running
    log = served.log()
    assert "Traceback" not in log  # no exception escaped, with or without a key
    assert " DEBUG " in f" {log}" or "DEBUG " in log  # the server logged at DEBUG
    haystacks = dict(rec.seen)
    haystacks["server log"] = log.encode()
    for name, data in while_running.items():
        haystacks[f"{name} (running)"] = data
    for path in home.folder.glob("smp.db*"):
        haystacks[f"{path.name} (stopped)"] = path.read_bytes()
    needles = {secret for raw in key.values() for secret in (raw, raw.split(".")[2])}
    found = [
        (where, needle[:6])
        for where, data in haystacks.items()
        for needle in needles
        if needle.encode() in data
    ]
    assert found == [], "\n".join(map(str, found))
    record(
        "secret_hygiene_api_ui",
        {
            "answers": len(rec.seen),
            "html_pages": rec.pages,
            "bytes_searched": sum(len(d) for d in haystacks.values()),
            "keys": len(key),
            "occurrences": len(found),
        },
    )


def _api_flow(api: httpx.Client, rec: Recorder, key: dict[str, str]) -> int:
    created = rec.keep(
        "connect",
        api.post(
            "/api/v1/integrations",
            json={
                "name": "Hygiene API",
                "keys": [
                    {"label": "full", "key": f"  {key['full']}\n"},
                    {"label": "billing", "key": key["billing"], "slot": "billing"},
                ],
                "billing_account_confirmed": True,
            },
        ),
    )
    assert created.status_code == 201, created.text
    iid = int(created.json()["integration"]["id"])
    _wait_idle(api, iid, 1)
    for bad in ("revoked", "validation"):
        refused = rec.keep(
            f"connect {bad}",
            api.post(
                "/api/v1/integrations",
                json={"name": f"bad {bad}", "keys": [{"label": bad, "key": key[bad]}]},
            ),
        )
        # A revoked key is refused; a validation-only key belongs in Service settings.
        assert refused.status_code == 422, refused.text
    added = rec.keep(
        "add revoked",
        api.post(
            "/api/v1/service-accounts",
            json={"integration_id": iid, "label": "x", "key": key["revoked"]},
        ),
    )
    assert added.status_code == 422, added.text
    # A key in the wrong field, and one cut short: refused without echoing it.
    for body in (
        {"name": key["full"], "keys": []},
        {"name": "cut", "keys": [{"label": "cut", "key": key["full"][:-1]}]},
        {"name": "label", "keys": [{"label": key["billing"], "key": key["billing"]}]},
    ):
        odd = rec.keep("odd body", api.post("/api/v1/integrations", json=body))
        assert odd.status_code == 422, odd.text
    return iid


def _ui_flow(
    served: Served, rec: Recorder, key: dict[str, str], admin: str, iid: int
) -> None:
    with served.client() as browser:
        form = rec.keep("login page", browser.get("/login"))
        rec.keep(
            "login",
            browser.post(
                "/login",
                data={
                    "username": admin,
                    "password": PASSWORD,
                    "csrf_token": csrf_of(form.text),
                },
            ),
        )
        page = rec.keep("integrate form", browser.get("/integrations/sendgrid/new"))
        csrf = csrf_of(page.text)
        for name, access, billing in (
            ("UI revoked", key["revoked"], ""),
            ("UI bad billing", key["full"], key["revoked"]),
            ("UI cut", key["full"][:-2], ""),
            (key["full"], key["full"], ""),  # a key pasted into the name too
            ("UI good", key["full"], key["billing"]),
        ):
            rec.keep(
                f"integrate {name}",
                browser.post(
                    "/integrations/sendgrid",
                    data={
                        "name": name,
                        "access_token": access,
                        "billing_token": billing,
                        "csrf_token": csrf,
                    },
                ),
            )
        rec.keep(
            "add key",
            browser.post(
                f"/integrations/{iid}/service-accounts",
                data={"label": "v", "key": key["validation"], "csrf_token": csrf},
            ),
        )
        as_label = rec.keep(
            "key as label",
            browser.post(
                f"/integrations/{iid}/service-accounts",
                data={"label": key["full"], "key": key["full"], "csrf_token": csrf},
            ),
        )
        assert as_label.status_code == 422
        assert "it belongs in a key field" in as_label.text
        for path in (
            "/integrations",
            f"/integrations/{iid}",
            f"/integrations/{iid}/settings",
            "/users",
            "/docs",
            "/openapi.json",
        ):
            rec.keep(f"page {path}", browser.get(path))
        for dataset in Dataset:
            for fmt in ("csv", "xlsx"):
                rec.keep(
                    f"ui export {dataset} {fmt}",
                    browser.get(f"/integrations/{iid}/export/{dataset.value}.{fmt}"),
                )


def _a_finding(api: httpx.Client, iid: int) -> str:
    """A finding of the integration (its page holds evidence), else nobody's."""
    found = api.get("/api/v1/findings", params={"integration": iid}).json()
    return str(found["items"][0]["id"]) if found["items"] else str(2**31 - 1)


def _a_key_id(api: httpx.Client, iid: int) -> str:
    """A key of the inventory (its scope history), else no such key."""
    found = api.get("/api/v1/api-keys", params={"integration": iid}).json()
    return str(found["items"][0]["key_id"]) if found["items"] else "nokey"


def _a_campaign(api: httpx.Client) -> str:
    """A review campaign the caller may read, else nobody's."""
    found = api.get("/api/v1/reviews").json()
    return str(found[0]["id"]) if found else str(2**31 - 1)


def _read_everything(api: httpx.Client, rec: Recorder, iid: int) -> None:
    """Every GET route of the API (from the app), and every export."""
    routes, _ = app_routes()
    runs = api.get("/api/v1/sync-runs", params={"integration": iid}).json()["items"]
    keys = api.get("/api/v1/service-accounts", params={"integration": iid}).json()
    values = {
        "integration_id": str(iid),
        "service_account_id": str(keys["items"][0]["id"]),
        "run_id": str(runs[0]["id"]),
        "dataset": "members",
        "person_id": str(2**31 - 1),
        "finding_id": _a_finding(api, iid),
        "key_id": _a_key_id(api, iid),
        "campaign_id": _a_campaign(api),
    }
    for route in routes:
        if route.method != "GET" or not route.api:
            continue
        params = {"integration": iid} if "integration" in route.query_fields else None
        rec.keep(route.path, api.get(route.url(values), params=params))
    for dataset in Dataset:
        for fmt in ("csv", "xlsx", "json"):
            rec.keep(
                f"export {dataset} {fmt}",
                api.get(
                    f"/api/v1/exports/{dataset.value}",
                    params={"integration": iid, "format": fmt},
                ),
            )


# --- a key where a name belongs, given to real `smp` processes ---------------------

NOT_THE_KEY = "give the name of an environment variable (or a file), not the key itself"
KEY_IN_ARGUMENT = "holds an API key; SMP reads keys only from --key-env or --key-file"
CONNECT_X = ["connect", "sendgrid", "x", "--key-env", "SG_FULL"]


def _where_names_belong(key: str, out: Path) -> list[tuple[list[str], str]]:
    """Command lines with `key` where a name belongs, and what the refusal says."""
    connect, add = ["connect", "sendgrid", "x"], ["service-account", "add", "x"]
    as_a_source = [
        ["doctor", "--key-env", key],
        ["doctor", "--key-file", key],
        ["doctor", f"--key-env={key}", "--json"],
        [*connect, "--key-env", key],
        [*connect, "--key-file", key],
        [*CONNECT_X, "--billing-key-env", key],
        [*CONNECT_X, "--billing-key-file", key],
        [*add, "--key-env", key],
        [*add, "--key-file", key],
    ]
    as_a_name = [
        ["connect", "sendgrid", key, "--key-env", "SG_FULL"],
        [*add, "--label", key, "--key-env", "SG_FULL"],
        ["sync", key],
        ["members", key, "--json"],
        ["export", key, "--out", str(out)],
    ]
    return [(args, NOT_THE_KEY) for args in as_a_source] + [
        (args, KEY_IN_ARGUMENT) for args in as_a_name
    ]


def _assert_not_printed(output: str, secret: str, where: object) -> None:
    """No 8 characters in a row of the secret, anywhere in the output."""
    windows = {secret[i : i + 8] for i in range(len(secret) - 7)}
    assert not [w for w in windows if w in output], (where, output)


def _refused_unprinted(
    home: SmpHome, args: list[str], message: str, hidden: str, env: dict[str, str]
) -> None:
    done = home.run(*args, extra_env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 2, (args[:2], output)
    assert message in " ".join(output.split()), (args[:2], output)
    assert "Traceback" not in output
    _assert_not_printed(output, hidden, args[:2])


def test_a_key_where_a_name_belongs_is_never_printed(tmp_path: Path) -> None:
    world = generate_world(seed=33, accounts=1, teammates=3, subusers=1)
    raw = next(k.key for k in world.keys if k.kind == "full")
    secret = raw.split(".")[2]
    home = SmpHome(tmp_path / "home")
    env = {"SG_FULL": raw}
    for args, message in _where_names_belong(raw, tmp_path / "out"):
        _refused_unprinted(home, args, message, secret, env)
    assert not (tmp_path / "out").exists()
    # Cut short, with the newline of `$(cat key)`, the secret alone, a master key.
    master = generate_key()
    for args, message, hidden in (
        (["doctor", "--key-env", raw[:-5]], NOT_THE_KEY, secret),
        (["sync", raw[:-5]], KEY_IN_ARGUMENT, secret),
        (["connect", "sendgrid", "x", "--key-file", raw + "\n"], NOT_THE_KEY, secret),
        (["doctor", "--key-env", secret], NOT_THE_KEY, secret),
        (["keys", "rotate-master", "--new-key-env", master], NOT_THE_KEY, master),
    ):
        _refused_unprinted(home, args, message, hidden, env)


def test_a_variable_that_is_not_set_is_said_so(tmp_path: Path) -> None:
    home = SmpHome(tmp_path / "home")
    unset = "SMP_TEST_NO_SUCH_VARIABLE"
    for args in (
        ["doctor", "--key-env", unset],
        ["doctor", "--key-env", unset, "--json"],
        [*CONNECT_X, "--billing-key-env", unset],
        ["service-account", "add", "x", "--key-env", unset],
        ["keys", "rotate-master", "--new-key-env", unset],
    ):
        done = home.run(*args, extra_env={"SG_FULL": "SG.never-read"})
        output = " ".join((done.stdout + done.stderr).split())
        assert done.returncode == 2, (args, output)
        assert f"environment variable {unset} is not set" in output, (args, output)
        assert "malformed" not in output.lower(), (args, output)
