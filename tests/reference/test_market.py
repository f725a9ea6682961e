"""The seeded simulator, the CSV provider and the market-data activities."""

from __future__ import annotations

import itertools
import math
import os
import statistics
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from reference_workflows.market import (
    CORRUPT_MARKET_DATA,
    EXCHANGE_UNAVAILABLE,
    INVALID_MARKET_DATA_REQUEST,
    SAMPLE_DATA_DIR,
    TIMEFRAMES,
    UNKNOWN_SYMBOL,
    CsvMarketData,
    InvalidMarketDataRequestError,
    MarketDataFileError,
    MarketDataService,
    SimulatedMarket,
    UnknownSymbolError,
    bar_index,
    bar_start,
    load_csv_bars,
    symbol_profile,
)
from reference_workflows.models import MarketDataRequest

FRIDAY = datetime(2024, 6, 28, 15, 30, tzinfo=timezone.utc)
HEADER = "timestamp,open,high,low,close,volume\n"


def test_same_request_gives_the_same_bars() -> None:
    market = SimulatedMarket()
    assert market.bars("AAPL", "NYSE", "1d", 120, FRIDAY) == market.bars(
        "AAPL", "NYSE", "1d", 120, FRIDAY
    )


def test_a_bar_has_the_same_price_whichever_request_contains_it() -> None:
    market = SimulatedMarket()
    long = market.bars("AAPL", "NYSE", "1d", 120, FRIDAY)
    earlier = market.bars("AAPL", "NYSE", "1d", 30, FRIDAY - timedelta(days=14))
    by_time = {bar.timestamp: bar for bar in long}
    assert all(by_time[bar.timestamp] == bar for bar in earlier)


def test_prices_do_not_depend_on_the_process_hash_seed() -> None:
    # str hashes change with PYTHONHASHSEED; a simulator seeded with hash() would differ here.
    code = (
        "from datetime import datetime, timezone;"
        "from reference_workflows.market import SimulatedMarket;"
        "print(SimulatedMarket().bars('AAPL', 'NYSE', '1d', 3, "
        "datetime(2024, 6, 28, tzinfo=timezone.utc))[-1].close)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    root = Path(__file__).resolve().parents[2]
    output = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert float(output) == SimulatedMarket().bars("AAPL", "NYSE", "1d", 3, FRIDAY)[-1].close


def test_symbols_have_their_own_character() -> None:
    assert symbol_profile("AAPL") != symbol_profile("TSLA")
    assert symbol_profile("ZZZZ") == symbol_profile("ZZZZ")  # derived, yet stable
    market = SimulatedMarket()

    def realised(symbol: str) -> float:
        closes = [b.close for b in market.bars(symbol, "NYSE", "1d", 1_000, FRIDAY)]
        returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
        return statistics.stdev(returns) * math.sqrt(252)

    aapl, tsla = realised("AAPL"), realised("TSLA")
    assert aapl == pytest.approx(symbol_profile("AAPL").volatility, rel=0.2)
    assert tsla == pytest.approx(symbol_profile("TSLA").volatility, rel=0.2)
    assert tsla > aapl


@pytest.mark.parametrize("timeframe", list(TIMEFRAMES))
def test_bars_are_well_formed(timeframe: str) -> None:
    bars = SimulatedMarket().bars("MSFT", "NASDAQ", timeframe, 200, FRIDAY)
    assert len(bars) == 200
    for bar in bars:
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.low > 0 and bar.volume > 0
    assert all(a.timestamp < b.timestamp for a, b in itertools.pairwise(bars))
    assert bars[-1].timestamp <= FRIDAY < bars[-1].timestamp + TIMEFRAMES[timeframe]
    if timeframe != "1d":
        assert {b.timestamp - a.timestamp for a, b in itertools.pairwise(bars)} == {
            TIMEFRAMES[timeframe]
        }


def test_daily_bars_skip_weekends() -> None:
    bars = SimulatedMarket().bars("AAPL", "NYSE", "1d", 30, FRIDAY)
    assert {bar.timestamp.weekday() for bar in bars} <= {0, 1, 2, 3, 4}
    sunday = FRIDAY + timedelta(days=2)
    assert bar_index("1d", sunday) == bar_index("1d", FRIDAY)
    assert bar_start("1d", bar_index("1d", FRIDAY)) == datetime(2024, 6, 28, tzinfo=timezone.utc)


def test_service_uses_its_clock_when_the_request_has_no_as_of() -> None:
    service = MarketDataService(clock=lambda: FRIDAY)
    data = service.load(MarketDataRequest("aapl", bars=5))
    assert data.symbol == "AAPL"
    assert data.bars == SimulatedMarket().bars("AAPL", "NYSE", "1d", 5, FRIDAY)


async def test_fetch_market_data_activity() -> None:
    service = MarketDataService()
    data = await ActivityEnvironment().run(
        service.fetch_market_data, MarketDataRequest("TSLA", "NASDAQ", "1h", 48, FRIDAY)
    )
    assert (data.symbol, data.exchange, data.timeframe, len(data.bars)) == (
        "TSLA",
        "NASDAQ",
        "1h",
        48,
    )
    assert data.source == "simulator"


async def test_a_down_exchange_fails_retryably_until_it_comes_back() -> None:
    service = MarketDataService(down_exchanges=["nyse"])
    request = MarketDataRequest("AAPL", "NYSE", as_of=FRIDAY)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(service.fetch_market_data, request)
    assert raised.value.type == EXCHANGE_UNAVAILABLE
    assert not raised.value.non_retryable
    assert "NYSE" in str(raised.value)
    service.set_exchange_down("NYSE", down=False)
    assert service.down_exchanges == frozenset()
    assert len((await ActivityEnvironment().run(service.fetch_market_data, request)).bars) == 120


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (MarketDataRequest("not a ticker"), "is not a ticker"),
        (MarketDataRequest("AAPL", exchange="MOON"), "exchange 'MOON' is not supported"),
        (MarketDataRequest("AAPL", timeframe="2d"), "timeframe '2d' is not supported"),
        (MarketDataRequest("AAPL", bars=0), "bars=0 is out of range"),
    ],
)
async def test_invalid_requests_fail_without_retry(
    request_: MarketDataRequest, message: str
) -> None:
    with pytest.raises(ApplicationError, match=message) as raised:
        await ActivityEnvironment().run(MarketDataService().fetch_market_data, request_)
    assert raised.value.type == INVALID_MARKET_DATA_REQUEST
    assert raised.value.non_retryable


async def test_quote_straddles_the_last_close() -> None:
    service = MarketDataService()
    quote = await ActivityEnvironment().run(
        service.get_quote, MarketDataRequest("AAPL", as_of=FRIDAY)
    )
    last = SimulatedMarket().bars("AAPL", "NYSE", "1d", 1, FRIDAY)[-1]
    assert quote.bid < quote.last == last.close < quote.ask
    assert quote.timestamp == last.timestamp


def test_sample_csv_loads() -> None:
    bars = load_csv_bars(SAMPLE_DATA_DIR / "sample_aapl.csv")
    assert len(bars) == 120
    assert bars[0].timestamp.tzinfo is not None
    assert all(bar.low <= bar.close <= bar.high for bar in bars)


def test_csv_provider_serves_the_last_rows_up_to_as_of() -> None:
    service = MarketDataService(CsvMarketData.from_directory(SAMPLE_DATA_DIR))
    everything = load_csv_bars(SAMPLE_DATA_DIR / "sample_aapl.csv")
    cutoff = everything[99].timestamp
    data = service.load(MarketDataRequest("AAPL", bars=10, as_of=cutoff))
    assert data.source == "csv"
    assert data.bars == everything[90:100]


def test_csv_provider_errors_name_the_fault_and_the_fix() -> None:
    provider = CsvMarketData.from_directory(SAMPLE_DATA_DIR)
    with pytest.raises(
        UnknownSymbolError, match=r"no CSV market data for symbol 'TSLA'.*TSLA\.csv"
    ):
        provider.bars("TSLA", "NYSE", "1d", 10, FRIDAY)
    with pytest.raises(InvalidMarketDataRequestError, match="timeframe '1d', not '1h'"):
        provider.bars("AAPL", "NYSE", "1h", 10, FRIDAY)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CsvMarketData.from_directory(SAMPLE_DATA_DIR / "missing")


def test_missing_csv_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MarketDataFileError, match=r"nope\.csv' not found"):
        load_csv_bars(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            "2024-01-02,1,2,0.5,1.5,100\n2024-01-03,1,2,0.5,abc,100\n",
            r":3: bad 'close' value 'abc'",
        ),
        ("2024-13-02,1,2,0.5,1.5,100\n", r":2: bad 'timestamp' value '2024-13-02'"),
        ("2024-01-02,1,1.2,0.5,1.5,100\n", r":2: high 1.2 / low 0.5 do not bracket"),
        ("2024-01-03,1,2,0.5,1.5,100\n2024-01-02,1,2,0.5,1.5,100\n", r":3: .* is not after"),
        ("2024-01-02,1,2,0.5,-1.5,100\n", r":2: prices must be positive"),
    ],
)
def test_bad_csv_rows_are_reported_with_file_and_line(
    tmp_path: Path, rows: str, message: str
) -> None:
    path = tmp_path / "AAPL.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(MarketDataFileError, match=message) as raised:
        load_csv_bars(path)
    assert str(path) in str(raised.value)


def test_csv_without_the_expected_header_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "AAPL.csv"
    path.write_text("date,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n")
    with pytest.raises(
        MarketDataFileError, match=r":1: header lacks column\(s\) \['timestamp', 'volume'\]"
    ):
        load_csv_bars(path)


async def test_corrupt_csv_surfaces_as_a_non_retryable_activity_error(tmp_path: Path) -> None:
    (tmp_path / "AAPL.csv").write_text(HEADER + "2024-01-02,1,2,0.5,oops,100\n")
    service = MarketDataService(CsvMarketData.from_directory(tmp_path))
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(service.fetch_market_data, MarketDataRequest("AAPL"))
    assert raised.value.type == CORRUPT_MARKET_DATA
    assert raised.value.non_retryable
    with pytest.raises(ApplicationError) as unknown:
        await ActivityEnvironment().run(service.fetch_market_data, MarketDataRequest("MSFT"))
    assert unknown.value.type == UNKNOWN_SYMBOL
