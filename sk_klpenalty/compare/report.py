"""The report of a comparison: :class:`CompareResult` (tables, markdown, plot,
files)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..metrics import METRICS
from . import sections
from .configs import BASELINE
from .formatting import finish_figure
from .formatting import fmt as _fmt
from .formatting import fmt_p as _fmt_p
from .formatting import markdown_table as _markdown_table
from .peers import PEERS
from .stats import paired_differences, summarise
from .store import json_safe, make_folder

__all__ = ["CompareResult"]


class CompareResult:
    """What :func:`compare_penalty` found.

    Attributes
    ----------
    records : pandas.DataFrame
        One row per configuration, repeat, fold and decode with every metric.
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
        self._summary = None
        self._comparisons = {}

    @classmethod
    def from_search(cls, search, *, test_train_ratio: float | None = None):
        """The report of a fitted ``GridSearchCV`` / ``RandomizedSearchCV``.

        See :func:`sk_klpenalty.compare.search.search_records`.
        """
        from .search import search_records

        return cls(*search_records(search, test_train_ratio=test_train_ratio))

    @property
    def metrics(self) -> dict:
        """Metric column -> (display name, higher is better)."""
        return {k: tuple(v) for k, v in self.job.get("metrics", METRICS).items()}

    @property
    def baseline_of(self) -> dict[str, str]:
        """Configuration -> the baseline it is compared with."""
        baselines = self.job.get("baselines", {})
        return {
            config: baselines.get(config, BASELINE)
            for config in self.configs
            if config != BASELINE and config not in set(baselines.values())
        }

    def main_records(self):
        """The records at the largest training size (all of them, usually)."""
        if "train_size" not in self.records:
            return self.records
        sizes = self.records["train_size"]
        return self.records[sizes == sizes.max()]

    @property
    def configs(self) -> list[str]:
        """Configuration names in run order (baseline first, then the grid,
        the controls and the peers)."""
        order = {name: i for i, name in enumerate(self.job["configs"])}
        peers = {name: i for i, name in enumerate(self.job.get("peer_settings", {}))}
        names = self.records["config"].unique().tolist()
        return sorted(
            names, key=lambda n: (order.get(n, len(order)), peers.get(n, -1), n)
        )

    @property
    def peers(self) -> list[str]:
        """The peers' configuration names, in report order."""
        kinds = dict(zip(self.records["config"], self.records["kind"], strict=True))
        return [c for c in self.configs if kinds[c] in PEERS]

    @property
    def decodes(self) -> list[str]:
        return list(self.job["decodes"])

    def summary(self):
        """Mean and 95% CI of each metric per configuration and decode."""
        if self._summary is None:
            ratio = self.job["test_train_ratio"]
            summary = summarise(self.main_records(), self.metrics, ratio)
            self._summary = summary.drop(columns="p_value")
        return self._summary

    def comparison(self, reference: str = BASELINE):
        """Each configuration minus ``reference``, paired by fold and decode.

        ``mean`` is the mean difference (negative = lower than the reference,
        by default the baseline), with the corrected resampled t interval and
        p-value.
        """
        if reference not in self._comparisons:
            if reference == BASELINE:
                baseline_of = self.baseline_of
            else:
                baseline_of = {c: reference for c in self.configs if c != reference}
            self._comparisons[reference] = paired_differences(
                self.main_records(),
                baseline_of,
                self.metrics,
                self.job["test_train_ratio"],
            )
        return self._comparisons[reference]

    def peer_comparison(self):
        """Each peer minus the best penalty setting (as :meth:`comparison`)."""
        best = self.job.get("best_penalty")
        if not best or not self.peers:
            return self.comparison().iloc[:0]
        comparison = self.comparison(best)
        return comparison[comparison["config"].isin(self.peers)]

    # ---------------------------------------------------------- rendering

    def to_markdown(
        self, compare_metrics: Sequence[str] = ("mse", "mae", "accuracy")
    ) -> str:
        """The report: settings, per-configuration table, differences table,
        and the sections the job has (nested tuning, each arm decoded for the
        metric, learning curve, training curves)."""
        return self._markdown(compare_metrics)

    def _markdown(self, compare_metrics, images: bool = False) -> str:
        compare_metrics = [m for m in compare_metrics if m in self.metrics]
        compare_metrics = compare_metrics or list(self.metrics)
        lines = [
            "# Cross-entropy vs cross-entropy + KL penalty",
            "",
            *sections.header(self),
            "",
            "## Mean per configuration [95% CI]",
            "",
            *self._summary_table(),
            "",
            "## Difference to the baseline (alpha=0, same decode, same folds)",
            "",
            sections.direction_note(self.metrics, compare_metrics),
            "",
            *self._comparison_table(compare_metrics),
        ]
        lines += self._peer_sections(compare_metrics)
        lines += sections.best_setting_note(self)
        lines += sections.extra_sections(self, compare_metrics, images)
        return "\n".join(lines) + "\n"

    def _summary_table(self) -> list[str]:
        summary = self.summary().set_index(["config", "decode", "metric"])
        metrics = self.metrics
        header = ["configuration", "decode", *(metrics[m][0] for m in metrics)]
        rows = []
        for config in self.configs:
            for decode in self.decodes:
                if (config, decode, next(iter(metrics))) not in summary.index:
                    continue
                cells = [config, decode]
                for metric in metrics:
                    s = summary.loc[(config, decode, metric)]
                    cells.append(
                        f"{_fmt(s['mean'])} [{_fmt(s['ci_low'])}, {_fmt(s['ci_high'])}]"
                    )
                rows.append(cells)
        return _markdown_table(header, rows)

    def _peer_sections(self, metrics: Sequence[str]) -> list[str]:
        """The peers' settings, and each peer against the best penalty."""
        settings = self.job.get("peer_settings")
        if not self.peers or not settings:
            return []
        lines = [
            "",
            "## Peers: the methods a user would otherwise pick",
            "",
            "Same folds, seeds, network trunk, epochs and optimiser as the "
            "baseline; each is in both tables above. Settings:",
            "",
        ]
        for name in self.peers:
            entry = dict(settings.get(name, {}))
            estimator = entry.pop("estimator", "?")
            described = ", ".join(f"{k}={v}" for k, v in entry.items())
            lines.append(f"- {name}: `{estimator}` {described}".rstrip())
        best = self.job.get("best_penalty")
        if not best:
            return lines
        lines += [
            "",
            f"## Peers against the best penalty setting ({best}, same decode, "
            "same folds)",
            "",
            "Negative Δ for MSE/MAE and positive Δ for accuracy mean the peer is "
            "better than the penalty. The best setting was chosen on these "
            "folds, which favours it.",
            "",
            *self._comparison_table(metrics, best, self.peers),
        ]
        return lines

    def _comparison_table(
        self,
        metrics: Sequence[str],
        reference: str = BASELINE,
        configs: Sequence[str] | None = None,
    ) -> list[str]:
        comparison = self.comparison(reference)
        if comparison.empty:
            return ["(no configuration besides the baseline)"]
        table = comparison.set_index(["config", "decode", "metric"])
        header = ["configuration", "decode"]
        for metric in metrics:
            header += [f"Δ{self.metrics[metric][0]} [95% CI]", "p"]
        rows = []
        for config in self.configs if configs is None else configs:
            if config == reference:
                continue
            for decode in self.decodes:
                if (config, decode, metrics[0]) not in table.index:
                    continue
                cells = [config, decode]
                for metric in metrics:
                    c = table.loc[(config, decode, metric)]
                    cells += [
                        f"{_fmt(c['mean'], signed=True)} [{_fmt(c['ci_low'], True)}, "
                        f"{_fmt(c['ci_high'], True)}]",
                        _fmt_p(c["p_value"]),
                    ]
                rows.append(cells)
        return _markdown_table(header, rows)

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, path: str | Path | None = None):
        """Each metric per configuration with 95% CI error bars (headless).

        The baseline's mean is the dashed line. Returns the matplotlib Figure
        and writes it to ``path`` if given.
        """
        from matplotlib.figure import Figure

        summary = self.summary().set_index(["config", "decode", "metric"])
        summary = summary[["mean", "ci_low", "ci_high"]]
        configs, metrics = self.configs, self.metrics
        baseline = BASELINE if BASELINE in configs else configs[0]
        n_rows = -(-len(metrics) // 3)
        figure = Figure(
            figsize=(4.2 * 3, 3.2 * n_rows + 0.3 * len(configs)), layout="constrained"
        )
        axes = np.atleast_2d(figure.subplots(n_rows, 3))
        for ax in axes.ravel()[len(metrics) :]:
            ax.set_axis_off()
        offsets = np.linspace(-0.15, 0.15, len(self.decodes))
        for ax, metric in zip(axes.ravel(), metrics, strict=False):
            for offset, decode in zip(offsets, self.decodes, strict=True):
                keys = [(c, decode, metric) for c in configs]
                rows = summary.reindex(keys)  # NaN where a config lacks the decode
                mean = rows["mean"].to_numpy()
                low = mean - rows["ci_low"].to_numpy()
                high = rows["ci_high"].to_numpy() - mean
                x = np.arange(len(configs)) + offset
                line = ax.errorbar(
                    x, mean, yerr=[low, high], fmt="o", capsize=3, label=decode
                )
                ax.axhline(
                    mean[configs.index(baseline)],
                    linestyle="--",
                    linewidth=0.8,
                    color=line[0].get_color(),
                )
            ax.set_title(metrics[metric][0])
            ax.set_xticks(np.arange(len(configs)))
            ax.set_xticklabels(
                [_short(c) for c in configs], rotation=30, ha="right", fontsize=8
            )
        title = "decode (dashed line: baseline)"
        return finish_figure(figure, axes[0, 0], path, len(self.decodes), title)

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``report.md``, ``results.csv``, ``summary.json`` and ``plot.png``;
        with per-epoch curves also ``curves.csv`` and ``curves.png``, with
        several training sizes also ``learning-curve.png``."""
        out_dir = make_folder(out_dir)
        paths = {
            name: out_dir / name
            for name in ("report.md", "results.csv", "summary.json", "plot.png")
        }
        markdown = self._markdown(("mse", "mae", "accuracy"), images=True)
        paths["report.md"].write_text(markdown + "\n![plot](plot.png)\n")
        self.records.to_csv(paths["results.csv"], index=False)
        summary = {
            "job": json_safe(self.job),
            "summary": json_safe(self.summary().to_dict(orient="records")),
            "comparison": json_safe(self.comparison().to_dict(orient="records")),
        }
        if self.peers:
            peers = self.peer_comparison().to_dict(orient="records")
            summary["peer_comparison"] = json_safe(peers)
        curve = sections.learning_curve_frame(self)
        if curve is not None:
            summary["learning_curve"] = json_safe(curve.to_dict(orient="records"))
        paths["summary.json"].write_text(json.dumps(summary, indent=2))
        self.plot(paths["plot.png"])
        if self.curves is not None and not self.curves.empty:
            paths["curves.csv"] = out_dir / "curves.csv"
            self.curves.to_csv(paths["curves.csv"], index=False)
        paths.update(sections.extra_plots(self, out_dir))
        return paths


def _short(name: str) -> str:
    return (
        name.replace("control: ", "")
        .replace("peer: ", "")
        .replace("soft labels only", "soft labels")
        .replace("uniform smoothing", "uniform")
        .replace("permuted order", "permuted")
    )
