"""Meowjong's CNN on the backbone: shapes, and PPO pre-trained on a bot then trained, through the runner."""

import json

import torch

from appliedrl.domains.mahjong import SANMA
from appliedrl.domains.mahjong.network import MeowjongCNN
from appliedrl.envs.mahjong import actions as A
from appliedrl.envs.mahjong import sanma_v0
from appliedrl.runner import RunSpec, evaluate, run


def test_the_cnn_maps_observations_to_action_logits():
    space = sanma_v0.raw_env().observation_space("player_0")["observation"]
    net = MeowjongCNN(space, A.N_ACTIONS)
    obs = torch.rand(5, *space.shape)
    assert net(obs).shape == (5, A.N_ACTIONS) and MeowjongCNN(space, 1)(obs).shape == (5, 1)
    # without the dense head's logits, a discard's logit is its kind's row score (plain and red five alike)
    torch.nn.init.zeros_(net.head[-1].weight)
    torch.nn.init.zeros_(net.head[-1].bias)
    logits, rows = net(obs), net.row_scores(net.convolutions(obs.transpose(1, 2)))[:, 0]
    faces = range(A.FACES)
    assert torch.equal(logits[:, [A.DISCARD + f for f in faces]], rows[:, [A.kind_of_face(f) for f in faces]])
    assert not logits[:, A.KAN:].any()


def test_ppo_pre_trained_on_the_defensive_bot_trains_and_evaluates_in_whole_deals(tmp_path):
    config = {"n_envs": 2, "vectorization": "sync", "n_steps": 16, "batch_size": 16, "n_epochs": 1, "eval_freq": 0,
              "checkpoint_freq": 0, "tensorboard": False, "pretrain_from": "baseline:defensive",
              "pretrain_episodes": 6, "pretrain_epochs": 2, "eval_episodes": 3}
    run(RunSpec(SANMA, "ppo", 0, 64, {"opponents": ["greedy"], "length": "round"}, config,
                run_dir=tmp_path / "run", progress_bar=False))
    record = json.loads((tmp_path / "run" / "pretrain.json").read_text())
    assert record["episodes"] == 6 and 0 < record["agreement"] <= 1
    supervised = evaluate(str(tmp_path / "run" / "pretrained"), SANMA, {"opponents": ["defensive"], "length": "round"},
                          3).to_dict()
    assert supervised["episodes"] == 3 and supervised["source"].endswith("pretrained/agent.pt")
    evaluation = evaluate(str(tmp_path / "run"), episodes=4).to_dict()
    assert evaluation["episodes"] == 6  # rounded up to two whole deals, each played from the three seats
    assert evaluation["rank_1"] + evaluation["rank_2"] + evaluation["rank_3"] == 1.0
    assert "deal_in_rate_ci95_low" in evaluation
