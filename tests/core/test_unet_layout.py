"""The shared U-Net layout plan reproduces MusicLDM's openaimodel block structure."""

from synctrack.nn import unet_plan


def kinds(stage):
    return [layer.kind for layer in stage.layers]


def test_musicldm_plan():
    plan = unet_plan(8, 128, [1, 2, 3, 5], 2, [2, 4, 8])
    assert len(plan.input) == 12 and len(plan.output) == 12  # 1 + 4 x 2 + 3 downsamplers; 4 x 3
    assert [kinds(s) for s in plan.input[:4]] == [["conv_in"], ["res"], ["res"], ["down"]]
    assert kinds(plan.input[4]) == ["res", "attention"] and plan.input[4].factor == 2
    assert kinds(plan.middle) == ["res", "attention", "res"] and plan.middle.factor == 8
    assert plan.middle.layers[0].in_channels == 640
    first_up = plan.output[0].layers[0]
    assert (first_up.in_channels, first_up.out_channels) == (1280, 640)  # 640 + the 640 skip
    assert kinds(plan.output[2]) == ["res", "attention", "up"] and plan.output[2].factor == 4
    assert kinds(plan.output[-1]) == ["res"] and plan.output[-1].factor == 1 and plan.final_channels == 128
    skips = [s.layers[-1].out_channels for s in plan.input]
    consumed = [s.layers[0].in_channels - (plan.middle.layers[-1].out_channels if i == 0 else plan.output[i - 1].layers[0].out_channels)
                for i, s in enumerate(plan.output)]
    assert consumed == skips[::-1]
