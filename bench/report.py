"""The one results table: scenario | figure | reference figure | ratio | target | pass/fail."""

import operator
from dataclasses import dataclass

_OPS = {"<=": (operator.le, "≤"), ">=": (operator.ge, "≥")}


@dataclass
class Target:
    """``ratio <op> bound``; ``percent`` shows the ratio as a percentage (0.3 -> 30%)."""

    op: str
    bound: float
    percent: bool = False
    label: str = ""  # shown instead of the bound, e.g. "≥ 2,000 rows/s"

    def met(self, ratio: float) -> bool:
        return _OPS[self.op][0](ratio, self.bound)

    def show(self, value: float) -> str:
        return f"{value * 100:.0f}%" if self.percent else f"{value:.2f}x"

    def __str__(self) -> str:
        return self.label or f"{_OPS[self.op][1]} {self.show(self.bound)}"


@dataclass
class Row:
    scenario: str
    figure: str
    reference: str = "—"
    ratio: str = "—"
    target: str = "—"
    verdict: str = "info"
    order: float = 0


class Report:
    def __init__(self):
        self.rows: list[Row] = []

    def compare(
        self, order: float, scenario: str, figure: str, reference: str, ratio: float, target: Target
    ) -> None:
        self.rows.append(
            Row(
                scenario,
                figure,
                reference,
                target.show(ratio),
                str(target),
                "PASS" if target.met(ratio) else "FAIL",
                order,
            )
        )

    def info(
        self, order: float, scenario: str, figure: str, reference: str = "—", ratio: str = "—"
    ) -> None:
        self.rows.append(Row(scenario, figure, reference, ratio, order=order))

    def verdict(
        self,
        order: float,
        scenario: str,
        figure: str,
        reference: str,
        ratio: str,
        target: str,
        passed: bool,
    ) -> None:
        """A row whose rule is not one ratio against one bound (it says which in ``target``)."""
        self.rows.append(
            Row(scenario, figure, reference, ratio, target, "PASS" if passed else "FAIL", order)
        )

    def not_run(self, order: float, scenario: str, reason: str, target: str = "—") -> None:
        self.rows.append(
            Row(scenario, f"not run: {reason}", target=target, verdict="not run", order=order)
        )

    def table(self) -> str:
        header = ("scenario", "figure", "reference figure", "ratio", "target", "pass/fail")
        rows = [
            (r.scenario, r.figure, r.reference, r.ratio, r.target, r.verdict)
            for r in sorted(self.rows, key=lambda r: r.order)
        ]
        widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

        def line(cells) -> str:
            return (
                "| "
                + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))
                + " |"
            )

        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(header), rule, *(line(r) for r in rows)])

    def summary(self) -> str:
        verdicts = [r.verdict for r in self.rows]
        return (
            f"{verdicts.count('PASS')} passed, {verdicts.count('FAIL')} failed, "
            f"{verdicts.count('not run')} not run, {verdicts.count('info')} informational"
        )
