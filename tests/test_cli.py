import io
import json
import subprocess
import sys

import pytest
import yaml

from appliedrl.cli import main

TINY = ["--set", "n_envs=2", "--set", "n_steps=32", "--set", "batch_size=32", "--set", "n_epochs=1",
        "--set", "eval_episodes=3", "--set", "tensorboard=false", "--no-progress", "--no-recipe"]


def run_cli(args, capsys):
    try:
        code = main(args)
    except SystemExit as exit:
        code = exit.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_then_evaluate_end_to_end(tmp_path, capsys):
    run = tmp_path / "run"
    code, out, _ = run_cli(["train", "CartPole-v1", "--agent", "ppo", "--steps", "512", "--seed", "1",
                            "--out", str(run), *TINY], capsys)
    assert code == 0 and "mean_return" in out and "(higher is better; best" in out
    for name in ("config.yaml", "metrics.csv", "summary.json", "checkpoint/agent.pt", "best/agent.pt"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert summary["progress"] == summary["budget"] == 512 and summary["unit"] == "steps"
    assert summary["eval"]["episodes"] == 3 and summary["score"] == summary["eval"]["mean_return"]
    assert summary["score_name"] == "mean_return" and summary["higher_is_better"] is True
    assert {"wall_time_s", "per_second", "best_at", "stopped"} <= set(summary)
    assert summary["best_score"] >= summary["score"]
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["config"]["n_steps"] == 32 and config["seed"] == 1

    code, out, _ = run_cli(["evaluate", str(run), "--env", "CartPole-v1", "--episodes", "4", "--json"], capsys)
    assert code == 0
    report = json.loads(out.strip().splitlines()[-1])
    assert report["episodes"] == 4 and report["ci95_low"] <= report["mean_return"] <= report["ci95_high"]

    code, out, _ = run_cli(["evaluate", str(run), "--episodes", "2"], capsys)
    assert code == 0 and "mean return" in out and f"policy: {run}/checkpoint/agent.pt" in out
    code, out, _ = run_cli(["evaluate", str(run), "--episodes", "2", "--best"], capsys)
    assert code == 0 and f"policy: {run}/best/agent.pt" in out
    code, out, _ = run_cli(["evaluate", str(run / "best"), "--episodes", "2"], capsys)
    assert code == 0 and f"policy: {run}/best/agent.pt" in out


def test_resume_continues_to_the_recorded_budget(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "CartPole-v1", "--agent", "dqn", "--out", str(run), "--no-progress", "--no-recipe", "--set", "eval_freq=0",
            "--set", "learning_starts=50", "--set", "tensorboard=false", "--set", "eval_episodes=2"]
    assert run_cli([*args, "--steps", "300"], capsys)[0] == 0
    code, _, err = run_cli([*args, "--steps", "300"], capsys)
    assert code == 2 and "--resume" in err  # an existing run is never overwritten
    code, _, err = run_cli(["train", "--resume", str(run), "--set", "learning_rate=0.5", "--seed", "3"], capsys)
    assert code == 2 and "only --steps and --no-progress may be given with it, not --seed, --set" in err
    code, _, err = run_cli(["train", "--resume", str(run), "--no-progress"], capsys)
    assert code == 2 and "finished at 300 steps (budget reached); give a budget above that" in err
    code, out, _ = run_cli(["train", "--resume", str(run), "--steps", "600", "--no-progress"], capsys)
    assert code == 0
    assert json.loads((run / "summary.json").read_text())["progress"] == 600
    assert yaml.safe_load((run / "config.yaml").read_text())["budget"] == 600  # the new budget is the run's


def test_pretraining_from_a_baseline_from_the_command_line(tmp_path, capsys):
    run = tmp_path / "run"
    code, out, _ = run_cli(["train", "tests/MaskedChoice-v0", "--agent", "a2c", "--steps", "64", "--out", str(run),
                            "--set", "pretrain_from=baseline:random", "--set", "pretrain_episodes=4", *TINY], capsys)
    assert code == 0 and "pre-trained on 4 episodes of baseline:random" in out
    assert json.loads((run / "summary.json").read_text())["pretrain"]["transitions"] == 20
    code, _, err = run_cli(["train", "tests/MaskedChoice-v0", "--agent", "a2c", "--out", str(tmp_path / "other"),
                            "--set", "pretrain_from=baseline:oracle", *TINY], capsys)
    assert code == 2 and "no baseline 'oracle' for tests/MaskedChoice-v0; valid choices: random" in err


def test_files_that_are_not_what_they_should_be(tmp_path, capsys):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("learning_rate: [1e-3\n")
    code, _, err = run_cli(["train", "CartPole-v1", "--agent", "ppo", "--config", str(bad_yaml)], capsys)
    assert code == 2 and f"config file {bad_yaml} is not valid YAML (line" in err
    code, _, err = run_cli(["evaluate", str(bad_yaml), "--env", "CartPole-v1"], capsys)
    assert code == 2 and f"{bad_yaml} is not a saved appliedrl agent or checkpoint" in err
    code, _, err = run_cli(["train", "CartPole-v1", "--agent", "ppo", "--out", str(bad_yaml)], capsys)
    assert code == 2 and "is a file, not a folder for the run" in err


def test_baseline_evaluation_and_domain_metrics(capsys):
    code, out, _ = run_cli(["evaluate", "baseline:random", "--env", "tests/MaskedChoice-v0", "--episodes", "10",
                            "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["episodes"] == 10 and report["mean_length"] == 5.0
    # the env's last step reports is_success = hits = (last action on target): the two means must agree, and a
    # random legal choice neither always hits nor always misses
    assert report["success_rate"] == report["hits"] and 0.0 < report["hits"] < 1.0
    assert 0.0 < report["mean_return"] < 5.0
    code, again, _ = run_cli(["evaluate", "baseline:random", "--env", "tests/MaskedChoice-v0", "--episodes", "10",
                              "--json"], capsys)
    assert code == 0 and json.loads(again) == report  # the same seed repeats the evaluation


def test_the_dialogue_recipe_pretrains_from_the_handcrafted_policy(tmp_path, capsys):
    run = tmp_path / "run"
    code, out, _ = run_cli(["train", "appliedrl/RestaurantDialogue-v0", "--agent", "a2c", "--steps", "256",
                            "--set", "pretrain_episodes=20", "--set", "eval_episodes=5", "--set", "tensorboard=false",
                            "--out", str(run), "--no-progress"], capsys)
    assert code == 0 and "pre-trained on 20 episodes of baseline:handcrafted" in out
    assert json.loads((run / "pretrain.json").read_text())["agreement"] > 0.5
    code, out, _ = run_cli(["evaluate", str(run / "pretrained"), "--episodes", "5", "--json"], capsys)
    assert code == 0 and json.loads(out)["source"] == str(run / "pretrained" / "agent.pt")  # the supervised stage
    code, out, _ = run_cli(["evaluate", "baseline:handcrafted", "--env", "appliedrl/RestaurantDialogue-v0",
                            "--env-kw", "semantic_error_rate=0.15", "--episodes", "30", "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and 0.8 <= report["success_rate"] <= 1 and report["mean_return"] > 5


def test_chat_lets_a_person_play_the_user(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("cheap food in the centre\nany\nwhat is the address?\nthank you\n"))
    code, out, _ = run_cli(["chat", "restaurant"], capsys)
    assert code == 0
    assert "understood: inform(area=centre), inform(pricerange=cheap)" in out and "understood: inform(food=dontcare)" in out
    assert "is a nice cheap" in out and "The address of" in out and out.rstrip().endswith("Goodbye.")
    code, _, err = run_cli(["chat", "restaurant", "--policy", "baseline:smart"], capsys)
    assert code == 2 and "no baseline 'smart'" in err
    code, _, err = run_cli(["chat", "restuarant"], capsys)
    assert code == 2 and err.strip() == "appliedrl: error: unknown chat 'restuarant'; valid choices: restaurant, sanma"


def test_play_sanma_seats_a_person_against_bots(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("ron\nquit\n"))
    code, out, _ = run_cli(["play", "sanma", "--env-kw", "length=round"], capsys)
    assert code == 0 and "-- round E1, honba 0" in out and "hand " in out
    assert "not a choice: 'ron'; choices: discard" in out and out.rstrip().endswith("you left the table")


def test_list(capsys):
    code, out, _ = run_cli(["list"], capsys)
    assert code == 0 and "ppo" in out and "dqn" in out and "budget in epochs" in out
    inventory = next(line for line in out.splitlines() if "appliedrl/Inventory-v0" in line)
    assert "newsvendor" in inventory and "greedy-spread" not in inventory  # baselines are scoped to their envs
    code, out, _ = run_cli(["list", "appliedrl/Inventory-v0"], capsys)
    assert code == 0 and "setting='one_store_lost'" in out and "agents: ppo, a2c, reinforce, dqn, hdpo" in out
    assert "baseline:newsvendor" in out and "headline metric average_cost" in out
    code, out, _ = run_cli(["list", "particles/simple_spread_v3"], capsys)
    assert code == 0 and "agents: maddpg" in out and "baseline:greedy-spread" in out


@pytest.mark.parametrize("args,message", [
    (["train", "CartPol-v1", "--agent", "ppo"], "unknown environment 'CartPol-v1'; did you mean CartPole-v1"),
    (["train", "CartPole-v1", "--agent", "ppo", "--set", "n_step=3"], "unknown config key 'n_step' for ppo; valid keys"),
    (["train", "CartPole-v1", "--agent", "ppo", "--set", "n_steps=abc"], "expects int"),
    (["train", "CartPole-v1", "--agent", "ppo", "--env-kw", "gravity=3"], "rejected the keywords ['gravity']"),
    (["train", "appliedrl/Inventory-v0", "--agent", "hdpo", "--set", "device=tpu"], "device must be cpu or cuda[:N]"),
    (["train", "CartPole-v1"], "needs ENV_ID and --agent"),
    (["train", "CartPole-v1", "--agent", "ppo", "--steps", "0"], "--steps must be >= 1"),
    (["train", "CartPole-v1", "--agent", "ppo", "--seed", "-1"], "--seed must be >= 0"),
    (["train", "Pendulum-v1", "--agent", "dqn"], "dqn does not support action space Box"),
    (["train", "FrozenLake-v1", "--agent", "ppo"], "observation space Discrete(16) is not supported"),
    (["train", "CartPole-v1", "--agent", "ppo", "--set", "net_arch=[-4]"], "net_arch must list layer widths >= 1"),
    (["train", "CartPole-v1", "--agent", "dqn", "--set", "dueling=true", "--set", "net_arch=[]"],
     "dueling needs at least one hidden layer"),
    (["train", "CartPole-v1", "--agent", "ppo", "--set", "clip_range=-0.2"], "clip_range must be > 0"),
    (["train", "CartPole-v1", "--agent", "dqn", "--set", "exploration_final_eps=3"], "exploration_final_eps must be"),
    (["train", "--resume", "/nonexistent"], "not a run folder"),
    (["evaluate", "baseline:smart", "--env", "CartPole-v1"], "no baseline 'smart' for CartPole-v1; valid choices: random"),
    (["evaluate", "baseline:greedy-spread", "--env", "appliedrl/Inventory-v0"],
     "no baseline 'greedy-spread' for appliedrl/Inventory-v0; valid choices: random, newsvendor, echelon_base_stock"),
    (["train", "particles/simple_spread_v3", "--agent", "ppo"],
     "ppo does not train on particles/simple_spread_v3 (a parallel env); agents for it: maddpg"),
    (["train", "CartPole-v1", "--agent", "maddpg"], "maddpg does not train on CartPole-v1 (a single env)"),
    (["train", "appliedrl/OptimalExecution-v0", "--agent", "hdpo"], "hdpo does not train on "
     "appliedrl/OptimalExecution-v0 (its domain does not build hdpo); agents for it: ppo, a2c, reinforce, dqn"),
    (["train", "particles/simple_spread_v3", "--agent", "maddpg", "--steps", "20000"],
     "a budget of 20,000 transitions ends before the first update at 25,600"),
    (["train", "CartPole-v1", "--agent", "dqn", "--steps", "50", "--set", "learning_starts=100"],
     "a budget of 50 steps ends before learning_starts=100"),
    (["evaluate", "/nonexistent", "--env", "CartPole-v1"], "baseline:NAME"),
    (["evaluate", "baseline:newsvendor", "--env", "appliedrl/Inventory-v0", "--env-kw", "setting=one_warehouse"],
     "the newsvendor baseline is for single-echelon settings (one_store_lost, one_store_backlogged, real_data_store)"),
    (["evaluate", "baseline:random", "--env", "CartPole-v1", "--episodes", "0"], "--episodes must be >= 1"),
    (["evaluate", "baseline:random", "--env", "CartPole-v1", "--seed", "-3"], "--seed must be >= 0"),
])
def test_bad_input_is_one_line_exit_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(args, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err


def test_unknown_agent_through_the_real_entry_point():
    proc = subprocess.run([sys.executable, "-m", "appliedrl.cli", "train", "CartPole-v1", "--agent", "sac"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid choice: 'sac'" in proc.stderr and "ppo" in proc.stderr and "Traceback" not in proc.stderr
