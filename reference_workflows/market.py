"""Market data: a deterministic OHLCV simulator, a CSV provider for real data, and the activities.

The simulator needs no network and no files, yet looks like a market: each symbol has its own
price level, drift and volatility; candles have gaps, wicks and volume that rises with the size
of the move. Prices are a function of the bar's position in time only, never of the request, so
the same bar always has the same price, whichever ``as_of`` or ``bars`` asked for it: a long-running
agent that polls every day sees one continuous history, and a retried activity sees the same one.
"""

from __future__ import annotations

import csv
import hashlib
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from temporalio import activity

from .models import Bar, MarketData, MarketDataRequest, Quote, TradingError, run_in_thread

TIMEFRAMES: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}
"""Supported bar sizes; daily bars skip weekends, intraday bars run around the clock."""

PERIODS_PER_YEAR: dict[str, float] = {"1m": 252 * 390, "5m": 252 * 78, "1h": 252 * 6.5, "1d": 252}
"""Trading periods per year (252 sessions of 6.5 hours), for annualising volatility."""

SUPPORTED_EXCHANGES = frozenset({"NYSE", "NASDAQ", "AMEX", "LSE", "TSE", "HKEX", "XETRA"})
MAX_BARS = 5_000
SAMPLE_DATA_DIR = Path(__file__).parent / "data"
"""Bundled CSV data (``sample_aapl.csv``), usable with ``CsvMarketData.from_directory``."""

EXCHANGE_UNAVAILABLE = "ExchangeUnavailable"
INVALID_MARKET_DATA_REQUEST = "InvalidMarketDataRequest"
UNKNOWN_SYMBOL = "UnknownSymbol"
CORRUPT_MARKET_DATA = "CorruptMarketData"

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,11}$")
_UTC = timezone.utc
# Business-day numbering starts on a Monday; calendar drift is measured from REFERENCE_DATE so
# that profile base prices are "current" prices instead of compounding from a distant origin.
_BUSINESS_DAY_ORIGIN = datetime(2018, 1, 1, tzinfo=_UTC)
_REFERENCE_DATE = datetime(2024, 1, 1, tzinfo=_UTC)
_CHUNK = 64  # bars between independent anchor prices (see SimulatedMarket._noise)
_BARS_PER_SESSION = {"1m": 390.0, "5m": 78.0, "1h": 6.5, "1d": 1.0}


class ExchangeUnavailableError(TradingError, error_type=EXCHANGE_UNAVAILABLE, retryable=True):
    """The exchange is down; retrying later can succeed."""


class InvalidMarketDataRequestError(TradingError, error_type=INVALID_MARKET_DATA_REQUEST):
    """The request itself is wrong (symbol, exchange, timeframe or bar count)."""


class UnknownSymbolError(TradingError, error_type=UNKNOWN_SYMBOL):
    """The provider has no data for the symbol."""


class MarketDataFileError(TradingError, error_type=CORRUPT_MARKET_DATA):
    """A CSV file is missing or has a bad row; the message names the file and line."""


class MarketDataProvider(Protocol):
    """Where bars come from. Implementations may block; the activity runs them in a thread."""

    name: str

    def bars(
        self, symbol: str, exchange: str, timeframe: str, count: int, as_of: datetime
    ) -> list[Bar]:
        """The ``count`` most recent bars whose period starts at or before ``as_of``."""
        ...


@dataclass(frozen=True)
class SymbolProfile:
    """The statistical character of a simulated symbol."""

    base_price: float
    drift: float
    volatility: float
    daily_volume: float


KNOWN_PROFILES: dict[str, SymbolProfile] = {
    "AAPL": SymbolProfile(185.0, 0.12, 0.26, 55e6),
    "MSFT": SymbolProfile(410.0, 0.14, 0.24, 22e6),
    "GOOGL": SymbolProfile(165.0, 0.10, 0.29, 25e6),
    "AMZN": SymbolProfile(180.0, 0.13, 0.33, 40e6),
    "NVDA": SymbolProfile(115.0, 0.30, 0.52, 300e6),
    "TSLA": SymbolProfile(230.0, 0.05, 0.60, 95e6),
    "SPY": SymbolProfile(520.0, 0.08, 0.15, 60e6),
}


def _unit(*parts: object) -> float:
    """A uniform number in [0, 1) that depends only on ``parts`` (stable across processes)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _rng(*parts: object) -> random.Random:
    # hashlib, not hash(): str hashes are salted per process (PYTHONHASHSEED).
    return random.Random(int(_unit(*parts) * 2**53))


def symbol_profile(symbol: str) -> SymbolProfile:
    """The profile of ``symbol``: a known one, or one derived from the symbol's hash."""
    if symbol in KNOWN_PROFILES:
        return KNOWN_PROFILES[symbol]
    return SymbolProfile(
        base_price=round(10.0 + 490.0 * _unit(symbol, "price"), 2),
        drift=-0.05 + 0.25 * _unit(symbol, "drift"),
        volatility=0.15 + 0.50 * _unit(symbol, "volatility"),
        daily_volume=2e5 * 100 ** _unit(symbol, "volume"),
    )


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=_UTC) if moment.tzinfo is None else moment.astimezone(_UTC)


def bar_index(timeframe: str, moment: datetime) -> int:
    """The number of the bar whose period contains ``moment`` (weekends map to Friday)."""
    moment = _as_utc(moment)
    if timeframe == "1d":
        weeks, weekday = divmod((moment - _BUSINESS_DAY_ORIGIN).days, 7)
        return 5 * weeks + min(weekday, 4)
    return math.floor(moment.timestamp() / TIMEFRAMES[timeframe].total_seconds())


def bar_start(timeframe: str, index: int) -> datetime:
    """The start of bar number ``index``; the inverse of ``bar_index``."""
    if timeframe == "1d":
        weeks, weekday = divmod(index, 5)
        return _BUSINESS_DAY_ORIGIN + timedelta(days=7 * weeks + weekday)
    return datetime.fromtimestamp(index * TIMEFRAMES[timeframe].total_seconds(), tz=_UTC)


class SimulatedMarket:
    """Deterministic seeded OHLCV bars for any well-formed symbol.

    Log price = trend + noise. The trend compounds the symbol's drift in calendar time. The
    noise is a geometric random walk between anchor points every 64 bars (a Brownian bridge):
    anchors are independent draws scaled so that consecutive anchors differ like a 64-step
    walk would, which keeps every bar computable on its own and stops prices from wandering off
    over the years.
    """

    name = "simulator"

    def bars(
        self, symbol: str, exchange: str, timeframe: str, count: int, as_of: datetime
    ) -> list[Bar]:
        """The ``count`` bars ending with the one that contains ``as_of``."""
        profile = symbol_profile(symbol)
        sigma = profile.volatility / math.sqrt(PERIODS_PER_YEAR[timeframe])
        last = bar_index(timeframe, as_of)
        chunks: dict[int, list[float]] = {}
        closes = {
            i: self._log_close(symbol, timeframe, profile, sigma, i, chunks)
            for i in range(last - count, last + 1)
        }
        volume_scale = profile.daily_volume / _BARS_PER_SESSION[timeframe]
        volume_scale *= 0.6 + 0.8 * _unit(symbol, exchange, "venue-share")
        return [
            self._bar(symbol, exchange, timeframe, sigma, i, closes[i - 1], closes[i], volume_scale)
            for i in range(last - count + 1, last + 1)
        ]

    def price_at(self, symbol: str, moment: datetime, timeframe: str = "1d") -> float:
        """The close of the bar containing ``moment``: the simulator's "current price"."""
        return self.bars(symbol, "NYSE", timeframe, 1, moment)[-1].close

    def _log_close(
        self,
        symbol: str,
        timeframe: str,
        profile: SymbolProfile,
        sigma: float,
        index: int,
        chunks: dict[int, list[float]],
    ) -> float:
        years = (bar_start(timeframe, index) - _REFERENCE_DATE).total_seconds() / (365.25 * 86400)
        trend = math.log(profile.base_price) + (profile.drift - sigma**2 / 2) * years
        chunk, offset = divmod(index, _CHUNK)
        if chunk not in chunks:
            chunks[chunk] = self._noise(symbol, timeframe, sigma, chunk)
        return trend + chunks[chunk][offset]

    @staticmethod
    def _noise(symbol: str, timeframe: str, sigma: float, chunk: int) -> list[float]:
        """Noise of one chunk's bars: a bridge from this chunk's anchor to the next one's."""
        anchor_scale = sigma * math.sqrt(_CHUNK / 2)
        start = anchor_scale * _rng(symbol, timeframe, "anchor", chunk).gauss(0.0, 1.0)
        end = anchor_scale * _rng(symbol, timeframe, "anchor", chunk + 1).gauss(0.0, 1.0)
        rng = _rng(symbol, timeframe, "walk", chunk)
        walk = [0.0]
        for _ in range(_CHUNK):
            walk.append(walk[-1] + rng.gauss(0.0, sigma))
        return [
            start + (end - start) * k / _CHUNK + walk[k] - walk[_CHUNK] * k / _CHUNK
            for k in range(_CHUNK)
        ]

    @staticmethod
    def _bar(
        symbol: str,
        exchange: str,
        timeframe: str,
        sigma: float,
        index: int,
        previous_log_close: float,
        log_close: float,
        volume_scale: float,
    ) -> Bar:
        rng = _rng(symbol, exchange, timeframe, "bar", index)
        # Daily bars open with an overnight gap; intraday bars open where the last one closed.
        gap = rng.gauss(0.0, 0.3 * sigma) if timeframe == "1d" else 0.0
        open_ = round(math.exp(previous_log_close + gap), 2)
        close = round(math.exp(log_close), 2)
        high = round(max(open_, close) * math.exp(abs(rng.gauss(0.0, 0.5 * sigma))), 2)
        low = round(min(open_, close) * math.exp(-abs(rng.gauss(0.0, 0.5 * sigma))), 2)
        # Volume rises with the size of the move, as it does in real markets.
        move = abs(log_close - previous_log_close) / sigma
        volume = volume_scale * math.exp(rng.gauss(0.0, 0.25)) * (0.7 + 0.3 * move)
        return Bar(
            timestamp=bar_start(timeframe, index),
            open=max(open_, 0.01),
            high=max(high, open_, close, 0.01),
            low=max(min(low, open_, close), 0.01),
            close=max(close, 0.01),
            volume=max(1, int(volume)),
        )


def load_csv_bars(path: str | Path) -> list[Bar]:
    """Read ``timestamp,open,high,low,close,volume`` rows (header required), oldest first.

    Raises:
        MarketDataFileError: the file is missing, or a row is malformed or out of order; the
            message names the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise MarketDataFileError(
            f"market data file {str(path)!r} not found; create it with the header "
            "'timestamp,open,high,low,close,volume' or point the provider at another directory"
        )
    bars: list[Bar] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"timestamp", "open", "high", "low", "close", "volume"} - set(
            reader.fieldnames or ()
        )
        if missing:
            raise MarketDataFileError(
                f"{path}:1: header lacks column(s) {sorted(missing)}; expected "
                "'timestamp,open,high,low,close,volume'"
            )
        for row in reader:
            bar = _parse_row(path, reader.line_num, row)
            if bars and bar.timestamp <= bars[-1].timestamp:
                raise MarketDataFileError(
                    f"{path}:{reader.line_num}: timestamp {row['timestamp']!r} is not after the "
                    "previous row's; sort the file oldest first and remove duplicates"
                )
            bars.append(bar)
    return bars


def _parse_row(path: Path, line: int, row: Mapping[str, str | None]) -> Bar:
    def number(column: str) -> float:
        text = row.get(column)
        try:
            return float(text or "")
        except ValueError:
            raise MarketDataFileError(
                f"{path}:{line}: bad {column!r} value {text!r}; expected a number"
            ) from None

    try:
        timestamp = _as_utc(datetime.fromisoformat((row.get("timestamp") or "").strip()))
    except ValueError:
        raise MarketDataFileError(
            f"{path}:{line}: bad 'timestamp' value {row.get('timestamp')!r}; expected an ISO "
            "date or date-time such as '2024-01-02' or '2024-01-02T14:30:00+00:00'"
        ) from None
    open_, high, low, close, volume = map(number, ("open", "high", "low", "close", "volume"))
    if min(open_, high, low, close) <= 0 or volume < 0:
        raise MarketDataFileError(f"{path}:{line}: prices must be positive and volume >= 0")
    if high < max(open_, close) or low > min(open_, close):
        raise MarketDataFileError(
            f"{path}:{line}: high {high} / low {low} do not bracket open {open_} and close {close}"
        )
    return Bar(timestamp, open_, high, low, close, int(volume))


class CsvMarketData:
    """Real data from CSV files, one file per symbol, all of one timeframe."""

    name = "csv"

    def __init__(self, files: Mapping[str, str | Path], *, timeframe: str = "1d") -> None:
        self._files = {symbol.upper(): Path(path) for symbol, path in files.items()}
        self.timeframe = timeframe

    @classmethod
    def from_directory(cls, directory: str | Path, *, timeframe: str = "1d") -> CsvMarketData:
        """Map every ``SYMBOL.csv`` (or ``sample_symbol.csv``) in ``directory`` to its symbol."""
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"market data directory {str(directory)!r} does not exist")
        files = {
            path.stem.upper().removeprefix("SAMPLE_"): path for path in directory.glob("*.csv")
        }
        return cls(files, timeframe=timeframe)

    @property
    def symbols(self) -> list[str]:
        """Symbols with a file."""
        return sorted(self._files)

    def bars(
        self, symbol: str, exchange: str, timeframe: str, count: int, as_of: datetime
    ) -> list[Bar]:
        """The last ``count`` rows at or before ``as_of``."""
        if symbol not in self._files:
            raise UnknownSymbolError(
                f"no CSV market data for symbol {symbol!r}; available: {self.symbols}; "
                f"add a file named {symbol}.csv"
            )
        if timeframe != self.timeframe:
            raise InvalidMarketDataRequestError(
                f"CSV data for {symbol!r} has timeframe {self.timeframe!r}, not {timeframe!r}; "
                f"request timeframe={self.timeframe!r}"
            )
        as_of = _as_utc(as_of)
        rows = [bar for bar in load_csv_bars(self._files[symbol]) if bar.timestamp <= as_of]
        return rows[-count:]


class MarketDataService:
    """Serves bars from a provider as Temporal activities, with exchanges that can be "down".

    Args:
        provider: where bars come from; the seeded simulator by default.
        down_exchanges: exchanges that fail with a retryable ``ExchangeUnavailable`` error.
        clock: "now" for requests without ``as_of``; wall-clock UTC by default.
    """

    def __init__(
        self,
        provider: MarketDataProvider | None = None,
        *,
        down_exchanges: Iterable[str] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.provider: MarketDataProvider = provider or SimulatedMarket()
        self._down = {exchange.upper() for exchange in down_exchanges}
        self._clock = clock or (lambda: datetime.now(_UTC))

    @property
    def down_exchanges(self) -> frozenset[str]:
        """Exchanges currently configured as down."""
        return frozenset(self._down)

    def set_exchange_down(self, exchange: str, down: bool = True) -> None:
        """Take an exchange down or bring it back (e.g. between retries in a test)."""
        if down:
            self._down.add(exchange.upper())
        else:
            self._down.discard(exchange.upper())

    def load(self, request: MarketDataRequest) -> MarketData:
        """Validate ``request`` and return its bars (blocking; for in-process callers).

        Raises:
            InvalidMarketDataRequestError, UnknownSymbolError, MarketDataFileError,
            ExchangeUnavailableError.
        """
        symbol, exchange = request.symbol.strip().upper(), request.exchange.strip().upper()
        _validate(symbol, exchange, request)
        if exchange in self._down:
            raise ExchangeUnavailableError(
                f"exchange {exchange!r} is unavailable; the request for {symbol!r} can be retried"
            )
        as_of = request.as_of if request.as_of is not None else self._clock()
        bars = self.provider.bars(symbol, exchange, request.timeframe, request.bars, as_of)
        if not bars:
            raise UnknownSymbolError(f"no {request.timeframe} bars for {symbol!r} before {as_of}")
        return MarketData(symbol, exchange, request.timeframe, bars, source=self.provider.name)

    @activity.defn
    async def fetch_market_data(self, request: MarketDataRequest) -> MarketData:
        """Activity: the bars ``request`` asks for.

        Raises ``ApplicationError`` of type ``ExchangeUnavailable`` (retryable) or
        ``InvalidMarketDataRequest`` / ``UnknownSymbol`` / ``CorruptMarketData`` (not retryable).
        """
        return await run_in_thread(self.load, request)

    @activity.defn
    async def get_quote(self, request: MarketDataRequest) -> Quote:
        """Activity: bid/ask/last from the latest bar at ``request.as_of``."""
        data = await run_in_thread(self.load, _one_bar(request))
        last = data.bars[-1]
        half_spread = max(0.01, round(last.close * 0.0001, 2))
        return Quote(
            data.symbol,
            data.exchange,
            bid=round(last.close - half_spread, 2),
            ask=round(last.close + half_spread, 2),
            last=last.close,
            timestamp=last.timestamp,
        )


def _one_bar(request: MarketDataRequest) -> MarketDataRequest:
    return MarketDataRequest(request.symbol, request.exchange, request.timeframe, 1, request.as_of)


def _validate(symbol: str, exchange: str, request: MarketDataRequest) -> None:
    if not _SYMBOL.match(symbol):
        raise InvalidMarketDataRequestError(
            f"symbol {request.symbol!r} is not a ticker; use 1-12 letters, digits, '.' or '-' "
            "starting with a letter, e.g. 'AAPL' or 'BRK.B'"
        )
    if exchange not in SUPPORTED_EXCHANGES:
        raise InvalidMarketDataRequestError(
            f"exchange {request.exchange!r} is not supported; use one of "
            f"{sorted(SUPPORTED_EXCHANGES)}"
        )
    if request.timeframe not in TIMEFRAMES:
        raise InvalidMarketDataRequestError(
            f"timeframe {request.timeframe!r} is not supported; use one of {list(TIMEFRAMES)}"
        )
    if not 1 <= request.bars <= MAX_BARS:
        raise InvalidMarketDataRequestError(
            f"bars={request.bars!r} is out of range; ask for 1 to {MAX_BARS} bars"
        )
