"""The report of a comparison: :class:`CompareResult` (tables, markdown, plot,
files)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..metrics import METRICS
from .configs import BASELINE
from .peers import PEERS
from .stats import corrected_resampled_ttest
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
    """

    def __init__(self, records, job: dict) -> None:
        self.records = records.reset_index(drop=True)
        self.job = job
        self._summary = None
        self._comparisons = {}

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
        import pandas as pd

        if self._summary is None:
            rows = []
            ratio = self.job["test_train_ratio"]
            for (config, decode), group in self.records.groupby(
                ["config", "decode"], sort=False
            ):
                for metric in METRICS:
                    stats_ = corrected_resampled_ttest(group[metric], ratio)
                    rows.append(
                        {"config": config, "decode": decode, "metric": metric, **stats_}
                    )
            self._summary = pd.DataFrame(rows).drop(columns="p_value")
        return self._summary

    def comparison(self, reference: str = BASELINE):
        """Each configuration minus ``reference``, paired by fold and decode.

        ``mean`` is the mean difference (negative = lower than the reference,
        by default the baseline), with the corrected resampled t interval and
        p-value.
        """
        import pandas as pd

        if reference not in self._comparisons:
            rows = []
            ratio = self.job["test_train_ratio"]
            keys = ["repeat", "fold", "decode"]
            baseline = self.records[self.records["config"] == reference]
            for config in self.configs:
                if config == reference:
                    continue
                runs = self.records[self.records["config"] == config]
                paired = runs.merge(baseline, on=keys, suffixes=("", "_base"))
                for decode, group in paired.groupby("decode", sort=False):
                    for metric in METRICS:
                        diff = group[metric] - group[f"{metric}_base"]
                        rows.append(
                            {
                                "config": config,
                                "decode": decode,
                                "metric": metric,
                                **corrected_resampled_ttest(diff, ratio),
                            }
                        )
            self._comparisons[reference] = pd.DataFrame(rows)
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
        """The report: settings, per-configuration table, differences table."""
        job = self.job
        n_fits = self.records.groupby("config").size().max() // len(self.decodes)
        lines = [
            "# Cross-entropy vs cross-entropy + KL penalty",
            "",
            f"Data: {job['n_samples']} samples of shape {tuple(job['sample_shape'])}, "
            f"{len(job['classes'])} classes. Folds: {job['cv']} "
            f"({n_fits} fits per configuration). Metrics on the held-out folds, "
            f"{_metric_units(job['classes'])}; `within ±k` uses "
            f"k = {job['within']:g}.",
            "Intervals: 95%, corrected resampled t (Nadeau & Bengio 2003), "
            f"test/train ratio {job['test_train_ratio']:.3f}.",
            "",
            "## Mean per configuration [95% CI]",
            "",
            *self._summary_table(),
            "",
            "## Difference to the baseline (alpha=0, same decode, same folds)",
            "",
            "Negative Δ for MSE/MAE and positive Δ for accuracy mean better than "
            "the baseline.",
            "",
            *self._comparison_table(compare_metrics),
        ]
        lines += self._peer_sections(compare_metrics)
        best = job.get("best_penalty")
        if best:
            lines += [
                "",
                f"Best penalty setting (lowest mean MSE, decode "
                f"`{self.decodes[0]}`): **{best}**. It was chosen on these folds, "
                "so its gain over the baseline is optimistic; the controls use its "
                "setting. If the gain is ordinal, the permuted-order control "
                "should not match it.",
            ]
        return "\n".join(lines) + "\n"

    def _summary_table(self) -> list[str]:
        summary = self.summary().set_index(["config", "decode", "metric"])
        header = ["configuration", "decode", *(METRICS[m][0] for m in METRICS)]
        rows = []
        for config in self.configs:
            for decode in self.decodes:
                cells = [config, decode]
                for metric in METRICS:
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
            header += [f"Δ{METRICS[metric][0]} [95% CI]", "p"]
        rows = []
        for config in self.configs if configs is None else configs:
            if config == reference:
                continue
            for decode in self.decodes:
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
        configs = self.configs
        n_rows = -(-len(METRICS) // 3)
        figure = Figure(
            figsize=(4.2 * 3, 3.2 * n_rows + 0.3 * len(configs)), layout="constrained"
        )
        axes = figure.subplots(n_rows, 3)
        offsets = np.linspace(-0.15, 0.15, len(self.decodes))
        for ax, metric in zip(axes.ravel(), METRICS, strict=False):
            for offset, decode in zip(offsets, self.decodes, strict=True):
                rows = [summary.loc[(c, decode, metric)] for c in configs]
                mean = np.array([r["mean"] for r in rows])
                low = mean - np.array([r["ci_low"] for r in rows])
                high = np.array([r["ci_high"] for r in rows]) - mean
                x = np.arange(len(configs)) + offset
                line = ax.errorbar(
                    x, mean, yerr=[low, high], fmt="o", capsize=3, label=decode
                )
                ax.axhline(
                    mean[configs.index(BASELINE)],
                    linestyle="--",
                    linewidth=0.8,
                    color=line[0].get_color(),
                )
            ax.set_title(METRICS[metric][0])
            ax.set_xticks(np.arange(len(configs)))
            ax.set_xticklabels(
                [_short(c) for c in configs], rotation=30, ha="right", fontsize=8
            )
        handles, labels = axes[0, 0].get_legend_handles_labels()
        figure.legend(
            handles,
            labels,
            title="decode (dashed line: baseline)",
            loc="outside lower center",
            ncols=len(labels),
            fontsize=8,
        )
        if path is not None:
            figure.savefig(path, dpi=110)
        return figure

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``report.md``, ``results.csv``, ``summary.json`` and ``plot.png``."""
        out_dir = make_folder(out_dir)
        paths = {
            name: out_dir / name
            for name in ("report.md", "results.csv", "summary.json", "plot.png")
        }
        paths["report.md"].write_text(self.to_markdown() + "\n![plot](plot.png)\n")
        self.records.to_csv(paths["results.csv"], index=False)
        summary = {
            "job": json_safe(self.job),
            "summary": json_safe(self.summary().to_dict(orient="records")),
            "comparison": json_safe(self.comparison().to_dict(orient="records")),
        }
        if self.peers:
            peers = self.peer_comparison().to_dict(orient="records")
            summary["peer_comparison"] = json_safe(peers)
        paths["summary.json"].write_text(json.dumps(summary, indent=2))
        self.plot(paths["plot.png"])
        return paths


def _short(name: str) -> str:
    return (
        name.replace("control: ", "")
        .replace("peer: ", "")
        .replace("soft labels only", "soft labels")
        .replace("uniform smoothing", "uniform")
        .replace("permuted order", "permuted")
    )


def _fmt(value: float, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    sign = "+" if signed else ""
    magnitude = abs(value)
    digits = 1 if magnitude >= 100 else 2 if magnitude >= 1 else 3
    return f"{value:{sign}.{digits}f}"


def _fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _metric_units(classes: list) -> str:
    """In what units the report's metrics are: labels, or class positions."""
    if all(isinstance(c, int | float) for c in classes):
        return "in label units"
    return (
        "on class positions 0..K-1 in the given order (the labels are not "
        "numbers: an error of 1 is one class step)"
    )
