"""pytest glue: options, ini settings, the marker, the ``temporal`` fixture, report sections.

The logic lives in the ``_``-prefixed modules; Temporal itself is imported only when a
test asks for the fixture, so loading the plugin costs nothing for tests that don't.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from .harness import CampaignProgress, ReplaySettings, Settings, TemporalHarness, TemporalMarker
    from .harness._report_later import ReportLater
    from .llm import FakeLLM
    from .mocks import ActivityEnv
    from .report import SessionReport
    from .servers import ServerPool

SETTINGS_KEY = pytest.StashKey["Settings"]()
POOL_KEY = pytest.StashKey["ServerPool"]()
HARNESS_KEY = pytest.StashKey["TemporalHarness"]()
REPLAY_KEY = pytest.StashKey["ReplaySettings"]()  # replay feature
CALL_FAILED_KEY = pytest.StashKey[bool]()  # replay and llm features: the test body failed
REPORT_PATH_KEY = pytest.StashKey[Path]()  # report feature: where the HTML report goes
REPORT_DATA_KEY = pytest.StashKey[list[dict[str, Any]]]()  # report feature: a test's workflows
CAMPAIGN_KEY = pytest.StashKey["CampaignProgress"]()  # faults feature: a @given test's progress line
REPORT_LATER_KEY = pytest.StashKey["ReportLater"]()  # replay feature: replays checked one test later

REPORT_TIMEOUT_SECONDS = 30.0


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    from ._unrewritten import exempt_from_assertion_rewriting

    # First, for a run whose import hook came after the package was imported (pytester's
    # nested runs): the modules of ours imported from here on load their bytecode.
    exempt_from_assertion_rewriting(getattr(pluginmanager, "rewrite_hook", None))
    from .harness import OPTIONS

    group = parser.getgroup("temporal", "Temporal workflow testing (pytest-temporal-agents)")
    for spec in OPTIONS:
        if spec.kind == "bool":
            group.addoption(spec.flag, action="store_true", default=None, dest=spec.name, help=spec.help)
            # Read as a string: our resolver's error names the option and the valid values.
            parser.addini(spec.name, spec.help, default=None)
        else:
            group.addoption(spec.flag, action="store", default=None, dest=spec.name, help=spec.help)
            parser.addini(spec.name, spec.help, default=None)
    # -- llm feature: the record mode of cassettes
    from .llm import RECORD_FLAG, RECORD_HELP, RECORD_OPTION

    group.addoption(RECORD_FLAG, action="store", default=None, dest=RECORD_OPTION, help=RECORD_HELP)
    parser.addini(RECORD_OPTION, RECORD_HELP, default=None)
    # -- replay feature: recorded histories collected as test items
    parser.addini(
        "temporal_replay_paths",
        "Directories or files of recorded histories (JSON) to collect as test items, each "
        "replayed against temporal_workflows. Relative to the ini file.",
        type="paths",
        default=[],
    )


def pytest_configure(config: pytest.Config) -> None:
    from ._errors import TemporalConfigError
    from .harness import MARKER_SIGNATURE, resolve_replay_settings, resolve_settings

    config.addinivalue_line(
        "markers",
        f"{MARKER_SIGNATURE}: run this test's workflows on another Temporal server or with "
        "another timeout; time_skipping=True skips it on servers that cannot skip time; "
        "replay_check=False skips the replay of its workflows at teardown.",
    )
    try:
        config.stash[SETTINGS_KEY] = resolve_settings(
            lambda name: config.getoption(name, None), lambda name: config.getini(name)
        )
        config.stash[REPLAY_KEY] = resolve_replay_settings(  # replay feature
            lambda name: config.getoption(name, None), lambda name: config.getini(name)
        )
    except TemporalConfigError as err:
        raise pytest.UsageError(str(err)) from None
    from .llm import BUDGET_SIGNATURE  # llm feature (no starlette import)
    from .llm import CASSETTE_SIGNATURE, RECORD_OPTION, FakeLLMError, resolve_record_mode
    from .llm import MARKER_SIGNATURE as FAKE_LLM_MARKER

    try:  # a misspelt --llm-record stops the run at start-up, as the temporal options do
        resolve_record_mode(config.getoption(RECORD_OPTION, None), None, config.getini(RECORD_OPTION))
    except FakeLLMError as err:
        raise pytest.UsageError(str(err)) from None
    config.addinivalue_line(
        "markers",
        f"{CASSETTE_SIGNATURE}: answer this test's fake_llm requests from a cassette file "
        "(recorded through the real provider with --llm-record=new or all).",
    )

    config.addinivalue_line(
        "markers",
        f"{FAKE_LLM_MARKER}: allow_unused=True keeps scripted replies that no request took "
        "from failing the test at teardown.",
    )
    config.addinivalue_line(
        "markers",
        f"{BUDGET_SIGNATURE}: fail the test when its model calls (through fake_llm) spend more "
        "tokens, requests or money (at prices per million tokens) than this.",
    )
    _configure_report(config)  # report feature


def _server_pool(config: pytest.Config) -> ServerPool:
    """The session's server pool, made when a test first asks for a server (so a run with no
    Temporal test imports neither the pool nor what it starts)."""
    pool = config.stash.get(POOL_KEY, None)
    if pool is None:
        from .servers import ServerPool

        pool = config.stash[POOL_KEY] = ServerPool()
    return pool


def pytest_unconfigure(config: pytest.Config) -> None:
    pool = config.stash.get(POOL_KEY, None)
    if pool is not None:
        pool.shutdown()


@pytest_asyncio.fixture
async def temporal(request: pytest.FixtureRequest) -> AsyncIterator[TemporalHarness]:
    """A :class:`TemporalHarness` on the session's Temporal server, with its own task queue.

    Workers it started stop and workflows still running are terminated at teardown.
    """
    from ._errors import (
        HarnessUsageError,
        ServerBinaryNotFound,
        ServerDiedError,
        TemporalConfigError,
    )
    from .harness import TemporalHarness, apply_marker, merge_markers
    from .servers import TIME_SKIPPING

    if "fake_llm" in request.fixturenames:  # llm feature: the fake outlives this test's workers
        request.getfixturevalue("fake_llm")
    problem: str | None = None
    try:
        marker = merge_markers((m.args, m.kwargs) for m in request.node.iter_markers("temporal"))
    except TemporalConfigError as err:
        problem = str(err)
    if problem is not None:  # failed outside the except block: no chained traceback
        pytest.fail(problem, pytrace=False)
    settings = apply_marker(request.config.stash[SETTINGS_KEY], marker)
    if marker.time_skipping and settings.server.env != TIME_SKIPPING:
        pytest.skip(
            f"needs time skipping, which the {settings.server.describe()} cannot do "
            "(run with --temporal-env=time-skipping)"
        )
    pool = _server_pool(request.config)
    try:
        env = await pool.get(settings.server, start_time=marker.start_time)
    except (ServerBinaryNotFound, ServerDiedError, TemporalConfigError) as err:
        problem = str(err)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    try:
        harness = TemporalHarness(
            env,
            test_id=request.node.nodeid,
            timeout=settings.timeout,
            plugins=marker.plugins,
            # A server that died mid-test is not asked anything at teardown (~10 s of retries).
            server_alive=lambda: pool.alive(settings.server),
        )
    except HarnessUsageError as err:  # a marker plugin that is not one
        problem = f"@pytest.mark.temporal(plugins=...): {err}"
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    request.node.stash[HARNESS_KEY] = harness
    # -- mocks feature: the marker's activity clock (released by the harness at teardown)
    if marker.freeze_activity_clock:
        harness.freeze_activity_clock()
    _configure_replay(harness, request, marker)  # replay feature
    _show_campaign(harness, request)  # faults feature
    problems: list[str] = []
    try:
        yield harness
        harness.test_failed = request.node.stash.get(CALL_FAILED_KEY, False)  # replay feature
        # Checks run after the test body but before workers stop: a replay check needs
        # the histories, an expectation check needs the calls the workers recorded.
        # A dead server has no histories to read: its death (below) is the report.
        if pool.alive(settings.server):
            reporting = REPORT_PATH_KEY in request.config.stash
            # replay feature: a passed test's replay may be checked while the next test runs
            # (harness/_report_later.py); the report feature needs its verdict now.
            later = request.config.stash.get(REPORT_LATER_KEY, None)
            defer = not harness.test_failed and not reporting and later is not None and later.may_defer(request.node)
            problems = await harness.verify(defer_replay=defer)
            if reporting:  # report feature: gathered while the loop runs
                request.node.stash[REPORT_DATA_KEY] = await _report_workflows(harness, problems)
    finally:
        problems += await harness.close()  # what did not stop when the workers stopped
        try:
            # A server that died under this test fails it with the server's last log lines
            # (whatever the test met instead: a refused connection, a hang cut short).
            await pool.check_alive(settings.server)
            if harness.started_workflows:
                # A leaked time-skipping lock would stop time for every later test: find it
                # here, name this test, and give the next test a fresh server.
                await pool.check_clock(
                    settings.server, after=request.node.nodeid, dated=marker.start_time is not None
                )
        except ServerDiedError as err:
            problem = str(err)
        if problem is not None:
            pytest.fail(problem, pytrace=False)
    deferred, harness.deferred_replay = harness.deferred_replay, None
    if deferred is not None and problems:  # reported now, in its place before close()'s
        problems = [*await deferred.problems(), *problems]
    elif deferred is not None:  # replay feature: see pytest_runtest_protocol
        request.config.stash[REPORT_LATER_KEY].hold(request.node, deferred)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# -- replay feature: teardown replay, recording, history files as test items -----------------
def _configure_replay(harness: TemporalHarness, request: pytest.FixtureRequest, marker: TemporalMarker) -> None:
    from .history import history_dir_name

    replay = request.config.stash[REPLAY_KEY]
    harness.replay_check = replay.check if marker.replay_check is None else marker.replay_check
    harness._prepare_replay_check()
    if replay.record_histories:
        config = request.config
        # A path on the command line is relative to where pytest runs; in the ini, to the ini.
        if replay.record_from_command_line or config.inipath is None:
            base = config.invocation_params.dir
        else:
            base = config.inipath.parent
        directory = base / replay.record_histories / history_dir_name(request.node.nodeid)
        harness.record_histories_to = directory


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Item | None:
    # An item straight from the hook (no File collector above it): its id is the file's path.
    if file_path.suffix != ".json" or not parent.config.getini("temporal_replay_paths"):
        return None
    from .replay import collect_history

    return collect_history(file_path, parent)


# -- mocks feature: the activity_env fixture -------------------------------------------------
@pytest.fixture
def activity_env() -> Iterator[ActivityEnv]:
    """An :class:`ActivityEnv`: run one activity without a server, recording heartbeats,
    with cancellation, worker shutdown and ``activity.info()`` under the test's control."""
    from .mocks import ActivityEnv

    env = ActivityEnv()
    try:
        yield env
    finally:
        env.close()


# -- llm feature: the fake model server, one per session, reset for each test -----------------
@pytest.fixture(scope="session")
def _fake_llm_server() -> Iterator[FakeLLM]:
    from .llm import FakeLLM, LLMExtraMissing

    fake = FakeLLM()
    problem: str | None = None
    try:
        fake.start()
    except LLMExtraMissing as err:
        problem = str(err)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_llm(_fake_llm_server: FakeLLM, request: pytest.FixtureRequest) -> Iterator[FakeLLM]:
    """A :class:`FakeLLM` with an empty script, the environment pointing clients at it.

    At teardown the environment is restored and the test fails for every request the fake
    could not answer, every scripted reply no request took, and every limit of its
    ``llm_budget`` marker that its requests exceeded.
    """
    from .llm import FakeLLMError, budget_problems, read_budget, read_markers

    problem: str | None = None
    fake = _fake_llm_server
    fake.reset()
    try:
        marker = read_markers((m.args, m.kwargs) for m in request.node.iter_markers("fake_llm"))
        budget = read_budget((m.args, m.kwargs) for m in request.node.iter_markers("llm_budget"))
        _use_cassette(fake, request)  # before activate(): the upstream is today's environment
    except FakeLLMError as err:
        problem = str(err)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    if marker.allow_unused:
        fake.allow_unused()
    fake.activate()
    try:
        yield fake
        problems = fake.problems() + budget_problems(fake.requests, budget)
    finally:
        fake.deactivate()
        fake.reset()
    if not problems:
        return
    from .llm import FakeLLMProblems

    report = str(FakeLLMProblems(problems))
    if request.node.stash.get(CALL_FAILED_KEY, False):  # the test's own failure says enough
        request.node.add_report_section("teardown", "fake_llm", report)
    else:
        pytest.fail(report, pytrace=False)


def _use_cassette(fake: FakeLLM, request: pytest.FixtureRequest) -> None:
    """The closest ``llm_cassette`` marker, if any, puts its cassette in the fake."""
    from .llm import RECORD_OPTION, cassette_path, read_cassette_marker, resolve_record_mode

    found = request.node.get_closest_marker("llm_cassette")
    if found is None:
        return
    marker = read_cassette_marker(found.args, found.kwargs)
    config = request.config
    mode = resolve_record_mode(config.getoption(RECORD_OPTION, None), marker.record, config.getini(RECORD_OPTION))
    test_name = request.node.nodeid.split("::", 1)[-1]
    fake.use_cassette(cassette_path(marker, Path(request.node.path), test_name), record=mode)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """The test's timeout bounds its whole body (harness/_body_timeout.py)."""
    harness = item.stash.get(HARNESS_KEY, None)
    body = getattr(item, "obj", None)
    if harness is None or not inspect.iscoroutinefunction(body):
        return (yield)
    from .harness import bounded_body

    # Swapped before pytest-asyncio's runtest wraps the function for its event loop.
    item.obj = bounded_body(body, harness.timeout)  # type: ignore[attr-defined]
    try:
        return (yield)
    finally:
        item.obj = body  # type: ignore[attr-defined]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":  # replay feature: teardown reports stay short after a failure
        item.stash[CALL_FAILED_KEY] = report.failed
        if CAMPAIGN_KEY in item.stash:  # faults feature: erased before pytest writes the outcome
            item.stash[CAMPAIGN_KEY].close()
    if report.when == "teardown" and REPORT_DATA_KEY in item.stash:  # report feature
        from .report import REPORT_ATTRIBUTE

        setattr(report, REPORT_ATTRIBUTE, item.stash[REPORT_DATA_KEY])  # crosses xdist as JSON
    if report.when == "teardown":
        _forget_the_test(item)
    if report.when == "call" and report.failed:
        harness = item.stash.get(HARNESS_KEY, None)
        if harness is not None and harness.started_workflows:
            report.sections.extend(_workflow_sections(harness))
    return report


def _forget_the_test(item: pytest.Item) -> None:
    """Drop what the plugin kept on a test that has ended: pytest keeps every item for the
    whole session, and a harness kept on one keeps its workers, their event loop and thread
    pool, and every history it fetched (about 60 KB a test, growing the run without end)."""
    for key in (HARNESS_KEY, REPORT_DATA_KEY, CAMPAIGN_KEY):
        if key in item.stash:
            del item.stash[key]


def _workflow_sections(harness: TemporalHarness) -> list[tuple[str, str]]:
    from .servers import run_in_fresh_loop

    try:
        return run_in_fresh_loop(harness.report_sections, timeout=REPORT_TIMEOUT_SECONDS)
    except Exception as err:  # noqa: BLE001 - a report must never mask the test's failure
        return [("temporal workflows", f"(could not fetch histories: {err!r})")]


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    settings: Any = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        return None
    return [f"temporal: {settings.server.describe()}, timeout {settings.timeout.total_seconds():g} s"]


# -- faults feature: @given tests may take `temporal` (each example opens temporal.isolated()) --
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    using = [item for item in items if "temporal" in getattr(item, "fixturenames", ())]
    if not using:  # a run with no Temporal test imports nothing more
        return
    from .harness import relax_for_temporal
    from .harness._report_later import ReportLater, report_later_allowed

    for item in using:
        relax_for_temporal(item)
    if report_later_allowed(config):  # replay feature
        config.stash[REPORT_LATER_KEY] = ReportLater()


# -- replay feature: a test's replay is checked while the next test runs (harness/_report_later.py)
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    later = item.config.stash.get(REPORT_LATER_KEY, None)
    return None if later is None else later.run(item, nextitem)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    try:
        return (yield)
    finally:  # -x / --maxfail stop the loop after a test whose successor's replay is held
        later = session.config.stash.get(REPORT_LATER_KEY, None)
        if later is not None:
            later.flush()


def _show_campaign(harness: TemporalHarness, request: pytest.FixtureRequest) -> None:
    """On a terminal, a @given test's examples show as a progress line (harness/_campaign.py)."""
    from .harness import campaign_progress

    progress = campaign_progress(request.node, request.config)
    if progress is not None:
        harness.example_listener = request.node.stash[CAMPAIGN_KEY] = progress


# -- report feature: the HTML report of the session (--temporal-report) -----------------------
def _configure_report(config: pytest.Config) -> None:
    """Remember the report's path; the controller (or a run without xdist) also collects."""
    from_option = config.getoption("temporal_report", None)
    value = from_option or config.getini("temporal_report")
    if not value:
        return
    # A path on the command line is relative to where pytest runs; in the ini, to the ini.
    base = (
        config.invocation_params.dir
        if from_option or config.inipath is None
        else config.inipath.parent
    )
    config.stash[REPORT_PATH_KEY] = base / Path(str(value)).expanduser()
    if not hasattr(config, "workerinput"):  # an xdist worker sends its data in its reports
        from .report import SessionReport

        config.pluginmanager.register(_ReportHooks(SessionReport(), config.stash[REPORT_PATH_KEY]))


async def _report_workflows(harness: TemporalHarness, problems: list[str]) -> list[dict[str, Any]]:
    from ._sdk import workflow_name
    from .report import gather_workflows

    try:
        return await gather_workflows(
            harness.started_workflows,
            harness.history,
            mock_calls=harness.mock_calls,
            replay_checked=harness.replay_check,
            replayable={workflow_name(cls) for cls in harness.registered_workflows},
            problems=problems,
        )
    except Exception as err:  # noqa: BLE001 - the report must never fail the test
        import warnings

        from ._errors import TemporalAgentsWarning

        warnings.warn(
            f"pytest-temporal-agents: the HTML report could not read this test's workflows: {err!r}",
            TemporalAgentsWarning,
            stacklevel=1,
        )
        return []


class _ReportHooks:
    """Folds every test report into the session's report and writes it at the end."""

    def __init__(self, session_report: SessionReport, path: Path) -> None:
        self.session_report = session_report
        self.path = path
        self.outcome: str | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from .report import REPORT_ATTRIBUTE, merge_workflows

        longrepr = report.longrepr
        message = (
            longrepr[2]
            if isinstance(longrepr, tuple)
            else (report.longreprtext if report.failed else "")
        )
        self.session_report.add(
            report.nodeid,
            report.when,
            report.outcome,
            duration=report.duration,
            message=message,
            workflows=merge_workflows(getattr(report, REPORT_ATTRIBUTE, None)),
            xfail=hasattr(report, "wasxfail"),
        )

    def pytest_sessionfinish(self) -> None:
        tests = self.session_report.tests
        try:
            written = self.session_report.write(self.path)
        except OSError as err:
            self.outcome = str(err)
            import warnings

            from ._errors import TemporalAgentsWarning

            try:  # shown in the warnings summary; never an error that changes the exit code
                warnings.warn(self.outcome, TemporalAgentsWarning, stacklevel=1)
            except Warning:
                pass
            return
        workflows = sum(len(test["workflows"]) for test in tests)
        self.outcome = f"temporal report: {written} ({len(tests)} tests, {workflows} workflows)"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.outcome is None:
            return
        failed = not self.outcome.startswith("temporal report:")
        terminalreporter.write_line(self.outcome, yellow=failed, bold=failed)


# -- replay feature: the histories a visibility query selects on the cluster, as test items ----
@pytest.hookimpl(specname="pytest_collection_modifyitems", tryfirst=True)  # before -k / -m deselect
def pytest_collection_modifyitems_cluster_histories(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    query = config.getoption("temporal_replay_query", None) or config.getini("temporal_replay_query")
    if not query:
        return
    from .replay import collect_cluster_histories

    limit = config.stash[REPLAY_KEY].query_limit
    items.extend(collect_cluster_histories(session, config.stash[SETTINGS_KEY].server, str(query), limit))
