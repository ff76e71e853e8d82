"""Which waiting run a free worker trains next. A worker keeps the networks it built (`warm.Engines`), so its next
run is one of the trace key it just trained while any wait; otherwise the key with the most waiting runs per worker
already on it, so that workers spread over the keys instead of each building every key."""

from __future__ import annotations

from collections import Counter, deque

from bn_mnist.core.training.runspec import RunSpec, trace_key


class RunQueue:
    """The runs not yet handed to a worker, by trace key, in the order given within each key."""

    def __init__(self, todo: list[RunSpec]) -> None:
        self.waiting: dict[str, deque[RunSpec]] = {}
        for spec in todo:
            self.waiting.setdefault(trace_key(spec.config), deque()).append(spec)
        self.training: Counter[str] = Counter()  # workers on each key now

    def take(self, after: RunSpec | None = None) -> RunSpec | None:
        """The next run for a worker that just finished `after` (None: a worker with no run yet), or None when no
        run waits."""
        warm = None if after is None else trace_key(after.config)
        if warm is not None:
            self.training[warm] -= 1
        if not self.waiting:
            return None
        if warm not in self.waiting:
            warm = max(self.waiting, key=lambda key: len(self.waiting[key]) / (1 + self.training[key]))
        spec = self.waiting[warm].popleft()
        if not self.waiting[warm]:
            del self.waiting[warm]
        self.training[warm] += 1
        return spec
