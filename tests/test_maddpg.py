"""MADDPG: learns a small task, centralised vs local critics, exact resume, the mpe2 adapter, the CLI, heuristics."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from appliedrl.agents.config import ConfigError
from appliedrl.agents.evaluation import evaluate_multiagent
from appliedrl.agents.maddpg import MADDPG, MADDPGConfig, _gumbel_softmax
from appliedrl.agents.trainer import RunExistsError
from appliedrl.cli import main
from appliedrl.domains import baselines_for
from appliedrl.domains.particles import steer
from appliedrl.envs.multiagent import ParallelEnvBatch, make_multiagent

SMALL = dict(n_envs=16, batch_size=256, learning_starts=1000, train_freq=50, eval_freq=0, eval_episodes=32,
             tensorboard=False, learning_rate=3e-3)


def _agent(env_id: str = "particles/simple_v3", seed: int = 0, env_kwargs: dict | None = None,
           **overrides) -> MADDPG:
    config, env_kwargs = MADDPGConfig(**(SMALL | overrides)), env_kwargs or {}
    return MADDPG(make_multiagent(env_id, config.n_envs, **env_kwargs), config, seed, env_id, env_kwargs,
                  make_multiagent(env_id, config.eval_episodes, **env_kwargs))


def test_learns_to_reach_the_landmark() -> None:
    """simple_v3 (one agent, reward -distance^2): a few thousand updates beat random by a wide margin."""
    agent = _agent(train_freq=16)
    random_return = evaluate_multiagent(baselines_for("particles/simple_v3")["random"].make(agent.eval_envs, 0),
                                        agent.eval_envs, 64, seed=5).mean
    summary = agent.learn(6_000, progress_bar=False)
    trained = evaluate_multiagent(agent, agent.eval_envs, 64, seed=5).mean
    assert agent.num_updates == 6_000 // 16 - 1000 // 16  # one per 16 transitions from 1,008 to 6,000: no burst
    assert summary["progress"] == 6_000 and summary["unit"] == "transitions" and summary["stopped"] == "budget reached"
    assert trained > 0.5 * random_return, (trained, random_return)  # returns are negative: closer to 0 is better


def test_critic_inputs_centralised_vs_local() -> None:
    maddpg, ddpg = _agent("particles/simple_spread_v3"), _agent("particles/simple_spread_v3", centralized_critic=False)
    assert maddpg.critics.weights[0].shape == (3, 3 * 18 + 3 * 5, 64)
    assert ddpg.critics.weights[0].shape == (3, 18 + 5, 64)
    assert maddpg.actors.weights[0].shape == (3, 18, 64) and maddpg.actors.weights[-1].shape == (3, 64, 5)
    # agent 1's critic input: everything observed, then every action; agent 1's own action replaced
    obs, actions = torch.randn(4, 3, 18), torch.randn(3, 4, 5)
    joint = actions.transpose(0, 1)[None].expand(3, -1, -1, -1).clone()
    joint[1, :, 1] = 7.0
    x = maddpg._critic_input(obs, joint)
    torch.testing.assert_close(x[1], torch.cat([obs.reshape(4, -1), joint[1].reshape(4, -1)], -1))
    torch.testing.assert_close(ddpg._critic_input(obs, joint)[1], torch.cat([obs[:, 1], joint[1, :, 1]], -1))


def test_ensemble_equals_separate_networks() -> None:
    """Each ensemble member computes what a separate MLP with its weights computes; clipping is per member."""
    from appliedrl.agents.networks import EnsembleMLP
    ensemble = EnsembleMLP(3, 4, [8], 2, "relu")
    x = torch.randn(3, 5, 4)
    for m in range(3):
        expected = torch.relu(x[m] @ ensemble.weights[0][m] + ensemble.biases[0][m]) @ ensemble.weights[1][m] \
            + ensemble.biases[1][m]
        torch.testing.assert_close(ensemble(x)[m], expected)
    (ensemble(x)[0].sum() * 1000 + ensemble(x)[2].sum() * 1e-4).backward()
    ensemble.clip_grad_norm_(0.5)
    norms = torch.stack([sum(p.grad[m].square().sum() for p in ensemble.parameters()).sqrt() for m in range(3)])
    assert norms[0] == pytest.approx(0.5, rel=1e-4) and norms[1] == 0 and norms[2] < 0.5


def test_gumbel_softmax() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.tensor([[2.0, 0.0, -1.0]]).repeat(20_000, 1).requires_grad_()
    soft = _gumbel_softmax(logits, 1.0, False, generator)
    assert torch.allclose(soft.sum(-1), torch.ones(20_000))
    frequencies = torch.bincount(soft.argmax(-1), minlength=3).float() / 20_000  # Gumbel-max = categorical sample
    assert torch.allclose(frequencies, logits[0].softmax(-1).detach(), atol=0.01)
    # at temperature 0.5: softmax((logits + g) / 0.5), g = -log(-log(u)) from the same uniforms
    state = generator.get_state()
    gumbel = -torch.log(-torch.log(torch.rand(logits.shape, generator=torch.Generator().set_state(state))))
    expected = ((logits.detach() + gumbel) / 0.5).softmax(-1)
    torch.testing.assert_close(_gumbel_softmax(logits, 0.5, False, torch.Generator().set_state(state)), expected)
    # straight-through: the one-hot of the soft sample's argmax forward, exactly the soft sample's gradient backward
    hard = _gumbel_softmax(logits, 0.5, True, torch.Generator().set_state(state))
    torch.testing.assert_close(hard.detach(), F.one_hot(expected.argmax(-1), 3).float(), rtol=0, atol=1e-6)
    weights = torch.tensor([1.0, -2.0, 0.5])
    (hard * weights).sum().backward()
    straight_through = logits.grad.clone()
    logits.grad = None
    (_gumbel_softmax(logits, 0.5, False, torch.Generator().set_state(state)) * weights).sum().backward()
    assert straight_through.abs().sum() > 0
    torch.testing.assert_close(straight_through, logits.grad)


def test_resume_is_exact(tmp_path) -> None:
    straight = _agent("particles/simple_spread_v3", checkpoint_freq=1600, batch_size=64)
    straight_summary = straight.learn(3200, run_dir=tmp_path / "a", progress_bar=False)
    interrupted = _agent("particles/simple_spread_v3", checkpoint_freq=1600, batch_size=64)
    interrupted.learn(1600, run_dir=tmp_path / "b", progress_bar=False)
    resumed = _agent("particles/simple_spread_v3", checkpoint_freq=1600, batch_size=64)
    # a finished run continues only with a larger budget, and a folder holding a run is never trained over
    with pytest.raises(RunExistsError, match="finished at 1,600 transitions"):
        resumed.learn(1600, run_dir=tmp_path / "b", progress_bar=False, resume=True)
    with pytest.raises(RunExistsError, match="already holds a run"):
        resumed.learn(3200, run_dir=tmp_path / "b", progress_bar=False)
    summary = resumed.learn(3200, run_dir=tmp_path / "b", progress_bar=False, resume=True)
    for p, q in zip(straight.actors.parameters(), resumed.actors.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert resumed.num_updates == straight.num_updates and summary["progress"] == 3200
    assert summary["eval"] == straight_summary["eval"]  # the final evaluation too
    loaded = MADDPG.load(tmp_path / "b")
    obs = resumed.envs.reset(seed=1)
    torch.testing.assert_close(loaded.act(obs), resumed.act(obs))


def test_continuous_actions_and_mpe2_adapter() -> None:
    pytest.importorskip("mpe2")
    agent = _agent("particles/simple_speaker_listener_v4", env_kwargs={"continuous_actions": True}, n_envs=4,
                   learning_starts=200, batch_size=64, eval_episodes=4)
    agent.learn(400, progress_bar=False)
    actions = agent.act(agent.envs.reset(seed=0), deterministic=False)
    assert actions.shape == (4, 2, 5) and (actions[:, 0, 3:] == 0).all()  # the speaker's Box(0, 1, (3,)) padded
    envs = make_multiagent("mpe2/simple_speaker_listener_v4", 3, continuous_actions=True)
    assert isinstance(envs, ParallelEnvBatch)
    config = MADDPGConfig(**(SMALL | dict(n_envs=3, learning_starts=150, batch_size=64, eval_episodes=3)))
    agent = MADDPG(envs, config, 0, "mpe2/simple_speaker_listener_v4", {}, envs)
    summary = agent.learn(300, progress_bar=False)
    assert summary["eval"]["episodes"] == 3 and agent.num_updates > 0
    actions = agent.act(envs.reset(seed=0))
    assert actions.shape == (3, 2, 5) and (actions >= 0).all() and (actions <= 1).all()


def test_bad_config_and_observations() -> None:
    with pytest.raises(ConfigError, match="tau must be in"):
        MADDPGConfig(tau=0).validate()
    agent = _agent()
    with pytest.raises(ValueError, match=r"act expects observations of shape \(batch, 1, 4\)"):
        agent.act(torch.zeros(2, 4))


def test_steer_reaches_a_target() -> None:
    target, velocity = np.array([[1.0, 0.0], [0.0, -1.0], [0.0, 0.0]]), np.zeros((3, 2))
    assert steer(target, velocity).tolist() == [2, 3, 0]


def test_greedy_spread_beats_random_on_ours_and_mpe2() -> None:
    ours = make_multiagent("particles/simple_spread_v3", 40)
    baselines = baselines_for("particles/simple_spread_v3")
    greedy = evaluate_multiagent(baselines["greedy-spread"].make(ours, 0), ours, 40)
    random = evaluate_multiagent(baselines["random"].make(ours, 0), ours, 40)
    assert greedy.mean > random.mean + 10  # measured: about -7.8 vs -26.3
    reference = make_multiagent("mpe2/simple_spread_v3", 2)
    on_mpe2 = evaluate_multiagent(baselines_for("mpe2/simple_spread_v3")["greedy-spread"].make(reference, 0),
                                  reference, 4)
    assert on_mpe2.mean > random.mean + 10
    assert "greedy-spread" not in baselines_for("particles/simple_tag_v3")  # it serves its own scenario only


def test_cli_train_and_evaluate(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "particles/simple_spread_v3", "--agent", "maddpg", "--steps", "1200", "--out", str(run),
                 "--no-progress", "--set", "n_envs=8", "--set", "learning_starts=400", "--set", "batch_size=64",
                 "--set", "eval_episodes=8", "--set", "tensorboard=false"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["agent"] == "maddpg" and set(summary["eval"]["agent_mean_returns"]) == {"agent_0", "agent_1",
                                                                                              "agent_2"}
    capsys.readouterr()
    assert main(["evaluate", str(run), "--episodes", "6", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] == 6 and report["env_id"] == "particles/simple_spread_v3"
    assert main(["evaluate", "baseline:chase-tag", "--env", "particles/simple_tag_v3", "--episodes", "4"]) == 0
    assert main(["evaluate", str(run), "--env", "mpe2/simple_spread_v3", "--episodes", "2"]) == 0  # same settings
    spread = ["train", "particles/simple_spread_v3", "--agent", "maddpg", "--env-kw"]
    for argv, message in (
            (["train", "particles/simple_spread_v3", "--agent", "dqn"], "(a parallel env); agents for it: maddpg"),
            (["evaluate", "baseline:greedy-spread", "--env", "particles/simple_tag_v3"],
             "no baseline 'greedy-spread' for particles/simple_tag_v3; valid choices: random, noop, chase-tag"),
            (["train", "particles/nope_v1", "--agent", "maddpg"], "unknown environment 'particles/nope_v1'"),
            ([*spread, "local_ratio=abc"], "local_ratio is a proportion"),
            ([*spread, "continuous_actions=maybe"], "continuous_actions must be true or false"),
            ([*spread, "render_mode=rgb_array"], "unknown keyword 'render_mode' for simple_spread_v3; valid: N,"),
            (["train", "mpe2/simple_spread_v3", "--agent", "maddpg", "--env-kw", "num_agent_neighbors=0"],
             "mpe2/simple_spread_v3 rejected {'num_agent_neighbors': 0}: num_agent_neighbors must be"),
            (["evaluate", "baseline:greedy-spread"], "evaluating a baseline needs --env ENV_ID"),
            (["evaluate", "baseline:chase-tag", "--env", "particles/simple_tag_v3", "--env-kw", "num_agent_neighbors=1"],
             "chase-tag reads the default, fully observed layout"),
            (["evaluate", str(run), "--env-kw", "continuous_actions=true"], "the run acts in [Discrete(5)"),
            (["evaluate", str(run), "--env", "CartPole-v1"], "maddpg does not train on CartPole-v1 (a single env)")):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        error = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in error and len(error.strip().splitlines()) == 1, (argv, error)


def test_anneal_lr_reaches_zero_and_critics_stay_trainable() -> None:
    annealed = _agent("particles/simple_spread_v3", anneal_lr=True)
    constant = _agent("particles/simple_spread_v3")
    for agent in (annealed, constant):
        agent.learn(2000, progress_bar=False)
        assert all(p.requires_grad for p in agent.critics.parameters())  # the actor step freezes them only briefly
    for optimizer in (annealed.actor_optimizer, annealed.critic_optimizer):
        assert optimizer.param_groups[0]["lr"] == 0.0
    for optimizer in (constant.actor_optimizer, constant.critic_optimizer):
        assert optimizer.param_groups[0]["lr"] == 3e-3


def test_evaluation_during_training_leaves_training_unchanged(tmp_path) -> None:
    """Evaluations use their own envs and generator, so a run's policy does not depend on eval_freq."""
    quiet = _agent("particles/simple_spread_v3", batch_size=64)
    quiet.learn(2400, progress_bar=False)
    evaluated = _agent("particles/simple_spread_v3", batch_size=64, eval_freq=800)
    summary = evaluated.learn(2400, run_dir=tmp_path, progress_bar=False)
    assert summary["best_at"] in (800, 1600, 2400) and (tmp_path / "best" / "agent.pt").exists()
    for p, q in zip(quiet.actors.parameters(), evaluated.actors.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_training_without_eval_envs_saves_the_run_and_skips_evaluation(tmp_path) -> None:
    config = MADDPGConfig(**(SMALL | {"learning_starts": 400, "train_freq": 10}))
    agent = MADDPG(make_multiagent("particles/simple_v3", config.n_envs), config, 0, "particles/simple_v3", {})
    summary = agent.learn(480, run_dir=tmp_path, progress_bar=False)
    assert agent.num_updates == 9  # at 400, 410, ..., 480
    assert summary["eval"] == {} and summary["score"] is None and summary["best_score"] is None
    assert (tmp_path / "checkpoint" / "agent.pt").is_file() and not (tmp_path / "best").exists()
    with pytest.raises(ConfigError, match="eval_freq=100 needs eval_envs"):
        MADDPG(make_multiagent("particles/simple_v3", 2), dataclasses.replace(config, eval_freq=100), 0).learn(10)
    with pytest.raises(ConfigError, match="ends before the first update at 400"):  # a budget that cannot train
        MADDPG(make_multiagent("particles/simple_v3", 2), config, 0).learn(399)


def _member(nets, i: int, x: torch.Tensor) -> torch.Tensor:
    """Member i of an EnsembleMLP run as a plain ReLU MLP on x [B, in]."""
    last = len(nets.weights) - 1
    for k, (weight, bias) in enumerate(zip(nets.weights, nets.biases)):
        x = x @ weight[i] + bias[i, 0]
        x = torch.relu(x) if k < last else x
    return x


@pytest.mark.parametrize("centralized", [True, False], ids=["maddpg", "ddpg"])
@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
def test_one_update_matches_a_per_agent_reference(continuous: bool, centralized: bool) -> None:
    """One `_update` on a fixed minibatch equals the paper's update written agent by agent: critic i regresses on
    r_i + γ(1 − terminated) Q'_i(s', μ'(s')) with the *target* actors and critics; actor i ascends Q_i (already
    updated) with only its own action replaced by its policy's, plus the logit penalty over its real action
    entries; then Polyak averaging with τ. SGD (lr 0.1, no clipping) makes the parameter change -0.1 × gradient,
    so every gradient is checked; speaker_listener pads observations (3 vs 11) and actions (3 vs 5)."""
    env_kwargs = {"continuous_actions": True} if continuous else {}
    config = MADDPGConfig(**(SMALL | dict(n_envs=2, gamma=0.9, tau=0.3, max_grad_norm=0.0, actor_regularization=0.5,
                                          gumbel_temperature=0.7, centralized_critic=centralized, batch_size=16)))
    agent = MADDPG(make_multiagent("particles/simple_speaker_listener_v4", 2, **env_kwargs), config, 0)
    n, batch, width, k = 2, 16, 11, 5
    dims = [3, 5]
    g = torch.Generator().manual_seed(3)
    obs, next_obs = torch.randn(batch, n, width, generator=g), torch.randn(batch, n, width, generator=g)
    obs[:, 0, 3:], next_obs[:, 0, 3:] = 0, 0  # the speaker's observation is zero-padded
    if continuous:
        actions = torch.rand(batch, n, k, generator=g)
    else:
        actions = torch.stack([F.one_hot(torch.randint(d, (batch,), generator=g), k) for d in dims], 1).float()
    for i, d in enumerate(dims):
        actions[:, i, d:] = 0
    rewards = torch.randn(batch, n, generator=g)  # a different reward for each agent
    terminated = torch.arange(batch) % 3 == 0
    fixed_batch = {"obs": obs, "actions": actions, "rewards": rewards, "next_obs": next_obs, "terminated": terminated}
    agent.buffer = type("FixedBatch", (), {"sample": lambda self, size, rng: fixed_batch})()
    with torch.no_grad():  # targets that differ from the online networks
        for p in [*agent.target_actors.parameters(), *agent.target_critics.parameters()]:
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    actors, critics = copy.deepcopy(agent.actors), copy.deepcopy(agent.critics)
    target_actors, target_critics = copy.deepcopy(agent.target_actors), copy.deepcopy(agent.target_critics)
    noise = torch.Generator().set_state(agent.torch_rng.get_state())  # the update's Gumbel draws: target, then actor
    u_target, u_actor = (torch.rand(n, batch, k, generator=noise) for _ in range(2))
    agent.actor_optimizer = torch.optim.SGD(agent.actors.parameters(), lr=0.1)
    agent.critic_optimizer = torch.optim.SGD(agent.critics.parameters(), lr=0.1)
    metrics = agent._update()

    def policy(nets, observations, uniform):
        """Every agent's action [B, agents, K] (zero-padded) and its raw outputs over its real entries."""
        encoded, raw = [], []
        for i, d in enumerate(dims):
            logits = _member(nets, i, observations[:, i])[:, :d]
            if continuous:
                action = torch.sigmoid(logits)  # Box(0, 1): no exploration noise in updates
            else:
                gumbel = -torch.log(-torch.log(uniform[i, :, :d]))
                action = ((logits + gumbel) / 0.7).softmax(-1)
            encoded.append(F.pad(action, (0, k - d)))
            raw.append(logits)
        return torch.stack(encoded, 1), raw

    def q(nets, i, observations, joint):
        x = torch.cat([observations.flatten(1), joint.flatten(1)], -1) if centralized else \
            torch.cat([observations[:, i], joint[:, i]], -1)
        return _member(nets, i, x).squeeze(-1)

    with torch.no_grad():
        next_actions, _ = policy(target_actors, next_obs, u_target)
        y = [rewards[:, i] + 0.9 * (~terminated).float() * q(target_critics, i, next_obs, next_actions)
             for i in range(n)]
    critic_losses = [(q(critics, i, obs, actions) - y[i]).square().mean() for i in range(n)]
    sum(critic_losses).backward()
    updated_critics = copy.deepcopy(critics)
    with torch.no_grad():
        for p, ref, new in zip(agent.critics.parameters(), critics.parameters(), updated_critics.parameters()):
            new.sub_(0.1 * ref.grad)
            torch.testing.assert_close(p, new, rtol=1e-4, atol=1e-6)
    own, raw = policy(actors, obs, u_actor)
    actor_losses = []
    for i in range(n):
        joint = actions.clone()
        joint[:, i] = own[:, i]  # agent i's own action from its policy, the others' from the buffer
        actor_losses.append(-q(updated_critics, i, obs, joint).mean() + 0.5 * raw[i].square().mean())
    sum(actor_losses).backward()
    for p, ref in zip(agent.actors.parameters(), actors.parameters()):
        torch.testing.assert_close(p, ref.detach() - 0.1 * ref.grad, rtol=1e-4, atol=1e-6)
    for nets, before, after in ((agent.actors, target_actors, agent.target_actors),
                                (agent.critics, target_critics, agent.target_critics)):
        for p, old, new in zip(nets.parameters(), before.parameters(), after.parameters()):
            torch.testing.assert_close(new, 0.7 * old + 0.3 * p.detach(), rtol=1e-5, atol=1e-6)
    assert metrics["train/critic_loss"] == pytest.approx(sum(critic_losses).item() / n, rel=1e-5)
    assert metrics["train/actor_loss"] == pytest.approx(sum(actor_losses).item() / n, rel=1e-5)


def test_collected_transitions_keep_the_final_observation_of_truncated_episodes() -> None:
    """At a truncation the buffer's next observation is the episode's last one (info["final_obs"]), not the reset
    observation the env returns; truncation is not termination; the episode's return is recorded."""
    # the budget must reach the first update: one, after the 12 transitions this test looks at
    config = MADDPGConfig(**(SMALL | dict(n_envs=2, learning_starts=12, train_freq=12, batch_size=8)))
    envs = make_multiagent("particles/simple_spread_v3", 2, max_cycles=3)
    agent = MADDPG(envs, config, 0)
    steps, taken, step = [], [], envs.step

    def recording_step(actions):
        taken.append(actions.clone())
        out = step(actions)
        steps.append(out)
        return out

    envs.step = recording_step
    agent.learn(12, progress_bar=False)  # two episodes of 3 steps in each of the 2 envs
    assert len(steps) == 6 and agent.buffer.size == 12
    for t, (next_obs, rewards, terminated, truncated, info) in enumerate(steps):
        expected = info["final_obs"] if t % 3 == 2 else next_obs
        torch.testing.assert_close(agent.buffer.data["next_obs"][2 * t: 2 * t + 2], expected, rtol=0, atol=0)
        assert not terminated.any() and bool(truncated.all()) == (t % 3 == 2)
        assert torch.equal(agent.buffer.data["actions"][2 * t: 2 * t + 2], F.one_hot(taken[t], 5).float())
        torch.testing.assert_close(agent.buffer.data["rewards"][2 * t: 2 * t + 2], rewards.float(), rtol=0, atol=0)
        if t:
            torch.testing.assert_close(agent.buffer.data["obs"][2 * t: 2 * t + 2], steps[t - 1][0], rtol=0, atol=0)
    assert not agent.buffer.data["terminated"][:12].any()
    assert not torch.equal(steps[2][4]["final_obs"], steps[2][0])  # the env did reset: the test can tell them apart
    # each episode's reward summed, averaged over the agents: env 0 and env 1 of the first episode, then the second
    returns = [sum(s[1] for s in steps[3 * e: 3 * e + 3]).mean(-1).tolist() for e in range(2)]
    assert agent.recent_returns == pytest.approx(returns[0] + returns[1])
    torch.testing.assert_close(agent.obs, steps[5][0])
