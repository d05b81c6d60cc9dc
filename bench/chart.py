"""bench/report.py's chart, drawn with matplotlib (Debian's python3-matplotlib, Agg backend: no
display): one grouped-bar panel per (model, search) and one for the opt-in modes."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def grouped_bars(path, title, panels, series, colors):
    """panels: [(title, [group labels], {series name: [value or None per group]})]."""
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, 3.6 * rows), squeeze=False)
    for ax, (ptitle, groups, vals) in zip([a for r in axes for a in r], panels):
        names = [s for s in series if s in vals and any(v is not None for v in vals[s])]
        width = 0.8 / max(1, len(names))
        for i, name in enumerate(names):
            xs = [g + (i - (len(names) - 1) / 2) * width for g in range(len(groups))]
            ys = [v if v is not None else 0 for v in vals[name]]
            bars = ax.bar(xs, ys, width, label=name, color=colors.get(name))
            for b, v in zip(bars, vals[name]):
                if v is not None:
                    ax.annotate(f"{v:.0f}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center",
                                va="bottom", fontsize=7)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(groups)
        ax.set_title(ptitle, fontsize=10)
        ax.set_ylabel("target tokens/s")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in [a for r in axes for a in r][len(panels):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
