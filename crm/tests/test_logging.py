import json
import logging

import pytest

from crm.logging import JsonFormatter

pytestmark = pytest.mark.django_db


def test_each_request_logs_one_line_with_its_request_id(agent_client, agent, caplog):
    with caplog.at_level(logging.INFO, logger="crm.request"):
        response = agent_client.get("/api/v1/contacts", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    [record] = [r for r in caplog.records if r.name == "crm.request"]
    assert (record.method, record.path, record.status) == ("GET", "/api/v1/contacts", 200)
    assert record.user_id == str(agent.id)
    assert record.request_id == "abc-123"
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc-123" and line["status"] == 200


def test_a_request_id_is_generated_when_missing_or_unsafe(anon_client):
    generated = anon_client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    unsafe = anon_client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"]
    assert unsafe != "bad id\n"


def test_passwords_and_tokens_never_reach_the_logs(anon_client, caplog):
    from accounts.tests.factories import PASSWORD, UserFactory

    UserFactory(email="log@example.com")
    with caplog.at_level(logging.DEBUG):
        tokens = anon_client.post(
            "/api/v1/auth/login", {"email": "log@example.com", "password": PASSWORD}, format="json"
        ).json()
        anon_client.post("/api/v1/auth/login", {"email": "log@example.com", "password": "wrong-pw"})
    text = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for secret in (PASSWORD, "wrong-pw", tokens["access"], tokens["refresh"]):
        assert secret not in text
