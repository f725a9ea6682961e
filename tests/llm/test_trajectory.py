"""Trajectories: what an agent did, read from its workflow's real history.

The hand-written agent loop of docs/examples/weather_agent.py runs on the time-skipping
server with its model mocked; recorded histories cover the OpenAI Agents SDK's integration
and a reference agent whose times are fixed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from agent_loop_workflows import LocalModelAgent
from temporalio.client import WorkflowFailureError, WorkflowHandle
from test_plugins import ENCRYPTION  # docs/examples: a plugin with a payload codec
from weather_agent import (
    TOOLS,
    ModelReply,
    ResearchWorkflow,
    WeatherAgent,
    call_model,
    get_weather,
    search_web,
    send_email,
)

from pytest_temporal_agents import HarnessUsageError, TemporalHarness, load_history_file
from pytest_temporal_agents.faults import non_retryable_error, retryable_error
from pytest_temporal_agents.llm._traj_build import Classifier
from pytest_temporal_agents.llm._trajectory import (
    MODEL_NAME_PATTERN,
    Trajectory,
    TrajectoryAssertionError,
    trajectory,
    trajectory_of,
)

HERE = Path(__file__).parent
QUESTION = "What is the weather in Paris?"
WEATHER = ModelReply("get_weather", ["Paris"])
ANSWER = ModelReply(text="Sunny.")
#: The time column of a timeline line, which workflow time under time skipping makes vary.
TIME_COLUMN = re.compile(r"^(>>|  )( *[\d.]+)  +\+[\d.]+[smhd][\d]*[smhd]?", re.M)


async def run_agent(
    temporal: TemporalHarness, *replies: ModelReply, agent: type = WeatherAgent
) -> WorkflowHandle[Any, Any]:
    """Run the agent loop to its end, its model answering ``replies`` in turn."""
    temporal.mock_activity(call_model, sequence=list(replies))
    handle = await temporal.start(
        agent.run,  # type: ignore[attr-defined]
        QUESTION,
        workflows=[agent, ResearchWorkflow],
        activities=[call_model, *TOOLS],
    )
    try:
        await handle.result()
    except WorkflowFailureError:
        pass  # the tests that make it fail look at its trajectory
    return handle


async def trajectory_for(
    temporal: TemporalHarness, handle: WorkflowHandle[Any, Any], **options: Any
) -> Trajectory:
    """``temporal.trajectory(handle, ...)``, checked to be the same as the function's."""
    through_the_harness = await temporal.trajectory(handle, **options)
    assert through_the_harness.steps == (await trajectory(temporal._ctx, handle, **options)).steps
    return through_the_harness


def untimed(text: str) -> list[str]:
    return TIME_COLUMN.sub(r"\1\2", text).splitlines()


def failure(check: Any, *args: Any, **kwargs: Any) -> list[str]:
    """The lines of the TrajectoryAssertionError that ``check(*args, **kwargs)`` raises."""
    with pytest.raises(TrajectoryAssertionError) as raised:
        check(*args, **kwargs)
    assert isinstance(raised.value, AssertionError)
    return untimed(str(raised.value))


# -- queries ---------------------------------------------------------------------------------------


async def test_the_trajectory_lists_model_and_tool_calls_in_order(
    temporal: TemporalHarness,
) -> None:
    handle = await run_agent(temporal, WEATHER, ModelReply("search_web", ["Paris events"]), ANSWER)
    agent = await trajectory_for(temporal, handle)

    assert agent.tools_called == ["get_weather", "search_web"]
    assert [step.kind for step in agent] == ["model", "tool", "model", "tool", "model"]
    assert len(agent.model_calls) == 3 and len(agent.tool_calls) == 2 and len(agent) == 5
    assert (agent.count(call_model), agent.count(get_weather), agent.count("send_email")) == (
        3,
        1,
        0,
    )
    assert [step.number for step in agent] == ["1", "2", "3", "4", "5"]
    assert (agent.workflow_id, agent.workflow_type, agent.status) == (
        handle.id,
        "WeatherAgent",
        "completed",
    )


async def test_arguments_and_results_are_decoded_to_their_declared_types(
    temporal: TemporalHarness,
) -> None:
    handle = await run_agent(temporal, WEATHER, ANSWER)
    first_model, tool, last_model = await trajectory_for(temporal, handle)

    assert first_model.args == ([QUESTION],)
    assert first_model.result == WEATHER  # a ModelReply, the declared result type
    assert last_model.args == ([QUESTION, "get_weather: sunny in Paris"],)
    assert (tool.name, tool.call, tool.args, tool.result) == (
        "get_weather",
        "activity",
        ("Paris",),
        "sunny in Paris",
    )
    assert (tool.status, tool.failure, tool.attempts, tool.retries) == ("completed", None, 1, 0)
    assert tool.workflow_id == handle.id and tool.depth == 0
    assert first_model.time <= tool.time <= last_model.time
    assert tool.duration is not None and tool.time + tool.duration <= last_model.time


async def test_a_history_alone_gives_json_values_unless_told_the_definitions(
    temporal: TemporalHarness,
) -> None:
    handle = await run_agent(temporal, WEATHER, ANSWER)
    history = await temporal.history(handle)

    plain = trajectory_of(history)
    typed = trajectory_of(history, activities=[call_model])

    assert plain.tools_called == typed.tools_called == ["get_weather"]
    assert plain.model_calls[0].result == {"tool": "get_weather", "args": ["Paris"], "text": ""}
    assert typed.model_calls[0].result == WEATHER


@pytest.mark.temporal(plugins=[ENCRYPTION])
async def test_payloads_are_decoded_with_the_clients_codec(temporal: TemporalHarness) -> None:
    handle = await run_agent(temporal, WEATHER, ANSWER)

    agent = await trajectory_for(temporal, handle)
    assert agent.tool_calls[0].args == ("Paris",) and agent.model_calls[0].result == WEATHER

    without_codec = trajectory_of(await temporal.history(handle))
    assert repr(without_codec.tool_calls[0].args[0]).startswith("<binary/base64 ")


# -- assertions ------------------------------------------------------------------------------------


async def test_assert_tools_called_in_order_exactly_or_in_any_order(
    temporal: TemporalHarness,
) -> None:
    handle = await run_agent(temporal, WEATHER, ModelReply("search_web", ["Paris events"]), ANSWER)
    agent = await trajectory_for(temporal, handle)

    agent.assert_tools_called(get_weather, search_web)
    agent.assert_tools_called(search_web)  # in order, others may come between
    agent.assert_tools_called(get_weather, search_web, exactly=True)
    agent.assert_tools_called(search_web, get_weather, in_order=False, exactly=True)
    agent.assert_tools_called("search_web", in_order=False)

    assert failure(agent.assert_tools_called, search_web, get_weather) == [
        "Tool calls ['search_web', 'get_weather'] did not happen in this order: "
        "search_web (step 4), then no get_weather after step 4.",
        f"Trajectory of workflow {handle.id!r} (WeatherAgent), completed: "
        "3 model call(s), 2 tool call(s)",
        "   1  model  call_model(['What is the weather in Paris?']) -> "
        "ModelReply(tool='get_weather', args=['Paris'], text='')",
        "   2  tool   get_weather('Paris') -> 'sunny in Paris'",
        "   3  model  call_model(['What is the weather in Paris?', 'get_weather: sunny in Pa…) "
        "-> ModelReply(tool='search_web', args=['Paris events'], text='…",
        ">> 4  tool   search_web('Paris events') -> '3 results for Paris events'",
        "   5  model  call_model(['What is the weather in Paris?', 'get_weather: sunny in Pa…) "
        "-> ModelReply(tool=None, args=[], text='Sunny.')",
    ]
    assert failure(agent.assert_tools_called, get_weather, exactly=True)[:4] == [
        "The agent's tool calls are not exactly these, in this order.",
        "  expected: ['get_weather']",
        "  actual:   ['get_weather', 'search_web']",
        f"Trajectory of workflow {handle.id!r} (WeatherAgent), completed: "
        "3 model call(s), 2 tool call(s)",
    ]
    assert failure(agent.assert_tools_called, send_email, get_weather, in_order=False)[:4] == [
        "The agent's tool calls are not these, in any order.",
        "  expected: ['send_email', 'get_weather']",
        "  actual:   ['get_weather', 'search_web']",
        "  missing:  ['send_email']",
    ]


async def test_assert_called_with_arguments_or_a_predicate(temporal: TemporalHarness) -> None:
    handle = await run_agent(temporal, WEATHER, ModelReply("get_weather", ["Rome"]), ANSWER)
    agent = await trajectory_for(temporal, handle)

    assert [step.number for step in agent.assert_called(get_weather)] == ["2", "4"]
    agent.assert_called(get_weather, times=2)
    [rome] = agent.assert_called(get_weather, with_args=("Rome",))
    assert rome.result == "sunny in Rome"
    agent.assert_called(get_weather, times=2, with_args=lambda city: city[0].isupper())
    agent.assert_called(call_model, times=1, with_args=lambda messages: len(messages) == 1)

    lines = failure(agent.assert_called, get_weather, with_args=["London"])
    assert lines[0] == (
        "get_weather was called 2 time(s) with_args=['London'] (0 matching); "
        "expected at least once."
    )
    assert [line[:3] for line in lines[2:]] == ["   ", ">> ", "   ", ">> ", "   "]
    assert failure(agent.assert_called, get_weather, times=1)[0] == (
        "get_weather was called 2 time(s); expected 1 time(s)."
    )
    with pytest.raises(HarnessUsageError, match="with_args='Rome' must be a tuple"):
        agent.assert_called(get_weather, with_args="Rome")  # type: ignore[arg-type]


async def test_assert_not_called_flags_every_call(temporal: TemporalHarness) -> None:
    handle = await run_agent(
        temporal, WEATHER, ModelReply("send_email", ["ada@example.com", "Sunny"]), ANSWER
    )
    agent = await trajectory_for(temporal, handle)

    agent.assert_not_called(search_web)
    lines = failure(agent.assert_not_called, send_email)
    assert lines[0] == "send_email was called 1 time(s), but it should never be called."
    assert (
        lines[5]
        == ">> 4  tool   send_email('ada@example.com', 'Sunny') -> 'sent to ada@example.com'"
    )


async def test_a_misspelt_tool_gets_a_suggestion(temporal: TemporalHarness) -> None:
    handle = await run_agent(temporal, WEATHER, ANSWER)
    agent = await trajectory_for(temporal, handle)

    assert failure(agent.assert_called, "get_wether")[0] == (
        "get_wether was called 0 time(s); expected at least once. No step is named 'get_wether'. "
        "Did you mean 'get_weather'? Steps: call_model, get_weather."
    )
    with pytest.raises(HarnessUsageError, match="42 does not name a model or tool call"):
        agent.count(42)  # type: ignore[arg-type]


async def test_assert_model_calls_bounds_the_count(temporal: TemporalHarness) -> None:
    handle = await run_agent(temporal, WEATHER, ModelReply("search_web", ["Paris events"]), ANSWER)
    agent = await trajectory_for(temporal, handle)

    agent.assert_model_calls(exactly=3)
    agent.assert_model_calls(at_least=2, at_most=3)
    lines = failure(agent.assert_model_calls, at_most=2)
    assert lines[0] == "The agent made 3 model call(s); expected at most 2."
    assert [line[:4] for line in lines[2:]] == [">> 1", "   2", ">> 3", "   4", ">> 5"]
    assert failure(agent.assert_model_calls, at_least=1, exactly=4)[0] == (
        "The agent made 3 model call(s); expected exactly 4 and at least 1."
    )
    with pytest.raises(HarnessUsageError, match="needs at_most=, at_least= or exactly="):
        agent.assert_model_calls()


async def test_assert_never_after_shows_the_numbered_timeline(temporal: TemporalHarness) -> None:
    handle = await run_agent(
        temporal,
        ModelReply("search_web", ["Paris"]),
        ModelReply("send_email", ["ada@example.com", "Sunny"]),
        ModelReply("search_web", ["Rome"]),
        ANSWER,
    )
    agent = await trajectory_for(temporal, handle)

    agent.assert_never_after(send_email, get_weather)  # get_weather never ran
    assert failure(agent.assert_never_after, search_web, send_email) == [
        "search_web was called after send_email: "
        "step 6 came after step 4, send_email's first call.",
        f"Trajectory of workflow {handle.id!r} (WeatherAgent), completed: "
        "4 model call(s), 3 tool call(s)",
        "   1  model  call_model(['What is the weather in Paris?']) -> "
        "ModelReply(tool='search_web', args=['Paris'], text='')",
        "   2  tool   search_web('Paris') -> '3 results for Paris'",
        "   3  model  call_model(['What is the weather in Paris?', 'search_web: 3 results fo…) "
        "-> ModelReply(tool='send_email', args=['ada@example.com', 'Sun…",
        ">> 4  tool   send_email('ada@example.com', 'Sunny') -> 'sent to ada@example.com'",
        "   5  model  call_model(['What is the weather in Paris?', 'search_web: 3 results fo…) "
        "-> ModelReply(tool='search_web', args=['Rome'], text='')",
        ">> 6  tool   search_web('Rome') -> '3 results for Rome'",
        "   7  model  call_model(['What is the weather in Paris?', 'search_web: 3 results fo…) "
        "-> ModelReply(tool=None, args=[], text='Sunny.')",
    ]


async def test_assert_order_counts_model_calls_too(temporal: TemporalHarness) -> None:
    handle = await run_agent(temporal, WEATHER, ModelReply("search_web", ["Paris events"]), ANSWER)
    agent = await trajectory_for(temporal, handle)

    agent.assert_order(call_model, get_weather, call_model, search_web, call_model)
    agent.assert_order(get_weather, search_web)
    assert failure(agent.assert_order, call_model, search_web, get_weather)[0] == (
        "Calls ['call_model', 'search_web', 'get_weather'] did not happen in this order: "
        "call_model (step 1), then search_web (step 4), then no get_weather after step 4."
    )


# -- retries and failures --------------------------------------------------------------------------


async def test_a_retried_tool_counts_every_attempt(temporal: TemporalHarness) -> None:
    temporal.inject(retryable_error(get_weather, attempts=[1]))
    handle = await run_agent(temporal, WEATHER, ANSWER)
    agent = await trajectory_for(temporal, handle)

    [weather] = agent.assert_called(get_weather, times=1)  # one call, two attempts
    assert (weather.attempts, weather.retries, weather.status) == (2, 1, "completed")
    assert weather.attempt_errors == (
        "attempt 1: failed: injected retryable_error in get_weather attempt 1 [InjectedFault] "
        "(injected retryable_error('get_weather'))",
    )
    assert untimed(agent.timeline())[1:3] == [
        "   2  tool   get_weather('Paris') -> 'sunny in Paris' (2 attempts)",
        " " * 25 + "attempt 1: failed: injected retryable_error in get_weather attempt 1 "
        "[InjectedFault] (injected retryable_error('get_weather'))",
    ]


async def test_a_failed_tool_shows_its_failure(temporal: TemporalHarness) -> None:
    temporal.inject(non_retryable_error(get_weather, message="no such city"))
    handle = await run_agent(temporal, WEATHER)
    agent = await trajectory_for(temporal, handle)

    assert agent.status == "failed"
    [weather] = agent.tool_calls
    assert (weather.status, weather.result, weather.attempts) == ("failed", None, 1)
    assert weather.failure == "no such city [InjectedFault, non-retryable]"
    assert untimed(agent.timeline())[1] == (
        "   2  tool   get_weather('Paris') -> failed: no such city [InjectedFault, non-retryable]"
    )


# -- kinds of calls --------------------------------------------------------------------------------


async def test_a_child_workflow_is_one_tool_call_unless_expanded(temporal: TemporalHarness) -> None:
    handle = await run_agent(temporal, ModelReply("research", ["AAPL"]), ANSWER)

    agent = await trajectory_for(temporal, handle)
    assert agent.tools_called == ["ResearchWorkflow"]
    [research] = agent.assert_called(ResearchWorkflow, with_args=("AAPL",))
    assert (research.call, research.result) == (
        "child workflow",
        "3 results for AAPL; 3 results for AAPL news",
    )

    expanded = await trajectory_for(temporal, handle, include_children=True)
    assert expanded.tools_called == ["ResearchWorkflow", "search_web", "search_web"]
    assert [(s.number, s.depth) for s in expanded.tool_calls] == [("2", 0), ("2.1", 1), ("2.2", 1)]
    assert expanded.tool_calls[1].workflow_id == research.id != handle.id
    expanded.assert_order(ResearchWorkflow.run, search_web, call_model)
    assert untimed(expanded.timeline())[1:4] == [
        "     2  tool   [child workflow] ResearchWorkflow('AAPL') -> "
        "'3 results for AAPL; 3 results for AAPL news'",
        "   2.1  tool     search_web('AAPL') -> '3 results for AAPL'",
        "   2.2  tool     search_web('AAPL news') -> '3 results for AAPL news'",
    ]


async def test_a_mocked_child_shows_none_of_the_harness_helpers(temporal: TemporalHarness) -> None:
    temporal.mock_child_workflow(ResearchWorkflow, returns="mocked research")
    handle = await run_agent(temporal, ModelReply("research", ["AAPL"]), ANSWER)

    agent = await trajectory_for(temporal, handle, include_children=True)

    assert [step.name for step in agent] == ["call_model", "ResearchWorkflow", "call_model"]
    assert agent.tool_calls[0].result == "mocked research"


async def test_model_calls_made_as_local_activities(temporal: TemporalHarness) -> None:
    handle = await run_agent(temporal, WEATHER, ANSWER, agent=LocalModelAgent)
    agent = await trajectory_for(temporal, handle)

    assert [(s.name, s.call) for s in agent] == [
        ("call_model", "local activity"),
        ("get_weather", "activity"),
        ("call_model", "local activity"),
    ]
    first = agent.model_calls[0]
    assert (first.args, first.result, first.attempts) == (
        ([QUESTION],),
        WEATHER,
        1,
    )  # args: harness's record
    assert trajectory_of(await temporal.history(handle)).model_calls[0].args == ([QUESTION],)


async def test_the_test_names_its_model_activities_and_what_to_ignore(
    temporal: TemporalHarness,
) -> None:
    handle = await run_agent(temporal, WEATHER, ModelReply("search_web", ["Paris events"]), ANSWER)

    agent = await trajectory_for(
        temporal, handle, model_activities=[get_weather], ignore=[search_web]
    )
    assert [(s.name, s.kind) for s in agent] == [
        ("call_model", "tool"),
        ("get_weather", "model"),
        ("call_model", "tool"),
        ("call_model", "tool"),
    ]
    undetected = await trajectory_for(temporal, handle, model_pattern=None)
    assert undetected.model_calls == []  # call_model is no Agents SDK name


# -- detection and recorded histories --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "is_model"),
    [
        ("call_model", True),
        ("CallLLM", True),
        ("llm", True),
        ("chat_completion", True),
        ("createCompletions", True),
        ("invoke_model_activity", True),
        ("remodel_kitchen", False),
        ("list_models", False),
        ("get_weather", False),
        ("chat_with_human", False),
    ],
)
def test_model_activities_are_detected_by_a_word_of_their_name(name: str, is_model: bool) -> None:
    assert Classifier.of(None, MODEL_NAME_PATTERN, ()).is_model(name) is is_model


def test_detection_takes_another_pattern_or_none_and_naming_replaces_it() -> None:
    assert Classifier.of(None, r"^ask_", ()).is_model("ask_gpt")
    assert not Classifier.of(None, r"^ask_", ()).is_model("call_model")
    assert Classifier.of(None, None, ()).is_model("invoke_model_activity")  # the Agents SDK's
    assert not Classifier.of(None, None, ()).is_model("call_llm")
    named = Classifier.of([call_model, "plan"], MODEL_NAME_PATTERN, [search_web])
    assert (named.is_model("call_model"), named.is_model("plan"), named.is_model("call_llm")) == (
        True,
        True,
        False,
    )
    assert named.kind("search_web", "activity") is None
    assert named.kind("pytest-temporal-agents:mock-child-workflow", "local activity") is None


@pytest.mark.parametrize("name", ["agents_sdk.json", "agents_sdk_local_model.json"])
def test_the_agents_sdk_model_is_detected_in_its_real_history(name: str) -> None:
    # Recorded by tests/llm/record_agents_sdk_history.py: Runner.run with one activity_as_tool
    # tool, the model called as an activity or a local one.
    agent = trajectory_of(load_history_file(HERE / "histories" / name))

    assert [(step.kind, step.name) for step in agent] == [
        ("model", "invoke_model_activity"),
        ("tool", "get_weather"),
        ("model", "invoke_model_activity"),
    ]
    agent.assert_called(get_weather, times=1, with_args=("Paris",))
    agent.assert_model_calls(exactly=2)
    answer = agent.model_calls[-1].result["output"][0]["content"][0]["text"]
    assert answer == "It is sunny in Paris."


def test_a_recorded_history_reads_as_a_timeline_with_server_attempts() -> None:
    [path] = (HERE.parent / "histories").glob(
        "*ai_agent_retries_the_reasoner*/AIAgentWorkflow-1.json"
    )
    agent = trajectory_of(load_history_file(path), model_activities=["reasoning_agent"])

    assert [(s.name, s.kind, s.attempts) for s in agent] == [
        ("analysis_agent", "tool", 1),
        ("reasoning_agent", "model", 3),  # the server's last attempt: no harness record here
        ("action_agent", "tool", 1),
    ]
    assert agent.timeline().splitlines() == [
        "   1   +0.117s  tool   analysis_agent({'account_id': 'paper', 'analysis': None, 'as_of': "
        "'2024-06…) -> {'confidence': 0.8, 'indicators': {'bollinger_lower': 186.7…",
        "   2   +0.140s  model  reasoning_agent({'account_id': 'paper', 'analysis': {'confidence': "
        "0.8, 'in…) -> {'action': 'buy', 'agent': 'reasoning', 'confidence': 1.0, … (3 attempts)",
        "   3   +0.326s  tool   action_agent({'account_id': 'paper', 'decision': {'action': 'buy', "
        "'agen…) -> {'fill_id': 'fill-90f1b871cfd8', 'notional': 24934.07, 'ord…",
    ]
