"""A saved history keeps its identity: workflow id, run id and type come back from the file.

A replay needs the real workflow id whenever the workflow derives commands from it (here:
``ParentWorkflow`` names its child after it), so a history loaded under its file name's id
does not replay. Files without the identity (``temporal workflow show --output json``, files
saved by earlier releases) still load, under their file name, with run id and type from
their first event.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sample_workflows import Greeting, GreetingWorkflow, ParentWorkflow, compose_greeting
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from pytest_temporal_agents import TemporalHarness
from pytest_temporal_agents.history import (
    History,
    HistoryFileError,
    load_history_file,
    save_history_file,
)
from pytest_temporal_agents.servers import find_binary

PRICER = next((Path(__file__).resolve().parents[1] / "histories_fixture").glob("**/*test_two_symbols/Pricer-1.json"))
WORKFLOW_ID = "rd-fixture-histories-py-test-two-symbols-3ca7c07e-pricer-1"
RUN_ID = "2bd5b229-5a5f-42ae-a4aa-e4321e171bf6"


def _identity(history: History) -> tuple[str, str, str, int]:
    return history.workflow_id, history.run_id, history.workflow_type, len(history.events)


@pytest.fixture
def pricer() -> History:
    history = load_history_file(PRICER)
    assert _identity(history)[:3] == (WORKFLOW_ID, RUN_ID, "Pricer")
    return history


@pytest.mark.parametrize("save", [History.save, save_history_file], ids=["History.save", "save_history_file"])
@pytest.mark.parametrize("load", [History.load, load_history_file], ids=["History.load", "load_history_file"])
def test_a_saved_history_loads_with_its_identity(pricer: History, tmp_path: Path, save, load) -> None:  # type: ignore[no-untyped-def]
    path = save(pricer, tmp_path / "nested" / "renamed.json")
    assert _identity(load(path)) == _identity(pricer)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["workflowId"], data["runId"], data["workflowType"]) == (WORKFLOW_ID, RUN_ID, "Pricer")


def test_the_sdk_reads_a_saved_history_as_its_own(pricer: History, tmp_path: Path) -> None:
    path = pricer.save(tmp_path / "h.json")
    sdk = WorkflowHistory.from_json(WORKFLOW_ID, path.read_text(encoding="utf-8"))
    assert list(sdk.events) == list(pricer.events) and sdk.run_id == RUN_ID
    assert History.from_json(None, pricer.to_json()).workflow_id == WORKFLOW_ID
    assert History.from_json("given", pricer.to_json_dict()).workflow_id == "given"


def test_a_file_without_the_identity_is_named_by_its_file(pricer: History, tmp_path: Path) -> None:
    """As `temporal workflow show --output json` and earlier releases wrote them."""
    plain = tmp_path / "from-the-cli.json"
    plain.write_text(json.dumps({"events": pricer.raw.to_json_dict()["events"]}), encoding="utf-8")
    for load in (History.load, load_history_file):
        assert _identity(load(plain)) == ("from-the-cli", RUN_ID, "Pricer", len(pricer.events))
    assert History.load(plain, workflow_id="given").workflow_id == "given"


def test_a_truncated_file_still_names_its_workflow_type(pricer: History, tmp_path: Path) -> None:
    data = pricer.to_json_dict()
    data["events"] = data["events"][3:]
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(HistoryFileError, match="truncated at the start") as raised:
        load_history_file(path)
    assert raised.value.history is not None
    assert (raised.value.history.workflow_type, raised.value.history.run_id) == ("Pricer", RUN_ID)


async def _replays(history: History) -> bool:
    replayer = Replayer(workflows=[ParentWorkflow, GreetingWorkflow])
    result = await replayer.replay_workflow(history.raw, raise_on_replay_failure=False)
    return result.replay_failure is None


async def test_the_sdk_replayer_replays_a_saved_history_only_under_its_own_id(
    temporal: TemporalHarness, tmp_path: Path
) -> None:
    handle = await temporal.start(
        ParentWorkflow.run, "Ann", workflows=[ParentWorkflow, GreetingWorkflow], activities=[compose_greeting]
    )
    await handle.result()
    path = (await temporal.history(handle)).save(tmp_path / "parent.json")
    loaded = History.load(path)
    assert (loaded.workflow_id, loaded.workflow_type) == (handle.id, "ParentWorkflow")
    assert loaded.run_id == handle.result_run_id
    assert await _replays(loaded)
    # Under its file's name the child's id differs from the history's: nondeterministic.
    assert not await _replays(History.load(path, workflow_id="parent"))


@pytest.mark.temporal(env="local")
async def test_the_temporal_cli_json_loads_under_its_file_name_and_replays(
    temporal: TemporalHarness, tmp_path: Path
) -> None:
    handle = await temporal.start(
        GreetingWorkflow.run, Greeting("Bo"), workflows=[GreetingWorkflow], activities=[compose_greeting]
    )
    await handle.result()
    address = temporal.client.service_client.config.target_host
    cli = await asyncio.create_subprocess_exec(
        str(find_binary("local")), "workflow", "show", "--workflow-id", handle.id,
        "--address", address, "--namespace", temporal.client.namespace, "--output", "json",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await cli.communicate()
    assert cli.returncode == 0 and "workflowId" not in json.loads(out)
    path = tmp_path / "greeting.json"
    path.write_bytes(out)
    for load in (History.load, load_history_file):
        history = load(path)
        assert _identity(history)[:3] == ("greeting", handle.result_run_id, "GreetingWorkflow")
        assert await _replays(history)
