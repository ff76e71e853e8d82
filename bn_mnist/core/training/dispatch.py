"""Which waiting run a free worker trains next. A worker keeps the networks it built (`warm.Engines`), so its next
run is one of the trace key it just trained while any wait; otherwise one of a key no worker is on, in the plan's
order (which lists long runs first), so that workers spread over the keys instead of each building every key; when
every key has a worker, the key with the most waiting runs per worker on it."""

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

    def __len__(self) -> int:
        return sum(map(len, self.waiting.values()))

    def take(self, warm: RunSpec | None = None) -> RunSpec | None:
        """The next run for a free worker that keeps the network of `warm` (None: a worker with none), or None when
        no run waits."""
        if not self.waiting:
            return None
        key = None if warm is None else trace_key(warm.config)
        if key not in self.waiting:
            idle = [key for key in self.waiting if not self.training[key]]
            key = idle[0] if idle else max(self.waiting, key=lambda k: len(self.waiting[k]) / (1 + self.training[k]))
        spec = self.waiting[key].popleft()
        if not self.waiting[key]:
            del self.waiting[key]
        self.training[key] += 1
        return spec

    def done(self, spec: RunSpec) -> None:
        """A worker finished `spec` (or stopped it): it is no longer on its key."""
        self.training[trace_key(spec.config)] -= 1
