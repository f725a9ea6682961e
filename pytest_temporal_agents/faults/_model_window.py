"""One model fault applied to one attempt: the window in which the fake fails its requests.

The activity wrapper opens a :class:`ModelWindow` when a model fault selects the attempt and
closes it when the activity's code ends. Between the two, the test's fake answers the
model requests with the fault's failure (an override ahead of its script). Afterwards the
window tells the teardown what it saw: a fault that met no request fails the test, and
attempts of other activities that ran meanwhile (whose model requests got the failure
too: the fake cannot tell who sent a request) give a :class:`FaultWarning`.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from ..llm import FakeLLM, Override
from ._attempts import CANCELLED, RUNNING, SUCCEEDED, TIMED_OUT
from ._model import model_reply
from ._types import ModelFault

if TYPE_CHECKING:
    from ._attempts import AttemptRecord
    from ._state import FaultState

UNUSED = """\
{fault!r} selected {activity} attempt {attempt} (workflow {workflow!r}), but no model request{matching}
reached the fake model server while that attempt ran: the fault never fired.
Check that the activity calls the model through a client built from the environment
(OPENAI_BASE_URL, ANTHROPIC_BASE_URL) or from fake_llm, that the fault's filter matches its
requests, or drop the fault."""

OVERLAP = """\
{fault!r} failed the model requests made while {activity} attempt {attempt} ran, and these
attempts ran at the same time: {others}. The fake model server cannot tell which activity sent
a request, so any model request they made then got the failure too.
If that is not what the test means, narrow the fault to the faulted activity's requests
(contains=, model=, tool=, api=) or keep the calls apart."""

#: Seconds past an attempt's start-to-close timeout after which its window ends at the latest
#: (see ``ModelWindow``): the server has timed the attempt out by then.
HANG_RELEASE_MARGIN = 0.25


class ModelWindow:
    """The fake failing one attempt's model requests, from :meth:`open` until the attempt
    ends (:meth:`close`) or the server has moved on (:meth:`expire`); then what the teardown
    should know (no request met the fault, other attempts overlapped it).

    The server times an attempt out without telling a worker that does not heartbeat, and
    a request the fault made hang keeps its activity running. So the window also ends when
    the next attempt of the same call starts (``FaultState.supersede``) or, at the latest,
    :data:`HANG_RELEASE_MARGIN` after the attempt's start-to-close timeout; a hanging
    request is then let go, so that the activity's code ends instead of waiting for the
    test's end (a sync activity's thread could not even be cancelled).
    """

    def __init__(
        self, state: FaultState, fault: ModelFault, record: AttemptRecord, timeout: timedelta | None
    ) -> None:
        self.state, self.fault, self.record = state, fault, record
        self._fake: FakeLLM | None = state.model_server
        self._override: Override | None = None
        self._before: list[AttemptRecord] = []
        self._mark = self._end = 0  # the attempts the log had when the window opened, ended
        self._lock = threading.Lock()
        self._expired = False
        self._timer: threading.Timer | None = None
        if timeout is not None:
            self._timer = threading.Timer(
                timeout.total_seconds() + HANG_RELEASE_MARGIN, self.expire
            )
            self._timer.daemon = True
        after = f" after {timeout.total_seconds():g} s" if timeout else ""
        self._timed_out = f"START_TO_CLOSE timeout{after} (the model never answered)"

    def open(self) -> None:
        fake = self._fake
        if fake is None:  # inject() refuses a model fault when no fake is active
            return
        records = self.state.log.records()
        self._mark = len(records)
        self._before = [r for r in records if r.outcome == RUNNING and r is not self.record]
        reply = model_reply(self.fault, self.record.attempt)
        self._override = fake.override(reply, times=self.fault.times, **self.fault.filters)
        self.state.supersede(self.record.call, self)
        if self._timer is not None:
            self._timer.start()
        if self.fault.failure == "hang":  # provisional: a hanging request seals the attempt's fate
            self.record.finish(TIMED_OUT, self._timed_out, None)

    def expire(self, *, release: bool = True) -> None:
        """Stop failing requests (once); let a request the fault made hang go."""
        with self._lock:
            if self._expired or self._override is None:
                return
            self._expired = True
        self._end = len(self.state.log.records())
        served = self._override.close()
        if release and served and self.fault.failure == "hang" and self._fake is not None:
            self._fake.release_hangs()  # every hanging request: the fake cannot pick one

    def close(self) -> int:
        """The attempt ended: stop failing requests, settle a hung attempt's outcome, note
        what the teardown should report. Returns how many requests the fault answered."""
        if self._timer is not None:
            self._timer.cancel()
        self.state.supersede(self.record.call, None, only=self)
        self.expire(release=False)
        if self._override is None:
            return 0
        served = len(self._override.served)
        record = self.record
        if self.fault.failure == "hang" and served and record.outcome != SUCCEEDED:
            # Failed once let go, or cancelled at the worker's shutdown: either way the
            # server had timed the attempt out.
            record.finish(TIMED_OUT, self._timed_out, record.seconds)
        if not served and record.outcome != CANCELLED:
            matching = f" matching {self.fault.filters}" if self.fault.filters else ""
            self.state.problem(
                UNUSED.format(
                    fault=self.fault,
                    activity=record.activity,
                    attempt=record.attempt,
                    workflow=record.workflow_id,
                    matching=matching,
                )
            )
        others = [
            r
            for r in self._before + self.state.log.records()[self._mark : self._end]
            if r.call != record.call and r.fault != self.fault
        ]
        if served and others and not self.fault.filters:
            listed = ", ".join(f"{r.activity} attempt {r.attempt}" for r in others[:5])
            self.state.note(
                OVERLAP.format(
                    fault=self.fault,
                    activity=record.activity,
                    attempt=record.attempt,
                    others=listed,
                )
            )
        return served
