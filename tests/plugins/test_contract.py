"""Registry-driven contract tests (timm-style): every registered part passes the same checks."""

from __future__ import annotations

import inspect

import pytest
import yaml

from synctrack import get_registry
from synctrack.interfaces import INTERFACES
from synctrack.recipe import PartSpec, build, check, describe, factory_arguments

PARTS = list(get_registry().parts())


def part_id(part):
    return f"{part.kind}:{part.name}"


def test_every_kind_has_an_interface():
    from synctrack.registry import KINDS

    assert set(INTERFACES) == set(KINDS)


@pytest.mark.parametrize("part", PARTS, ids=part_id)
def test_summary_is_one_line(part):
    assert part.summary and "\n" not in part.summary and len(part.summary) <= 120


@pytest.mark.parametrize("part", PARTS, ids=part_id)
def test_signature_is_introspectable_and_annotated(part):
    interface = INTERFACES[part.kind]
    arguments = factory_arguments(part.factory, runtime=frozenset(interface.runtime_args))
    for parameter in arguments.parameters.values():
        assert parameter.annotation is not inspect.Parameter.empty
        describe(parameter.annotation)  # understood by the checker
    missing = [n for n, p in arguments.parameters.items() if p.required and n not in interface.runtime_args and n not in part.example]
    assert not missing, f"required arguments without an example value: {missing}"
    for name in interface.runtime_args:
        assert name in arguments.parameters or arguments.open, f"host argument {name!r} not accepted"


@pytest.mark.parametrize("part", PARTS, ids=part_id)
def test_recipe_round_trip_builds_an_instance_of_the_interface(part):
    interface = INTERFACES[part.kind]
    node = yaml.safe_load(yaml.safe_dump(part.node()))
    assert node == part.node()
    deferred = bool(interface.runtime_args)
    annotation = PartSpec[interface] if deferred else interface
    registry = get_registry()
    assert check(node, annotation, registry) == []
    built = build(node, annotation, registry)
    instance = built(**interface.runtime_args) if deferred else built
    assert isinstance(instance, interface)


@pytest.mark.parametrize("part", list(get_registry().parts("encoder")), ids=part_id)
def test_an_encoder_takes_the_per_song_generators(part):
    """The trainer passes ``encode(audio, generator=...)`` (one generator per song): every encoder accepts it."""
    from synctrack.interfaces import Encoder

    encode = inspect.signature(part.factory.encode if inspect.isclass(part.factory) else Encoder.encode)
    assert "generator" in encode.parameters or any(p.kind is p.VAR_KEYWORD for p in encode.parameters.values())
