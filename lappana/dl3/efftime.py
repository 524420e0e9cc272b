"""lstchain's effective-time estimate and the run's good time intervals, chunk by chunk.

On shower events (``event_type == 32``) before any cut, lstchain
(``lstchain.reco.utils.get_effective_time``) takes

* the elapsed time: the sum of the time differences between consecutive events,
  leaving out differences of 0.01 s or more (the DAQ stopped);
* the dead time per event τ: the smallest ``delta_t`` in (0, 0.01) s;
* the true rate R = 1 / (mean(delta_t) − τ) over the same ``delta_t``;
* the effective time t_eff = elapsed / (1 + R τ).

:class:`EffectiveTime` computes the same from chunks, so the run need not fit in
memory, and also the good time intervals: the stretches between those breaks.
Their total length is exactly the elapsed time, so ΣGTI × DEADC equals LIVETIME.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lappana.constants import EVENT_TYPE_SHOWER
from lappana.errors import LappanaError

__all__ = ["BREAK_S", "EffectiveTime"]

#: A gap between consecutive showers this long or longer means the DAQ stopped.
BREAK_S = 0.01


@dataclass
class EffectiveTime:
    """Accumulate lstchain's effective time and the good time intervals of a run."""

    elapsed_s: float = 0.0
    n_delta_t: int = 0
    sum_delta_t: float = 0.0
    min_delta_t: float = np.inf
    n_showers: int = 0
    _first_time: float | None = None
    _last_time: float | None = None
    _segment_start: float | None = None
    _segments: list[tuple[float, float]] = field(default_factory=list)

    def add(self, event_type: np.ndarray, dragon_time: np.ndarray, delta_t: np.ndarray) -> None:
        """Add the next chunk of events, in file order.

        Parameters
        ----------
        event_type, dragon_time, delta_t : numpy.ndarray
            The chunk's columns (dragon_time in unix seconds, delta_t in s).
        """
        showers = np.asarray(event_type) == EVENT_TYPE_SHOWER
        times = np.asarray(dragon_time, dtype=np.float64)[showers]
        dts = np.asarray(delta_t, dtype=np.float64)[showers]
        if times.size == 0:
            return
        self.n_showers += times.size
        if self._last_time is None:
            self._first_time = float(times[0])
            self._segment_start = float(times[0])
        # diffs[i]: the gap before times[i] (0 before the run's first shower)
        diffs = np.diff(times, prepend=times[0] if self._last_time is None else self._last_time)
        good = diffs < BREAK_S
        self.elapsed_s += float(np.sum(diffs[good]))
        for i in np.flatnonzero(~good):
            # a break before event i of this chunk (segments of one event are kept until gti())
            end = times[i - 1] if i > 0 else self._last_time
            self._segments.append((self._segment_start, float(end)))
            self._segment_start = float(times[i])
        self._last_time = float(times[-1])
        dts = dts[(dts > 0.0) & (dts < BREAK_S)]
        if dts.size:
            self.n_delta_t += dts.size
            self.sum_delta_t += float(np.sum(dts))
            self.min_delta_t = min(self.min_delta_t, float(np.min(dts)))

    def gti(self) -> list[tuple[float, float]]:
        """The good time intervals (unix s): stretches of showers without a break."""
        segments = list(self._segments)
        if self._last_time is not None:
            segments.append((self._segment_start, self._last_time))
        return [(a, b) for a, b in segments if b > a]

    def merge(self, later: "EffectiveTime") -> None:
        """Add the accumulation of the events that follow this one's (a later part of the run)."""
        if later.n_showers == 0:
            self.n_delta_t += later.n_delta_t
            return
        if self.n_showers == 0:
            self.__dict__.update({k: (list(v) if isinstance(v, list) else v) for k, v in later.__dict__.items()})
            return
        gap = later._first_time - self._last_time
        self.elapsed_s += later.elapsed_s
        if gap < BREAK_S:
            self.elapsed_s += gap
            if later._segments:
                first_end = later._segments[0][1]
                self._segments.append((self._segment_start, first_end))
                self._segments.extend(later._segments[1:])
                self._segment_start = later._segment_start
        else:
            self._segments.append((self._segment_start, self._last_time))
            self._segments.extend(later._segments)
            self._segment_start = later._segment_start
        self._last_time = later._last_time
        self.n_showers += later.n_showers
        self.n_delta_t += later.n_delta_t
        self.sum_delta_t += later.sum_delta_t
        self.min_delta_t = min(self.min_delta_t, later.min_delta_t)

    def first_time(self) -> float:
        """Unix time of the first shower."""
        self._require()
        return float(self._first_time)

    def last_time(self) -> float:
        """Unix time of the last shower."""
        self._require()
        return float(self._last_time)

    def dead_time_s(self) -> float:
        """lstchain's dead time per event: the smallest delta_t in (0, 0.01) s."""
        self._require()
        return self.min_delta_t

    def rate_hz(self) -> float:
        """lstchain's estimate of the true (dead-time-free) shower rate."""
        self._require()
        return 1.0 / (self.sum_delta_t / self.n_delta_t - self.min_delta_t)

    def effective_s(self) -> float:
        """The effective (live) time in seconds, lstchain's t_eff."""
        self._require()
        return self.elapsed_s / (1.0 + self.rate_hz() * self.min_delta_t)

    def _require(self) -> None:
        if self.n_showers == 0:
            raise LappanaError("The run has no shower events (event_type 32), so it has no observation time.")
        if self.n_delta_t == 0:
            raise LappanaError(
                "No shower event of the run has a delta_t between 0 and 0.01 s, so its dead time "
                "cannot be estimated; check the delta_t column of the DL2 file."
            )
