from http import HTTPStatus

import pytest

from crm.tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_auth(anon_client):
    response = anon_client.get("/healthz")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database(anon_client):
    response = anon_client.get("/readyz")
    assert response.status_code == HTTPStatus.OK
    assert response.json()["database"] == "ok"


def test_schema_is_openapi_3_and_public(anon_client):
    response = anon_client.get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == HTTPStatus.OK
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/v1/auth/login", "/api/v1/contacts", "/api/v1/calls", "/api/v1/sync"):
        assert path in schema["paths"], path


def test_docs_are_served_without_a_cdn(anon_client):
    response = anon_client.get("/api/v1/docs")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "swagger" in html.lower()
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in html


def test_unknown_api_urls_answer_the_error_shape(agent_client):
    assert_error(agent_client.get("/api/v1/nope"), 404, "not_found")


def test_unsupported_media_type_is_415(agent_client):
    response = agent_client.post(
        "/api/v1/contacts", data="name=x", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_malformed_json_is_400(agent_client):
    response = agent_client.post(
        "/api/v1/contacts", data="{not json", content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_a_wrong_method_is_405(agent_client):
    assert_error(agent_client.delete("/api/v1/contacts"), 405, "method_not_allowed")


def test_paths_work_with_and_without_a_trailing_slash(agent_client):
    assert agent_client.get("/api/v1/contacts").status_code == 200
    assert agent_client.get("/api/v1/contacts/").status_code == 200
    response = agent_client.post(
        "/api/v1/contacts/", {"name": "Slash", "phone": "+12022345678"}, format="json"
    )
    assert response.status_code == HTTPStatus.CREATED


def test_an_oversized_body_is_413(agent_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"name": "' + "x" * 5000 + '", "phone": "+12022345678"}'
    response = agent_client.post("/api/v1/contacts", data=body, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_a_crash_answers_500_in_the_error_shape_without_a_traceback(agent_client, monkeypatch):
    from contacts import views

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views, "contact_list", boom)
    agent_client.raise_request_exception = False
    response = agent_client.get("/api/v1/contacts")
    error = assert_error(response, 500, "server_error")
    assert "secret internals" not in response.content.decode()
    assert error["message"] == "Internal server error."


def test_readyz_reports_durability_and_refuses_an_unsafe_database_in_production(
    anon_client, settings
):
    # The throwaway test cluster runs with fsync off, as a production database never should.
    settings.REQUIRE_DURABLE_DATABASE = False
    body = anon_client.get("/readyz").json()
    assert body["durability"] == {"fsync": "off", "synchronous_commit": "off"}
    settings.REQUIRE_DURABLE_DATABASE = True
    error = assert_error(anon_client.get("/readyz"), 503, "service_unavailable")
    assert "fsync is off" in error["message"]


def test_the_deploy_check_fails_on_an_unsafe_database(settings):
    from django.db import connections

    from crm.db.durability import check_durability

    settings.REQUIRE_DURABLE_DATABASE = True
    errors = check_durability(databases=list(connections))
    assert {e.id for e in errors} == {"crm.E001"}
    settings.REQUIRE_DURABLE_DATABASE = False
    assert check_durability(databases=list(connections)) == []


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_while_the_database_is_down_and_recovers(anon_client, settings):
    from django.db import connection

    settings.REQUIRE_DURABLE_DATABASE = False
    assert anon_client.get("/readyz").status_code == HTTPStatus.OK
    real = connection.settings_dict["PORT"]
    connection.close()
    connection.close_pool()  # the pool's open connections would outlive the "outage"
    connection.settings_dict["PORT"] = "1"  # nothing listens there: the database is "down"
    try:
        assert_error(anon_client.get("/readyz"), 503, "service_unavailable")
    finally:
        connection.close()
        connection.close_pool()
        connection.settings_dict["PORT"] = real
    assert anon_client.get("/readyz").status_code == HTTPStatus.OK


def test_unknown_api_urls_are_json_404s_with_debug_on_too(agent_client, settings):
    settings.DEBUG = True  # the development default a mobile developer works against
    for path in ("/api/v1/nope", "/api/v1/contacts/not-a-uuid/calls", "/api/v2/contacts"):
        assert_error(agent_client.get(path), 404, "not_found")


def test_the_landing_page_points_to_the_admin_the_docs_and_health(anon_client):
    response = anon_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for link in ('href="/admin/"', 'href="/api/v1/docs"', 'href="/readyz"'):
        assert link in html


def test_big_answers_are_gzipped_for_clients_that_accept_it(agent_client, agent):
    from contacts.tests.factories import make_contact

    for n in range(30):
        make_contact(actor=agent, name=f"Person number {n}")
    plain = agent_client.get("/api/v1/sync/contacts")
    assert "Content-Encoding" not in plain
    zipped = agent_client.get("/api/v1/sync/contacts", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert len(zipped.content) < len(plain.content) / 2
    import gzip
    import json

    unzipped, expected = json.loads(gzip.decompress(zipped.content)), plain.json()
    # A cursor is signed with the time (to the second): two requests may straddle a second.
    assert unzipped.pop("cursor").split(":")[0] == expected.pop("cursor").split(":")[0]
    assert unzipped == expected


def test_small_answers_and_token_answers_are_never_gzipped(agent_client, rf):
    me = agent_client.get("/api/v1/auth/me", HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in me
    # Sign-in and refresh answers carry tokens: never compressed, whatever their size (BREACH).
    from django.http import HttpResponse

    from crm.http.middleware import GZipMiddleware

    middleware = GZipMiddleware(lambda request: None)
    for path, zipped in [
        ("/api/v1/auth/login", False),
        ("/api/v1/auth/refresh", False),
        ("/api/v1/contacts", True),
    ]:
        request = rf.get(path, HTTP_ACCEPT_ENCODING="gzip")
        response = middleware.process_response(request, HttpResponse("x" * 5000))
        assert response.has_header("Content-Encoding") is zipped, path
