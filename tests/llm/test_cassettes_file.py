"""Cassette files, record modes, the marker's arguments and the upstream, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_temporal_agents.llm import (
    Cassette,
    CassetteError,
    CassetteMarker,
    CassettePlayer,
    FakeLLMError,
    Interaction,
    LLMRequest,
    Usage,
    cassette_path,
    read_cassette_marker,
    resolve_record_mode,
)
from pytest_temporal_agents.llm._cassette import parse_events, stream_text
from pytest_temporal_agents.llm._cassette_match import drift, matches
from pytest_temporal_agents.llm._proxy import upstreams

PROMPT = "You are a careful analyst.\nAnswer in one sentence."


def interaction(**changes: object) -> Interaction:
    recorded = Interaction(
        api="openai.chat",
        path="/v1/chat/completions",
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": PROMPT}, {"role": "user", "content": "AAPL?"}],
        params={"temperature": 0},
        body={"choices": [{"message": {"role": "assistant", "content": "Buy."}}]},
        headers={"content-type": "application/json"},
        usage=Usage(12, 2),
    )
    for name, value in changes.items():
        setattr(recorded, name, value)
    return recorded


def request_like(recorded: Interaction, **changes: object) -> LLMRequest:
    request = LLMRequest(
        api=recorded.api,
        model=recorded.model,
        messages=list(recorded.messages),
        tools=list(recorded.tools),
        stream=recorded.stream,
        system=recorded.system,
    )
    for name, value in changes.items():
        setattr(request, name, value)
    return request


def test_a_cassette_reads_back_what_was_written_and_reads_as_text(tmp_path: Path) -> None:
    events = [{"event": "message_start", "data": {"type": "message_start"}}, {"data": "[DONE]"}]
    streamed = interaction(stream=True, body=None, events=events, usage=Usage(3, 1), estimated=True)
    cassette = Cassette(tmp_path / "deep" / "dir" / "c.yaml", [interaction(), streamed])

    cassette.save(secrets=["Answer in one sentence"])
    text = cassette.path.read_text()
    again = Cassette.load(cassette.path)

    assert "content: |-\n" in text  # a prompt of several lines is a text block
    assert "    - {event: message_start, data: {type: message_start}}\n" in text  # one per line
    assert "<scrubbed>" in text and "Answer in one sentence" not in text
    read = again.interactions[1]
    assert (read.events, read.usage, read.estimated, read.stream) == (
        events,
        Usage(3, 1),
        True,
        True,
    )
    assert again.interactions[0].messages[0]["content"] == "You are a careful analyst.\n<scrubbed>."
    assert again.interactions[0].params == {"temperature": 0}


def test_server_sent_events_are_parsed_and_written_back_as_they_came() -> None:
    wire = 'event: ping\ndata: {"type":"ping"}\n\ndata: [DONE]\n\n'
    events = parse_events(wire.replace("\n", "\r\n") + ": a comment\n\n")
    assert events == [{"event": "ping", "data": {"type": "ping"}}, {"data": "[DONE]"}]
    assert stream_text(events) == wire


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 1\ninteractions: [ {", "while parsing a flow"),
        ("- just\n- a list\n", "it is not a cassette"),
        ("version: 7\ninteractions: []\n", "its version is 7; this release reads 1"),
        (
            "version: 1\ninteractions:\n- request: {api: openai.chat}\n",
            "interaction #1: it has no 'response'",
        ),
        (
            "version: 1\ninteractions:\n- {request: {api: a, path: /p}, response: {status: ok}}\n",
            "interaction #1: response.status must be an HTTP status number",
        ),
        (
            (
                "version: 1\ninteractions:\n- {request: {api: a, path: /p}, response: {status: 200},"
                " usage: {input_tokens: -1, output_tokens: 2}}\n"
            ),
            "usage needs input_tokens and output_tokens, whole numbers",
        ),
    ],
    ids=["not-yaml", "not-a-cassette", "version", "no-response", "status", "usage"],
)
def test_an_unreadable_cassette_is_an_error_naming_the_file_and_the_fix(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)

    with pytest.raises(CassetteError) as error:
        CassettePlayer(path, "none", {}, own_url="http://127.0.0.1:1")

    assert f"The cassette {path} cannot be read: " in str(error.value)
    assert problem in str(error.value)
    assert "Re-record it with --llm-record=all" in str(error.value)
    player = CassettePlayer(path, "all", {}, own_url="http://127.0.0.1:1")  # the fix works
    assert player.cassette.interactions == []


def test_a_missing_cassette_names_its_path_and_how_to_record_it(tmp_path: Path) -> None:
    path = tmp_path / "cassettes" / "missing.yaml"
    with pytest.raises(
        CassetteError, match="does not exist, and the record mode is 'none'"
    ) as error:
        CassettePlayer(path, "none", {}, own_url="http://127.0.0.1:1")
    assert str(path) in str(error.value) and "pytest --llm-record=new" in str(error.value)
    assert CassettePlayer(path, "new", {}, own_url="").save() is False  # nothing recorded
    assert not path.exists()
    assert CassettePlayer(path, "all", {}, own_url="").save() is True
    assert Cassette.load(path).interactions == []


def test_matching_ignores_parameters_and_drift_shows_only_what_changed() -> None:
    recorded = interaction()
    assert matches(recorded, request_like(recorded))
    assert not matches(recorded, request_like(recorded, api="openai.responses"))
    assert not matches(recorded, request_like(recorded, stream=True))

    changed = request_like(recorded, tools=[{"type": "function", "function": {"name": "quote"}}])
    report = drift(recorded, 3, changed)

    assert report.splitlines()[:4] == [
        "it drifted from interaction #3 (openai.chat, model 'gpt-4o-mini'): tools changed",
        "    --- tools (recorded)",
        "    +++ tools (now)",
        "    @@ -1 +1,8 @@",
    ]
    assert '    +      "name": "quote"' in report and "messages" not in report


def test_the_upstream_gets_the_real_key_in_place_of_the_dummy_one() -> None:
    found = upstreams({"OPENAI_API_KEY": "sk-real-1234567890", "ANTHROPIC_API_KEY": "sk-ant-real"})
    openai, anthropic = found["openai"], found["anthropic"]
    received = {
        "Authorization": "Bearer sk-fake-llm-not-a-real-key",
        "X-Api-Key": "dummy",
        "Host": "127.0.0.1:4000",
        "Content-Length": "12",
        "Cookie": "session=1",
        "Content-Type": "application/json",
        "anthropic-version": "2023-06-01",
    }

    assert openai.url("/v1/chat/completions", "") == "https://api.openai.com/v1/chat/completions"
    assert (
        anthropic.url("/v1/messages", "beta=true")
        == "https://api.anthropic.com/v1/messages?beta=true"
    )
    assert openai.headers(received) == {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "authorization": "Bearer sk-real-1234567890",
    }
    assert anthropic.headers(received)["x-api-key"] == "sk-ant-real"
    player = CassettePlayer(Path("c.yaml"), "all", found, own_url="http://127.0.0.1:1")
    assert "real" not in repr(found) + repr(player)  # no traceback or report shows a key
    assert "authorization" not in anthropic.headers(received)


def test_an_upstream_that_cannot_be_recorded_through_says_why() -> None:
    keyless = upstreams({})["openai"]
    assert keyless.problem("http://127.0.0.1:4000") is not None
    assert "OPENAI_API_KEY was not set" in str(keyless.problem("http://127.0.0.1:4000"))
    local = upstreams({"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"})["openai"]
    assert local.problem("http://127.0.0.1:4000") is None  # a local model server needs no key
    assert local.headers({"authorization": "Bearer dummy"}) == {}
    looping = upstreams({"ANTHROPIC_BASE_URL": "http://127.0.0.1:4000", "ANTHROPIC_API_KEY": "k"})
    assert "send it to the fake itself" in str(
        looping["anthropic"].problem("http://127.0.0.1:4000")
    )
    assert looping["anthropic"].problem("http://127.0.0.1:40001") is None


def test_the_marker_names_a_cassette_beside_the_test() -> None:
    test_file = Path("/repo/tests/agents/test_quote.py")
    here = Path("/repo/tests/agents/cassettes/test_quote")

    assert cassette_path(CassetteMarker(), test_file, "TestQuote::test_buy[gpt-4o]") == (
        here / "TestQuote.test_buy_gpt-4o.yaml"
    )
    assert cassette_path(CassetteMarker("shared"), test_file, "t") == here / "shared.yaml"
    assert cassette_path(CassetteMarker("../data/c.json"), test_file, "t") == (
        Path("/repo/tests/agents/../data/c.json")
    )
    assert read_cassette_marker(("quote",), {"record": "new"}) == CassetteMarker("quote", "new")
    assert read_cassette_marker((), {"path": Path("a/b.yaml")}) == CassetteMarker("a/b.yaml")


@pytest.mark.parametrize(
    ("args", "kwargs", "problem"),
    [
        (("a", "b"), {}, "it takes one path at most"),
        ((), {"mode": "new"}, "unknown argument 'mode'"),
        ((), {"record": "once"}, "record='once' is not a record mode"),
        ((3,), {}, "path must be a text or a pathlib.Path, not 3"),
    ],
)
def test_a_wrong_marker_is_an_error_showing_a_right_one(
    args: tuple[object, ...], kwargs: dict[str, object], problem: str
) -> None:
    with pytest.raises(FakeLLMError, match="is invalid: ") as error:
        read_cassette_marker(args, kwargs)
    assert problem in str(error.value)
    assert '@pytest.mark.llm_cassette("quote", record="new")' in str(error.value)


def test_the_command_line_wins_over_the_marker_which_wins_over_the_ini() -> None:
    assert resolve_record_mode(None, None, None) == "none"
    assert resolve_record_mode(None, None, "new") == "new"
    assert resolve_record_mode(None, "all", "new") == "all"
    assert resolve_record_mode("none", "all", "new") == "none"  # CI stays offline
    with pytest.raises(
        FakeLLMError, match=r"--llm-record='everything' is not a record mode. Valid"
    ):
        resolve_record_mode("everything", None, None)
    with pytest.raises(FakeLLMError, match=r"llm_record='x' .*none, new, all"):
        resolve_record_mode(None, None, "x")


def test_the_option_and_the_marker_are_documented() -> None:
    from pytest_temporal_agents.llm import CASSETTE_SIGNATURE, RECORD_FLAG, RECORD_OPTION

    docs = Path(__file__).resolve().parents[2] / "docs" / "reference"
    options, reference = (docs / "options.md").read_text(), (docs / "llm.md").read_text()
    assert f"`{RECORD_FLAG}` / `{RECORD_OPTION}`" in options
    assert f"@pytest.mark.{CASSETTE_SIGNATURE}" in options
    assert f"`@pytest.mark.{CASSETTE_SIGNATURE}`" in reference
