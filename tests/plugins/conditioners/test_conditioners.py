"""Conditioners: the instrument prior follows its formula; vocabularies are checked."""

from __future__ import annotations

import pytest
import torch

from synctrack import RecipeError, TrackInfo, get_registry
from synctrack.interfaces import Conditioner
from synctrack.recipe import build

VOCABULARY = ["bass", "drums", "guitar", "piano", "strings"]


def make(node):
    return build(node, Conditioner, get_registry())


def test_instrument_prior_is_sin_cos_of_a_one_hot_through_a_two_layer_mlp():
    prior = make({"type": "instrument_prior", "vocabulary": VOCABULARY, "hidden_dim": 7, "embedding_dim": 6})
    ids = torch.tensor([[0, 3, 4], [2, 2, 1]])
    out = prior(TrackInfo(ids, torch.ones_like(ids, dtype=torch.bool)))
    first, _, second = prior.mlp
    for b in range(2):
        for s in range(3):
            onehot = torch.zeros(len(VOCABULARY))
            onehot[ids[b, s]] = 1.0
            features = torch.cat([torch.sin(onehot), torch.cos(onehot)])
            hidden = torch.nn.functional.silu(features @ first.weight.T + first.bias)
            torch.testing.assert_close(out[b, s], hidden @ second.weight.T + second.bias)
    assert first.in_features == 2 * len(VOCABULARY)


def test_paper_sizes_of_the_prior():
    prior = make({"type": "instrument_prior", "vocabulary": ["bass", "drums", "guitar", "piano"]})
    assert (prior.mlp[0].in_features, prior.mlp[0].out_features, prior.mlp[2].out_features) == (8, 128, 512)


def test_instrument_embedding_is_a_table_lookup():
    table = make({"type": "instrument_embedding", "vocabulary": VOCABULARY, "embedding_dim": 4})
    ids = torch.tensor([[1, 1, 4]])
    out = table(TrackInfo(ids, torch.ones_like(ids, dtype=torch.bool)))
    torch.testing.assert_close(out[0, 0], out[0, 1])
    torch.testing.assert_close(out[0, 2], table.table.weight[4])


def test_none_gives_zeros_of_its_width():
    ids = torch.zeros(2, 3, dtype=torch.long)
    out = make({"type": "none", "embedding_dim": 5})(TrackInfo(ids, torch.ones_like(ids, dtype=torch.bool)))
    assert out.shape == (2, 3, 5) and torch.count_nonzero(out) == 0


@pytest.mark.parametrize(
    ("vocabulary", "fragment"),
    [([], "vocabulary is empty"), (["bass", "piano", "bass"], r"repeats \['bass'\]")],
)
@pytest.mark.parametrize("kind", ["instrument_prior", "instrument_embedding"])
def test_bad_vocabularies_are_recipe_problems(kind, vocabulary, fragment):
    with pytest.raises(RecipeError, match=fragment):
        make({"type": kind, "vocabulary": vocabulary})


def test_ids_outside_the_vocabulary_are_explained():
    prior = make({"type": "instrument_prior", "vocabulary": VOCABULARY})
    ids = torch.tensor([[0, 7]])
    with pytest.raises(ValueError, match=r"range over \[0, 7\] but the vocabulary has 5 names"):
        prior(TrackInfo(ids, torch.ones_like(ids, dtype=torch.bool)))
