"""Run the synctrack CLI with the engine's toy parts registered (used by subprocess tests and torchrun).

With ``SYNCTRACK_TEST_DUMP=FOLDER`` every process also writes its final trained weights to
``FOLDER/rank<r>.safetensors`` after ``synctrack train``, so a test can compare the processes of a run.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import engine_toys  # noqa: E402

engine_toys.install()

from synctrack.cli.main import main  # noqa: E402

if os.environ.get("SYNCTRACK_TEST_DUMP"):
    from safetensors.torch import save_file

    from synctrack.training import trainer as trainer_module
    from synctrack.training.ema import flat_state

    train = trainer_module.Trainer.train

    def train_and_dump(self):
        result = train(self)
        folder = Path(os.environ["SYNCTRACK_TEST_DUMP"])
        folder.mkdir(parents=True, exist_ok=True)
        state = {key: value.detach().cpu().contiguous() for key, value in flat_state(self.modules).items()}
        save_file(state, str(folder / f"rank{self.dist.rank}.safetensors"))
        return result

    trainer_module.Trainer.train = train_and_dump

if os.environ.get("SYNCTRACK_TEST_STEP_DELAY"):  # slow steps, so that another process can meet this run
    import time

    from synctrack.training import trainer as slow_module

    step = slow_module.Trainer.train_step

    def slow_step(self):
        time.sleep(float(os.environ["SYNCTRACK_TEST_STEP_DELAY"]))
        return step(self)

    slow_module.Trainer.train_step = slow_step

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
