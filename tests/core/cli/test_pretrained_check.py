"""``synctrack pretrained check``: every missing weight file is named at once, with where it was looked for."""

from __future__ import annotations

from synctrack.cli import main


def test_every_missing_weight_file_is_listed_with_where_it_was_looked_for(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    recipe = repo / "recipes" / "synctrack-musicldm.yaml"
    code = main(["pretrained", "check", str(recipe), "model.vocoder.init.from=" + str(tmp_path / "hifigan.ckpt")])
    message = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "Traceback" not in message
    assert "all 3 init: weight paths do not exist" in message
    for line in (f"model.denoiser.init.from: weights/musicldm/musicldm-ckpt.ckpt (looked at {tmp_path}/weights/musicldm/musicldm-ckpt.ckpt)",
                 f"model.encoder.init.from: weights/musicldm/musicldm-ckpt.ckpt (looked at {tmp_path}/weights",
                 f"model.vocoder.init.from: {tmp_path}/hifigan.ckpt"):
        assert line in message
    assert "docs/pretrained.md says where to get them" in message


def test_a_present_file_is_not_listed_and_an_unusable_one_is_named(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    recipe = repo / "recipes" / "synctrack-musicldm.yaml"
    code = main(["pretrained", "check", str(recipe), f"model.vocoder.init.from={tmp_path / 'broken.ckpt'}"])
    message = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "2 of the 3 init: weight paths do not exist" in message and "model.vocoder" not in message
