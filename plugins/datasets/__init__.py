"""Built-in datasets: the synthetic world, and Slakh2100 in its redux and MSDM layouts."""

from synctrack import hookimpl

from .slakh import SlakhDataset
from .slakh_msdm import SlakhMSDMDataset
from .synthetic import SyntheticDataset


@hookimpl
def synctrack_register_parts(registry):
    registry.add("dataset", "synthetic", SyntheticDataset, example={"num_songs": 2, "clip_seconds": 0.5, "sample_rate": 8000})
    # Building a Slakh dataset checks its arguments only; the folder is read on first use.
    registry.add("dataset", "slakh", SlakhDataset, example={"root": "slakh2100_flac_redux"})
    registry.add("dataset", "slakh_msdm", SlakhMSDMDataset, example={"root": "slakh2100_msdm"})
