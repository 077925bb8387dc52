"""Checks shared by the conditioners that index an instrument vocabulary."""

from __future__ import annotations

import torch


def check_vocabulary(vocabulary: list[str]) -> list[str]:
    if not vocabulary:
        raise ValueError("the instrument vocabulary is empty; list the instrument names, e.g. [bass, drums, guitar, piano]")
    duplicates = sorted({name for name in vocabulary if vocabulary.count(name) > 1})
    if duplicates:
        raise ValueError(f"the instrument vocabulary repeats {duplicates}; each name must appear once")
    return list(vocabulary)


def check_ids(ids: torch.Tensor, vocabulary: list[str]) -> None:
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= len(vocabulary)):
        raise ValueError(
            f"instrument ids range over [{int(ids.min())}, {int(ids.max())}] but the vocabulary has "
            f"{len(vocabulary)} names {vocabulary}; the dataset and the conditioner must share one vocabulary"
        )
