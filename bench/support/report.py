"""A measured figure and how it is printed next to its baseline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Measure:
    label: str
    count: int
    seconds: float
    latencies_ms: list[float] | None = None  # per operation, when measured by this process
    p50_ms: float | None = None
    p95_ms: float | None = None

    def __post_init__(self) -> None:
        if self.latencies_ms:
            ordered = sorted(self.latencies_ms)
            self.p50_ms = ordered[int(0.50 * (len(ordered) - 1))]
            self.p95_ms = ordered[int(0.95 * (len(ordered) - 1))]

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def text(self, unit: str) -> str:
        out = f"{self.label} {self.rate:,.0f} {unit}"
        if self.p50_ms is not None and self.p95_ms is not None:
            out += f" (p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms)"
        return out


def compare(figure: Measure, baseline: Measure, target: float, unit: str, lines: list[str]) -> None:
    ratio = figure.rate / baseline.rate if baseline.rate else 0.0
    verdict = "PASS" if ratio >= target else "MISS"
    line = f"{figure.text(unit)} | {baseline.text(unit)} | ratio {ratio:.2f} (target >= {target}) {verdict}"
    lines.append(line)
    print(line, flush=True)


def note(message: str) -> None:
    print(f"  . {message}", flush=True)
