"""A clock the tests move by hand (elapsed and ETA are never wall-clock timings in tests)."""


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
