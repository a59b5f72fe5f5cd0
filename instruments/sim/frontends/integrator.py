"""Watt-hour and ampere-hour integration of a power analyzer, worked out at bench time.

Start/stop/reset as on the panel (Yokogawa WT1800 user's manual p.9-5 [C]). NORMal mode stops
at the timer (state TIMEUP) when the timer is set; CONTinuous restarts from zero at each
timer period. Integration samples u·i on its own grid, lazily up to the time of the query.
"""

from __future__ import annotations

import numpy as np

RESET, START, STOP, TIMEUP = "RESET", "START", "STOP", "TIMEUP"
# Sampling of the integration (design figure: ≥ 40 samples per 50 Hz cycle, whole cycles
# of the 100 Hz power ripple per second).
SAMPLE_RATE_HZ = 2000.0
CHUNK = 500_000


class Integrator:
    def __init__(self, elements: dict[int, tuple]):
        self.elements = elements  # element → (voltage signal, current signal)
        self.mode = "NORMAL"
        self.timer_s = 0.0
        self.reset()

    def reset(self) -> None:
        self.state = RESET
        self.elapsed = 0.0  # integration time of the present period
        self._since: float | None = None  # integrated up to here while running
        self.sums = {n: np.zeros(4) for n in self.elements}  # W·s +, W·s −, A·s +, A·s −

    def start(self, now: float) -> bool:
        if self.state not in (RESET, STOP):
            return False
        self.state, self._since = START, now
        return True

    def stop(self, now: float) -> bool:
        if self.state != START:
            return False
        self.advance(now)
        self.state, self._since = STOP, None
        return True

    def advance(self, now: float) -> None:
        while self.state == START and self._since < now:
            end, boundary = now, None
            if self.timer_s > 0:
                boundary = self._since + (self.timer_s - self.elapsed)
                end = min(end, boundary)
            self._accumulate(self._since, end)
            self.elapsed += end - self._since
            self._since = end
            if boundary is not None and end >= boundary:
                if self.mode in ("CONTINUOUS", "RCONTINUOUS"):
                    self.elapsed = 0.0
                    self.sums = {n: np.zeros(4) for n in self.elements}
                else:
                    self.state, self._since = TIMEUP, None

    def _accumulate(self, start: float, end: float) -> None:
        count = int(round((end - start) * SAMPLE_RATE_HZ))
        if count <= 0:
            return
        dt = (end - start) / count
        for first in range(0, count, CHUNK):
            n = min(CHUNK, count - first)
            times = start + (first + np.arange(n) + 0.5) * dt
            for element, (u_signal, i_signal) in self.elements.items():
                u, i = u_signal.sample(times), i_signal.sample(times)
                p = u * i
                self.sums[element] += dt * np.array([p[p > 0].sum(), p[p < 0].sum(), i[i > 0].sum(), i[i < 0].sum()])

    def value(self, function: str, element: int) -> float:
        """WH/WHP/WHM in Wh, AH/AHP/AHM in Ah, TIME in s."""
        if function == "TIME":
            return self.elapsed
        sums = self.sums[element] / 3600.0
        return {
            "WHP": sums[0],
            "WHM": sums[1],
            "WH": sums[0] + sums[1],
            "AHP": sums[2],
            "AHM": sums[3],
            "AH": sums[2] + sums[3],
        }[function]
