"""The JSON client against a scripted local HTTP server: retries with backoff and Retry-After, error shapes."""

from __future__ import annotations

import pytest

from tests.trace.client.conftest import Script, json_reply
from trace.client import ClientError, JsonClient, ServerError
from trace.client.http import _retry_after


def test_retries_overload_honouring_retry_after_and_resends_the_same_body(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [json_reply(503, {"error": {"code": "busy", "message": "later"}}, **{"Retry-After": "7"}),
                      (502, {}, b"<html>bad gateway</html>"),
                      json_reply(200, {"ok": True})]
    pauses: list[float] = []
    client = JsonClient(url + "/", retries=3, backoff=0.5, sleep=pauses.append)
    answer = client.post("/api/v1/events/batch", {"statements": ["x"], "mode": "per_item"}, accept=(200,))
    assert (answer.status, answer.body) == (200, {"ok": True})
    assert pauses[0] == 7.0 and 0.25 <= pauses[1] <= 1.0  # Retry-After, then backoff 1 s with jitter
    assert [request[:2] for request in script.requests] == [("POST", "/api/v1/events/batch")] * 3
    assert len({request[2] for request in script.requests}) == 1


def test_gives_up_after_the_retries_with_the_last_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [json_reply(429, {"error": {"code": "rate.limited", "message": "slow down"}})] * 3
    pauses: list[float] = []
    with pytest.raises(ServerError) as failed:
        JsonClient(url, retries=2, backoff=1, sleep=pauses.append).get("/x")
    assert (failed.value.code, failed.value.message, failed.value.status) == ("rate.limited", "slow down", 429)
    assert str(failed.value) == "rate.limited: slow down"
    assert len(pauses) == 2 and 1.0 <= pauses[1] <= 2.0


def test_client_errors_are_not_retried_and_keep_the_server_code(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [json_reply(422, {"error": {"code": "batch.refused", "message": "1 refused", "fields": {}},
                                       "results": [1]})]
    with pytest.raises(ServerError) as failed:
        JsonClient(url, sleep=lambda pause: pytest.fail("must not retry")).post("/b", {})
    assert failed.value.code == "batch.refused" and failed.value.body["results"] == [1]
    assert len(script.requests) == 1


def test_a_non_json_error_is_described(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [(404, {}, b"<html>Not Found</html>")]
    with pytest.raises(ServerError) as failed:
        JsonClient(url).get("/missing")
    assert failed.value.code == "http.404" and "non-JSON body: '<html>Not Found</html>'" in failed.value.message


def test_an_unreachable_server_is_a_network_error_after_retries(server: tuple[str, Script]) -> None:
    url, _ = server
    closed = url.rsplit(":", 1)[0] + ":9"  # discard port: nothing listens
    pauses: list[float] = []
    with pytest.raises(ClientError) as failed:
        JsonClient(closed, retries=1, timeout=2, sleep=pauses.append).get("/api/v1/health")
    assert failed.value.code == "client.network" and len(pauses) == 1


def test_urls_and_retry_after_forms() -> None:
    with pytest.raises(ClientError, match="must start with http"):
        JsonClient("ftp://example")
    assert _retry_after("12") == 12.0
    assert _retry_after("100000") == 300.0
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after("soon") is None and _retry_after(None) is None
