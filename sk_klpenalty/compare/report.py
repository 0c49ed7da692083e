"""The report of a comparison: :class:`CompareResult`, and its number formats."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..metrics import METRICS
from .configs import BASELINE
from .peers import PEERS
from .stats import paired_differences, summarise
from .store import json_safe, make_folder

__all__ = ["CompareResult", "fmt", "fmt_p", "interval", "markdown_table"]

SHOWN = ("mse", "mae", "accuracy")


def fmt(value: float, signed: bool = False) -> str:
    """A number with about 3 significant digits; ``n/a`` when missing.

    Examples
    --------
    >>> fmt(71.214), fmt(-0.78213, signed=True), fmt(float("nan"))
    ('71.21', '-0.782', 'n/a')
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    digits = 1 if abs(value) >= 100 else 2 if abs(value) >= 1 else 3
    return f"{value:{'+' if signed else ''}.{digits}f}"


def fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def interval(row, signed: bool = False) -> str:
    low, high = fmt(row["ci_low"], signed), fmt(row["ci_high"], signed)
    return f"{fmt(row['mean'], signed)} [{low}, {high}]"


def delta(row) -> list[str]:
    return [interval(row, signed=True), fmt_p(row["p_value"])]


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


class CompareResult:
    """What :func:`compare_penalty` found.

    Attributes
    ----------
    records : pandas.DataFrame
        One row per configuration, repeat, fold, training size and decode,
        with every metric.
    job : dict
        The job's description (data, folds, configurations, settings).
    curves : pandas.DataFrame or None
        One row per fit and epoch: training loss (and validation loss and
        accuracy where the estimator holds out a validation split).
    """

    def __init__(self, records, job: dict, curves=None) -> None:
        self.records = records.reset_index(drop=True)
        self.job = job
        self.curves = curves

    @classmethod
    def from_search(cls, search, *, test_train_ratio: float | None = None):
        """The report of a fitted search over ``alpha`` (see
        :func:`~sk_klpenalty.compare.search.search_records`)."""
        from .search import search_records

        return cls(*search_records(search, test_train_ratio=test_train_ratio))

    @property
    def metrics(self) -> dict:
        """Metric column -> (display name, higher is better)."""
        return {k: tuple(v) for k, v in self.job.get("metrics", METRICS).items()}

    @property
    def configs(self) -> list[str]:
        """Configuration names in run order (baseline, grid, controls, peers)."""
        order = {name: i for i, name in enumerate(self.job["configs"])}
        peers = {name: i for i, name in enumerate(self.job.get("peer_settings", {}))}
        names = self.records["config"].unique().tolist()
        return sorted(
            names, key=lambda n: (order.get(n, len(order)), peers.get(n, -1), n)
        )

    @property
    def baseline_of(self) -> dict[str, str]:
        """Configuration -> the baseline it is compared with."""
        baselines = self.job.get("baselines", {})
        return {
            config: baselines.get(config, BASELINE)
            for config in self.configs
            if config != BASELINE and config not in set(baselines.values())
        }

    @property
    def peers(self) -> list[str]:
        """The peers' configuration names, in report order."""
        kinds = dict(zip(self.records["config"], self.records["kind"], strict=True))
        return [c for c in self.configs if kinds[c] in PEERS]

    @property
    def decodes(self) -> list[str]:
        return list(self.job["decodes"])

    def main_records(self):
        """The records at the largest training size."""
        if "train_size" not in self.records:
            return self.records
        sizes = self.records["train_size"]
        return self.records[sizes == sizes.max()]

    def summary(self):
        """Mean and 95% CI of each metric per configuration and decode."""
        ratio = self.job["test_train_ratio"]
        summary = summarise(self.main_records(), self.metrics, ratio)
        return summary.drop(columns="p_value")

    def comparison(self, reference: str = BASELINE):
        """Each configuration minus ``reference``, paired by fold and decode,
        with its corrected resampled t interval and p-value."""
        pairs = {c: reference for c in self.configs if c != reference}
        if reference == BASELINE:
            pairs = self.baseline_of
        ratio = self.job["test_train_ratio"]
        return paired_differences(self.main_records(), pairs, self.metrics, ratio)

    def peer_comparison(self):
        """Each peer minus the best penalty setting (as :meth:`comparison`)."""
        best = self.job.get("best_penalty")
        if not best or not self.peers:
            return self.comparison().iloc[:0]
        comparison = self.comparison(best)
        return comparison[comparison["config"].isin(self.peers)]

    def to_markdown(self, compare_metrics: Sequence[str] = SHOWN) -> str:
        """The report in markdown."""
        return self._markdown(compare_metrics)

    def _markdown(self, compare_metrics, images: bool = False) -> str:
        from . import sections

        shown = [m for m in compare_metrics if m in self.metrics] or list(self.metrics)
        summary = self.summary().set_index(["config", "decode", "metric"])
        rows = [
            [
                config,
                decode,
                *(interval(summary.loc[(config, decode, m)]) for m in self.metrics),
            ]
            for config in self.configs
            for decode in self.decodes
            if (config, decode, next(iter(self.metrics))) in summary.index
        ]
        header = ["configuration", "decode", *(v[0] for v in self.metrics.values())]
        lines = [
            "# Cross-entropy vs cross-entropy + KL penalty", "",
            *sections.header(self), "",
            "## Mean per configuration [95% CI]", "",
            *markdown_table(header, rows), "",
            "## Difference to the baseline (alpha=0, same decode, same folds)", "",
            sections.direction_note(self.metrics, shown), "",
            *self.comparison_table(shown),
            *sections.extra_sections(self, shown, images),
        ]  # fmt: skip
        return "\n".join(lines) + "\n"

    def comparison_table(self, metrics, reference=BASELINE, configs=None) -> list[str]:
        """Markdown lines: each configuration's Δ to ``reference`` per metric."""
        comparison = self.comparison(reference)
        if comparison.empty:
            return ["(no configuration besides the baseline)"]
        table = comparison.set_index(["config", "decode", "metric"])
        header = ["configuration", "decode"]
        for metric in metrics:
            header += [f"Δ{self.metrics[metric][0]} [95% CI]", "p"]
        rows = [
            [
                config,
                decode,
                *(c for m in metrics for c in delta(table.loc[(config, decode, m)])),
            ]
            for config in (self.configs if configs is None else configs)
            for decode in self.decodes
            if config != reference and (config, decode, metrics[0]) in table.index
        ]
        return markdown_table(header, rows)

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, path: str | Path | None = None):
        """Each metric per configuration with 95% CI error bars (a matplotlib
        Figure, written to ``path`` if given)."""
        from .plots import plot_summary

        return plot_summary(self, path)

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the report, its tables and plots to ``out_dir``."""
        from . import plots, sections

        out_dir = make_folder(out_dir)
        names = ("report.md", "results.csv", "summary.json", "plot.png")
        paths = {name: out_dir / name for name in names}
        markdown = self._markdown(SHOWN, images=True)
        paths["report.md"].write_text(markdown + "\n![plot](plot.png)\n")
        self.records.to_csv(paths["results.csv"], index=False)
        summary = {
            "job": self.job,
            "summary": self.summary().to_dict(orient="records"),
            "comparison": self.comparison().to_dict(orient="records"),
        }
        if self.peers:
            summary["peer_comparison"] = self.peer_comparison().to_dict("records")
        curve = sections.learning_curve_frame(self)
        if curve is not None:
            summary["learning_curve"] = curve.to_dict(orient="records")
        paths["summary.json"].write_text(json.dumps(json_safe(summary), indent=2))
        self.plot(paths["plot.png"])
        if self.curves is not None and not self.curves.empty:
            paths["curves.csv"] = out_dir / "curves.csv"
            self.curves.to_csv(paths["curves.csv"], index=False)
        shown = [m for m in SHOWN if m in self.metrics] or list(self.metrics)
        paths.update(plots.extra_plots(self, out_dir, shown))
        return paths
