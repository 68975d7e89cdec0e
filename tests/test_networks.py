"""Dict observations through the backbone, and domain networks named in a config (the network hook)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from gymnasium import spaces

from appliedrl.agents import DQN, PPO, DQNConfig, PPOConfig, evaluate
from appliedrl.agents.networks import Unflatten, flat_dim, flatten_observations, observation_batch

SPACE = spaces.Dict({"target": spaces.Box(0, 1, (4,), np.float32), "noise": spaces.Box(-1, 1, (2, 3), np.float32),
                     "step": spaces.Discrete(6)})
NETWORK = {"network": "toy_envs:KeyedNetwork", "network_kwargs": {"hidden": 8}}


def test_flat_rows_round_trip_to_the_structure():
    SPACE.seed(0)
    samples = [SPACE.sample() for _ in range(5)]
    batch = {key: np.stack([s[key] for s in samples]) for key in SPACE.spaces}
    rows = flatten_observations(batch, SPACE, 5)
    assert rows.shape == (5, flat_dim(SPACE)) == (5, 4 + 6 + 1) and rows.dtype == np.float32
    restored = Unflatten(SPACE)(torch.as_tensor(rows))
    for key in SPACE.spaces:
        np.testing.assert_array_equal(restored[key].numpy(), batch[key].astype(np.float32))
    single, was_single = observation_batch(samples[0], SPACE)
    assert was_single and np.array_equal(single, rows[:1])
    assert not observation_batch(batch, SPACE)[1]
    with pytest.raises(ValueError, match="expected a dict observation with keys"):
        observation_batch({"target": batch["target"]}, SPACE)
    with pytest.raises(ValueError, match="observation 'noise' has shape"):
        observation_batch({**batch, "noise": batch["noise"][:, 0]}, SPACE)


def test_an_unsupported_space_names_the_supported_ones():
    from appliedrl.agents.networks import UnsupportedSpaceError

    with pytest.raises(UnsupportedSpaceError, match="supported: Box, and Dict of Box"):
        flat_dim(spaces.Dict({"text": spaces.Text(5)}))


@pytest.mark.parametrize("network", [{}, NETWORK], ids=["mlp", "keyed-network"])
def test_ppo_learns_from_dict_observations_with_masks(network):
    """The env raises on an illegal action, so training also checks that masks hold with a domain network; its
    time limit truncates episodes, which bootstraps from flattened final observations."""
    config = PPOConfig(n_envs=4, n_steps=32, batch_size=64, n_epochs=4, learning_rate=3e-3, ent_coef=0.0,
                       eval_freq=0, tensorboard=False, vectorization="sync", **network)
    agent = PPO("tests/DictChoice-v0", config, seed=0)
    before = evaluate(agent, "tests/DictChoice-v0", 20, seed=3).mean
    agent.learn(3_000, progress_bar=False)
    after = evaluate(agent, "tests/DictChoice-v0", 20, seed=3).mean
    assert after >= 3.5 > before  # 4 steps per episode, a reward for each hit; random legal choices: about 1.5
    assert isinstance(agent.model.actor[0], Unflatten) == bool(network)


def test_dqn_with_a_domain_network_on_dict_observations():
    config = DQNConfig(n_envs=2, learning_starts=64, batch_size=32, train_freq=1, target_update_interval=100,
                       exploration_fraction=0.3, learning_rate=3e-3, eval_freq=0, tensorboard=False, **NETWORK)
    agent = DQN("tests/DictChoice-v0", config, seed=0)
    assert agent.q_net[1].env_name == "DictChoiceEnv"  # the network was shaped by an instance of the env
    assert all(torch.equal(p, q) for p, q in zip(agent.q_net.parameters(), agent.q_target.parameters()))
    agent.learn(2_000, progress_bar=False)
    assert evaluate(agent, "tests/DictChoice-v0", 20, seed=3).mean >= 3.5


def test_a_saved_agent_with_a_domain_network_loads_and_acts_alike(tmp_path):
    config = PPOConfig(n_envs=2, n_steps=16, batch_size=16, n_epochs=1, eval_freq=0, tensorboard=False, **NETWORK)
    agent = PPO("tests/DictChoice-v0", config, seed=0)
    agent.learn(64, progress_bar=False)
    agent.save(tmp_path / "agent.pt")
    loaded = PPO.load(tmp_path / "agent.pt")
    SPACE.seed(1)
    obs = {key: np.stack([SPACE.sample()[key] for _ in range(6)]) for key in SPACE.spaces}
    np.testing.assert_array_equal(loaded.predict(obs), agent.predict(obs))
    assert loaded.predict({key: value[0] for key, value in obs.items()}).shape == ()


def test_a_network_that_cannot_be_imported_is_a_one_line_error():
    config = dataclasses.replace(PPOConfig(tensorboard=False), network="nowhere.module:Net")
    with pytest.raises(ValueError, match="network 'nowhere.module:Net' cannot be imported; give it as package.module:Class"):
        PPO("CartPole-v1", config, seed=0)
    with pytest.raises(Exception, match="dueling builds its head on the MLP"):
        DQNConfig(dueling=True, **NETWORK).validate()


def test_ppo_with_the_inventory_gnn_trains_and_evaluates_from_the_cli(tmp_path, capsys):
    """The proof of the hook: PPO's actor and critic are the inventory GNN on a warehouse with three stores."""
    import json

    from appliedrl.cli import main

    run = tmp_path / "gnn"
    assert main(["train", "appliedrl/Inventory-v0", "--agent", "ppo", "--env-kw", "setting=one_warehouse",
                 "--set", "network=appliedrl.domains.inventory.gnn:InventoryGNN", "--set", "network_kwargs={dim: 8}",
                 "--set", "n_envs=2", "--set", "n_steps=100", "--set", "batch_size=100", "--set", "n_epochs=1",
                 "--set", "eval_episodes=2", "--set", "tensorboard=false", "--steps", "200", "--out", str(run),
                 "--no-progress"]) == 0
    assert main(["evaluate", str(run), "--episodes", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["env_kwargs"] == {"setting": "one_warehouse"} and report["average_cost"] > 0
    from appliedrl.domains.inventory.gnn import InventoryGNN

    loaded = PPO.load(run)
    assert isinstance(loaded.model.actor[1], InventoryGNN) and isinstance(loaded.model.critic[1], InventoryGNN)
