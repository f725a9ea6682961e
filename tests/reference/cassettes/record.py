"""How the reference agents' cassettes were recorded: like a real recording, through
``--llm-record=all``, but against a second fake model server standing in for the providers,
because this project's suite never calls a real model.

The stand-in answers what a model answers to these prompts: a JSON decision with a rationale
that cites the context's numbers (OpenAI's structured output as the message's text, Claude's
as the forced tool call's input), one that ignores a risk veto (for the guardrail to catch),
and the analyst's research: two tool calls in one turn, then the risk check, then the
recommendation. Each rule answers only its own prompt, and leaving the stand-in fails the
script if a scripted answer was not asked for.

Run from the project root, then review the cassettes' diff and commit it::

    PYTHONPATH=. python tests/reference/cassettes/record.py

``tests/reference/test_model_reasoners_cassettes.py`` runs this script on a copy of the tests
and checks that it records exactly the cassettes checked in. To record a real model
instead, see docs/how-to/model-reasoners.md.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from pytest_temporal_agents.llm import FakeLLM

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))
from test_model_reasoners import PROVIDERS

RECORDED = ["test_model_reasoners_cassettes.py", "test_analyst_cassette.py"]
STAND_IN_KEY = "sk-stand-in-for-a-real-key-7f3a"
"""What the upstream's key would be; no cassette may contain it (the tests grep for it)."""
DAY = "2024-06-28"

DECISIONS = {
    # AAPL, 60 bars: uptrend, risk 0.25, at most 119 shares. The model stays inside the limit.
    ("openai", "hold AAPL now"): {
        "action": "buy",
        "quantity": 100,
        "confidence": 0.74,
        "rationale": [
            "Momentum intact: 209.53 is above SMA20 201.56 and SMA50 195.62, MACD histogram +0.72.",
            "RSI 63.7 is elevated but not overbought, and sentiment is bullish (+0.50).",
            "Risk approved the trade (score 0.25); 100 shares stays under max_position_size 119.",
        ],
    },
    ("anthropic", "hold AAPL now"): {
        "action": "buy",
        "quantity": 90,
        "confidence": 0.7,
        "rationale": [
            "Uptrend, EMA12 above EMA26, positive MACD histogram: momentum's buy signal holds.",
            "Risk 0.25 is well under the 0.70 threshold; 90 of the 119 shares allows for 22.6% vol.",
        ],
    },
    # TSLA, 120 bars: risk 0.74 above the 0.70 threshold, not approved. The model buys anyway.
    ("openai", "hold TSLA now"): {
        "action": "buy",
        "quantity": 25,
        "confidence": 0.55,
        "rationale": [
            "The analysis signals buy (confidence 0.7) with a positive MACD histogram.",
            "Volatility is high (58.3%), so the position is kept small at 25 shares.",
        ],
    },
    ("anthropic", "hold TSLA now"): {
        "action": "buy",
        "quantity": 30,
        "confidence": 0.5,
        "rationale": [
            "Momentum reads buy, though the trend is sideways.",
            "Risk is elevated (0.74 against 0.70); a reduced position of 30 shares limits it.",
        ],
    },
    # GOOGL, 120 bars, through `trading-agents run ai-agent --reasoner openai`.
    ("openai", "hold GOOGL now"): {
        "action": "buy",
        "quantity": 60,
        "confidence": 0.68,
        "rationale": [
            "Uptrend: price 198.66 is above SMA20 188.80 and SMA50 173.20.",
            "RSI 68.2 is close to overbought, so half of the 125 shares risk allows.",
        ],
    },
}

ANALYST_ANSWER = {
    "symbol": "AAPL",
    "action": "buy",
    "quantity": 100,
    "confidence": 0.75,
    "rationale": [
        "AAPL is up 6.4% over 120 sessions at 209.53 with bullish sentiment.",
        "technical_analysis signals buy (0.8): uptrend, MACD histogram +0.587, RSI 64.2.",
        "risk_check approves a buy (score 0.27) up to 119 shares; 100 keeps a margin.",
    ],
}


def script(stand_in: FakeLLM) -> None:
    """The stand-in provider's answers, each rule for one prompt."""
    providers = {provider.name: provider for provider in PROVIDERS}
    for (name, prompt), decision in DECISIONS.items():
        provider = providers[name]
        provider.answer(stand_in.when(api=provider.api, contains=prompt), decision)
    # The analyst: what gpt-4o-mini does with these instructions and tools.
    stand_in.when(tool="market_snapshot").reply_tool_calls(
        ("market_snapshot", {"symbol": "AAPL", "as_of": DAY}),
        ("technical_analysis", {"symbol": "AAPL", "as_of": DAY}),
    ).reply_tool_call("risk_check", {"symbol": "AAPL", "side": "buy", "as_of": DAY}).reply(
        json.dumps({"response": ANALYST_ANSWER})
    )


def main() -> int:
    """Record every ``llm_cassette`` test of ``RECORDED`` through the stand-in."""
    with FakeLLM() as stand_in:  # sets the *_BASE_URL variables --llm-record sends to
        script(stand_in)
        os.environ["OPENAI_API_KEY"] = os.environ["ANTHROPIC_API_KEY"] = STAND_IN_KEY
        tests = [str(TESTS / name) for name in RECORDED]
        status = pytest.main(
            [*tests, "-m", "llm_cassette", "--llm-record=all", "-p", "no:cacheprovider"]
        )
    return int(status)  # after the block, which fails if a scripted answer was not used


if __name__ == "__main__":
    sys.exit(main())
