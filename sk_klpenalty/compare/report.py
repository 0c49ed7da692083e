"""The report of a comparison: :class:`CompareResult`."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path

from ..metrics import METRICS
from .configs import BASELINE, PEERS
from .sections import BY, DELTA, learning_curve_frame, markdown, stat_table
from .stats import paired_differences, summarise
from .store import json_safe, make_folder

__all__ = ["CompareResult"]

SHOWN = ("mse", "mae", "accuracy")


class CompareResult:
    """What :func:`compare_penalty` found.

    Parameters
    ----------
    records : pandas.DataFrame
        The records of the fits, as below.
    job : dict
        The job's description, as below.
    curves : pandas.DataFrame, optional
        The training curves, as below.

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
        """The report of a fitted search over ``alpha``.

        Parameters
        ----------
        search : GridSearchCV or RandomizedSearchCV, fitted
            Over ``alpha``, with ``alpha=0`` among its candidates.
        test_train_ratio : float, optional
            See :func:`~sk_klpenalty.compare.search.search_records`.

        Returns
        -------
        CompareResult
        """
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
        """The records at the largest training size.

        Returns
        -------
        pandas.DataFrame
            The rows of ``records`` the report's tables use.
        """
        if "train_size" not in self.records:
            return self.records
        sizes = self.records["train_size"]
        return self.records[sizes == sizes.max()]

    def summary(self):
        """Mean and 95% CI of each metric per configuration and decode.

        Returns
        -------
        pandas.DataFrame
            One row per configuration, decode and metric.
        """
        ratio = self.job["test_train_ratio"]
        summary = summarise(self.main_records(), self.metrics, ratio)
        return summary.drop(columns="p_value")

    def comparison(self, reference: str = BASELINE):
        """Each configuration minus ``reference``, paired by fold and decode.

        Parameters
        ----------
        reference : str, default="baseline"
            The configuration subtracted (the baseline: each configuration's
            own baseline).

        Returns
        -------
        pandas.DataFrame
            One row per configuration, decode and metric: the mean difference,
            its corrected resampled t interval and p-value.
        """
        pairs = {c: reference for c in self.configs if c != reference}
        if reference == BASELINE:
            pairs = self.baseline_of
        ratio = self.job["test_train_ratio"]
        return paired_differences(self.main_records(), pairs, self.metrics, ratio)

    def peer_comparison(self):
        """Each peer minus the best penalty setting.

        Returns
        -------
        pandas.DataFrame
            As :meth:`comparison`, for the peers (empty without them).
        """
        best = self.job.get("best_penalty")
        if not best or not self.peers:
            return self.comparison().iloc[:0]
        comparison = self.comparison(best)
        return comparison[comparison["config"].isin(self.peers)]

    def to_markdown(self, compare_metrics: Sequence[str] = SHOWN) -> str:
        """The report in markdown.

        Parameters
        ----------
        compare_metrics : sequence of str, default=("mse", "mae", "accuracy")
            The metrics of the difference tables.

        Returns
        -------
        str
            The header, the tables and the sections the job has.
        """
        return markdown(self, compare_metrics)

    def comparison_table(self, metrics, reference=BASELINE, configs=None) -> list[str]:
        """Markdown lines: each configuration's Δ to ``reference`` per metric.

        Parameters
        ----------
        metrics : sequence of str
            The metric columns shown.
        reference : str, default="baseline"
            As in :meth:`comparison`.
        configs : list of str, optional
            The configurations shown (default: all).

        Returns
        -------
        list of str
            The table's lines.
        """
        comparison = self.comparison(reference)
        if comparison.empty:
            return ["(no configuration besides the baseline)"]
        configs = self.configs if configs is None else configs
        configs = [c for c in configs if c != reference]
        keys = itertools.product(configs, self.decodes)
        names = {m: self.metrics[m][0] for m in metrics}
        return stat_table(comparison, BY, keys, names, DELTA)

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, path: str | Path | None = None):
        """Each metric per configuration with 95% CI error bars.

        Parameters
        ----------
        path : str or Path, optional
            Where to write the figure (PNG).

        Returns
        -------
        matplotlib.figure.Figure
            The figure.
        """
        from .plots import plot_summary

        return plot_summary(self, path)

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the report, its tables and plots to ``out_dir``.

        Parameters
        ----------
        out_dir : str or Path
            Created if missing.

        Returns
        -------
        dict
            File name -> path of each file written.
        """
        from . import plots

        out_dir = make_folder(out_dir)
        names = ("report.md", "results.csv", "summary.json", "plot.png")
        paths = {name: out_dir / name for name in names}
        text = markdown(self, SHOWN, images=True)
        paths["report.md"].write_text(text + "\n![plot](plot.png)\n")
        self.records.to_csv(paths["results.csv"], index=False)
        summary = {
            "job": self.job,
            "summary": self.summary().to_dict(orient="records"),
            "comparison": self.comparison().to_dict(orient="records"),
        }
        if self.peers:
            summary["peer_comparison"] = self.peer_comparison().to_dict("records")
        curve = learning_curve_frame(self)
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
