"""A property over fault plans that mix the model's rate limits and outages with activity
faults and worker crashes, on a tool-using agent run by the real server."""

from __future__ import annotations

from hypothesis import given, settings
from model_fault_workflows import AGENT_ACTIVITIES, PriceAgent, agent_model, lookup_price

from pytest_temporal_agents import FakeLLM, FaultPlan, LLMRequest, TemporalHarness
from pytest_temporal_agents.faults import ModelFault
from pytest_temporal_agents.llm import Reply, replies
from pytest_temporal_agents.strategies import fault_plans

SEEN: list[FaultPlan] = []


def the_model(request: LLMRequest) -> Reply:
    """The agent's model, for any number of requests: look the price up, then answer."""
    if request.last_message.get("role") == "tool":
        return replies.reply(f"AAPL trades at {request.last_text}.")
    return replies.reply_tool_call("get_price", {"symbol": "AAPL"})


# Every plan is survivable: faults select attempts 1 and 2, and the policy allows 3.
PLANS = fault_plans(
    activities=[lookup_price, agent_model],
    kinds=["retryable_error", "worker_crash"],
    model_activities=[agent_model],
    model_kinds=["model_error", "model_truncated"],
    max_attempt=2,
    max_faults=3,
)


@settings(max_examples=8, database=None)
@given(plan=PLANS)
async def test_the_agent_answers_whatever_the_model_and_the_workers_do(
    temporal: TemporalHarness, fake_llm: FakeLLM, plan: FaultPlan
) -> None:
    fake_llm.respond_with(the_model)
    before = len(fake_llm.requests)
    async with temporal.isolated(replay_check=False) as t:
        t.inject(plan)

        assert await t.run(PriceAgent.run, "What does AAPL cost?", activities=AGENT_ACTIVITIES) == (
            "AAPL trades at 189.5."
        )

        # Each attempt a model fault selected made exactly one request (max_retries=0), and
        # got the failure; every other attempt that called the model got the script.
        requests = fake_llm.requests[before:]
        failed = [
            r
            for r in requests
            if r.status != 200 or (r.reply is not None and r.reply.kind == "truncated")
        ]
        model_calls = t.attempts(agent_model)
        faulted = [a for a in model_calls if isinstance(a.fault, ModelFault)]
        assert len(failed) == len(faulted)
        assert all(a.outcome == "failed" for a in faulted)
        assert len(requests) - len(failed) == len(
            [a for a in model_calls if a.fault is None or a.fault.after_running]
        )
    SEEN.append(plan)


def test_the_property_met_the_model_failing() -> None:
    kinds = {kind for plan in SEEN for kind in plan.kinds}
    assert kinds & {"model_error", "model_truncated"}, SEEN
