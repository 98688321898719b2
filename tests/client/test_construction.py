"""A client is made with a key or not at all: without one (no argument, no ``$APIFRAME_API_KEY``)
both clients raise :class:`ConfigurationError` at construction, naming both ways on, as the
README says; the key itself shows up in no error text and no ``repr``."""

from __future__ import annotations

import asyncio
import traceback

import pytest

from apiframe_magic import ConfigurationError
from apiframe_magic.client import ApiframeClient, AsyncApiframeClient
from apiframe_magic.sandbox import SandboxServer
from tests.conftest import CANARY_KEY


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIFRAME_API_KEY", raising=False)
    monkeypatch.delenv("APIFRAME_BASE_URL", raising=False)


@pytest.mark.parametrize("cls", [ApiframeClient, AsyncApiframeClient])
@pytest.mark.usefixtures("no_key")
def test_without_a_key_the_client_is_not_made(
    cls: type[ApiframeClient | AsyncApiframeClient], sandbox: SandboxServer
) -> None:
    with pytest.raises(ConfigurationError) as info:
        cls(base_url=sandbox.url)
    text = str(info.value)
    assert text.startswith("no Apiframe API key") and "\n" not in text
    assert "APIFRAME_API_KEY" in text and "ApiframeClient.sandbox()" in text
    assert sandbox.recorded_requests() == []  # nothing was sent, nothing was needed


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_variable_counts_as_no_key(blank: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIFRAME_API_KEY", blank)
    with pytest.raises(ConfigurationError, match="no Apiframe API key"):
        AsyncApiframeClient()


@pytest.mark.usefixtures("no_key")
def test_a_key_given_as_argument_is_enough(sandbox: SandboxServer) -> None:
    with ApiframeClient(CANARY_KEY, sandbox.url, poll_interval=0.05) as client:
        assert client.me().credits == 1000
        assert CANARY_KEY not in repr(client) and CANARY_KEY not in repr(client.aio)
        assert client.masked_key == CANARY_KEY[:4] + "…" + CANARY_KEY[-4:]


def test_a_key_from_the_environment_is_enough(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIFRAME_API_KEY", CANARY_KEY)

    async def go() -> int | None:
        async with AsyncApiframeClient(base_url=sandbox.url) as client:
            assert CANARY_KEY not in repr(client) and CANARY_KEY not in client.account
            return (await client.me()).credits

    assert asyncio.run(go()) == 1000


@pytest.mark.usefixtures("no_key")
def test_the_sandbox_clients_need_no_key() -> None:
    with ApiframeClient.sandbox() as client:
        assert client.me().credits is not None
    asyncio.run(AsyncApiframeClient.sandbox().aclose())


def test_a_refused_key_is_in_no_error_text_and_no_frame() -> None:
    bad = CANARY_KEY + " é"
    with pytest.raises(ConfigurationError) as info:
        AsyncApiframeClient(bad, "http://127.0.0.1:9")
    error = info.value
    assert error.__traceback__ is not None
    frames = error.__traceback__.tb_next  # the client's own frames, not this test's
    shown = "".join(traceback.TracebackException(
        type(error), error, frames, capture_locals=True).format())
    assert CANARY_KEY not in str(info.value) and CANARY_KEY not in repr(info.value)
    assert CANARY_KEY not in shown
