"""How cassettes/test_cassettes/aapl.yaml was recorded: like a real recording, but against
a second fake standing in for the provider, because this project's suite never calls a real
model. Run from the project root: ``PYTHONPATH=. python docs/examples/cassettes/record_aapl.py``.
"""

import os
import sys

import pytest

from pytest_temporal_agents.llm import FakeLLM, Usage

with FakeLLM() as provider:  # sets OPENAI_BASE_URL and a key: what --llm-record sends to
    provider.reply_tool_call("get_price", {"symbol": "AAPL"}, usage=Usage(118, 17))
    provider.reply("AAPL last traded at $189.50.", usage=Usage(152, 15))
    os.environ["OPENAI_API_KEY"] = "sk-stand-in-for-a-real-key"
    test = "docs/examples/test_cassettes.py::test_the_agent_answers_from_the_recording"
    status = pytest.main([test, "--llm-record=all", "-p", "no:cacheprovider"])
sys.exit(status)  # after the block, which fails if the provider's replies were not all used
