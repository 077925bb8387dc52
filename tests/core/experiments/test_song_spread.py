"""The per-song figure of an ablation (songs.png): which values each column holds, and that every song of every
seed is drawn as one dot with its seed's mean as a bar."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection

from synctrack.experiments.song_spread import FIGURE_COLUMNS, song_columns, song_spread_figure


def write_report(path, per_song: dict[str, dict[str, float]]):
    """The part of a ``synctrack eval`` report the figure reads: per-song values of track "all"."""
    values = [{"metric": metric, "track": "all", "value": float(np.mean(list(songs.values()))), "per_song": songs}
              for metric, songs in per_song.items()]
    path.write_text(json.dumps({"values": {"generated": values}}))
    return path


@pytest.fixture()
def ablation(tmp_path):
    """Two recipes x two seeds and one ground-truth set, as ``synctrack ablate --seeds 2`` gathers them."""
    rng = np.random.default_rng(0)

    def report(name, songs):
        per_song = {metric: {f"song_{i:03d}": float(v) for i, v in enumerate(rng.uniform(0, 1, songs))}
                    for metric in ("cbs", "cbd", "beating_tracks", "track_correlation", "irs")}
        return write_report(tmp_path / f"{name}.json", per_song)

    per_seed = [[("synctrack", report("s0", 5)), ("no-mixers", report("n0", 5))],
                [("synctrack", report("s1", 4)), ("no-mixers", report("n1", 5))]]
    truth = [("held-out songs", report("truth", 6))]
    return per_seed, truth


def test_columns_are_the_recipes_over_their_seeds_then_the_ground_truth(ablation):
    per_seed, truth = ablation
    columns = song_columns(per_seed, truth, "CBS")
    assert [(c.name, c.kind, len(c.seeds)) for c in columns] == [
        ("synctrack", "model", 2), ("no-mixers", "model", 2), ("held-out songs", "ground truth", 1)]
    assert [len(seed) for seed in columns[0].seeds] == [5, 4]
    stored = json.loads(per_seed[1][0][1].read_text())["values"]["generated"]
    cbs = next(value["per_song"] for value in stored if value["metric"] == "cbs")
    assert columns[0].seeds[1] == cbs
    assert columns[0].seed_means() == pytest.approx([np.mean(list(s.values())) for s in columns[0].seeds])


def test_every_song_is_a_dot_and_every_seed_mean_a_bar(ablation):
    per_seed, truth = ablation
    figure = song_spread_figure(per_seed, truth, "test")
    try:
        axes = figure.axes
        assert len(axes) == len(FIGURE_COLUMNS)  # FD and IRS are not drawn: no synchrony or distinctness
        for axis, column in zip(axes, FIGURE_COLUMNS):
            dots = [c for c in axis.collections if isinstance(c, PathCollection)]
            assert sum(len(c.get_offsets()) for c in dots) == 5 + 4 + 5 + 5 + 6, column
            bars = [c for c in axis.collections if isinstance(c, LineCollection)]
            heights = sorted(float(segment[0][1]) for c in bars for segment in c.get_segments())
            expected = sorted(m for c in song_columns(per_seed, truth, column) for m in c.seed_means())
            assert heights == pytest.approx(expected)
            assert [t.get_text() for t in axis.get_xticklabels()] == ["synctrack", "no-mixers", "held-out songs"]
    finally:
        import matplotlib.pyplot as plt
        plt.close(figure)


def test_a_metric_no_report_has_is_left_out(tmp_path):
    only_cbs = write_report(tmp_path / "a.json", {"cbs": {"song_000": 0.5}})
    figure = song_spread_figure([[("r", only_cbs)]], [], "t")
    try:
        assert [axis.get_title().split(" (")[0] for axis in figure.axes] == ["CBS"]
    finally:
        import matplotlib.pyplot as plt
        plt.close(figure)
