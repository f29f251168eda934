"""Training precision: forced choices are honoured, bad ones are refused."""
import pytest

from m2io.train.device import bf16_pays, trainer_device_args


def test_forced_and_auto_precision():
    assert trainer_device_args("fp32")["bf16"] is False
    assert trainer_device_args("bf16")["bf16"] is True
    assert trainer_device_args("auto")["bf16"] is bf16_pays()
    with pytest.raises(ValueError, match="precision"):
        trainer_device_args("fp16")
