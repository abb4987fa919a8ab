"""Refusals as sentences beside their field, and the key fields said to be emptied."""

from __future__ import annotations

import re
import uuid

from tests.support.app import Server, connect_and_sync
from tests.support.web import csrf_of, sign_in, web_client

NOT_A_KEY = "SG.not-a-key.at-all"


def _attributes(html: str, element_id: str) -> str:
    found = re.search(rf'<input id="{element_id}"[^>]*>', html)
    assert found, f"no input #{element_id}"
    return found.group(0)


async def test_a_refused_integrate_form_says_why_at_the_field_and_empties_keys(
    server: Server,
) -> None:
    async with web_client(server) as client:
        await sign_in(client, server.admin)
        form = await client.get("/integrations/sendgrid/new")
        page = await client.post(
            "/integrations/sendgrid",
            data={
                "name": "Refused",
                "access_token": NOT_A_KEY,
                "csrf_token": csrf_of(form.text),
            },
        )
    assert page.status_code == 422
    access = _attributes(page.text, "access_token")
    assert 'aria-invalid="true"' in access
    assert "keys-cleared" in access
    assert "access-error" in access
    assert "keys-cleared" in _attributes(page.text, "billing_token")
    assert 'id="keys-cleared"' in page.text
    assert NOT_A_KEY not in page.text
    error = re.search(r'id="access-error"[^>]*>([^<]+)<', page.text)
    assert error
    assert error.group(1)[0].isupper()
    assert error.group(1).endswith(".")


async def test_a_refused_key_in_service_settings_is_told_beside_the_key_field(
    server: Server,
) -> None:
    integration = await connect_and_sync(server, "Messages", ("full",))
    async with web_client(server) as client:
        await sign_in(client, server.admin)
        form = await client.get(f"/integrations/{integration}/settings")
        page = await client.post(
            f"/integrations/{integration}/service-accounts",
            data={
                "label": "Broken",
                "key": NOT_A_KEY,
                "csrf_token": csrf_of(form.text),
            },
        )
        no_label = await client.post(
            f"/integrations/{integration}/service-accounts",
            data={"label": " ", "key": NOT_A_KEY, "csrf_token": csrf_of(form.text)},
        )
    assert page.status_code >= 400
    key = _attributes(page.text, "key")
    assert 'aria-invalid="true"' in key
    assert 'aria-describedby="key-error key-cleared"' in key
    assert 'id="key-cleared"' in page.text
    assert NOT_A_KEY not in page.text
    label = _attributes(no_label.text, "label")
    assert 'aria-invalid="true"' in label
    assert 'aria-describedby="label-error"' in label
    assert "Label is required." in no_label.text


async def test_add_user_takes_a_spaced_name_and_tells_each_refusal_at_its_field(
    server: Server,
) -> None:
    async with web_client(server) as client:
        await sign_in(client, server.admin)
        form = await client.get("/users")
        assert "pattern=" not in _attributes(form.text, "new-name")
        token = csrf_of(form.text)

        async def add(name: str, password: str) -> str:
            answer = await client.post(
                "/users",
                data={
                    "name": name,
                    "password": password,
                    "role": "viewer",
                    "csrf_token": token,
                },
            )
            return answer.text if answer.status_code == 422 else str(answer.status_code)

        spaced = f"Zoë Ångström {uuid.uuid4().hex[:6]}"
        assert await add(spaced, "long enough password") == "303"
        bad_name = await add("<b>x</b>", "long enough password")
        short = await add("Ada Lovelace", "short")
    name = _attributes(bad_name, "new-name")
    assert 'aria-invalid="true"' in name
    assert "new-name-error" in name
    assert 'id="new-name-error"' in bad_name
    password = _attributes(short, "new-password")
    assert 'aria-invalid="true"' in password
    assert 'aria-describedby="new-password-error"' in password
    assert 'aria-invalid="true"' not in _attributes(short, "new-name")
