import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import toy_envs  # noqa: E402

toy_envs.register()
torch.set_num_threads(1)


@pytest.fixture
def tiny_ppo_config():
    from appliedrl.agents import PPOConfig

    return PPOConfig(n_envs=2, n_steps=16, batch_size=8, n_epochs=2, eval_freq=0, eval_episodes=2,
                     checkpoint_freq=0, tensorboard=False)
