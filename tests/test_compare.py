"""`compare` end to end on a toy domain (CartPole, PPO at the smoke budget): the files, the rows against direct
evaluations, resuming, failures, the Ray path against the local one, bad input; and every landed domain's
settings name agents and baselines that fit them."""

import json
import socket

import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

from appliedrl import compare as compare_module
from appliedrl import runner
from appliedrl.cli import main
from appliedrl.compare import BUDGETS, TEST_SEED, Job, compare, plan, row_path, run_dir_of
from appliedrl.domains.registry import Domain, Metric, Setting, baselines_for, domains, spec_of
from appliedrl.report import summary_tables, write_report
from appliedrl.runner import RunError

PICTURES = []  # (setting, methods) the toy picture was asked to draw


def toy_picture(setting, policies, seed):
    PICTURES.append((setting.name, sorted(policies), seed))
    figure = Figure()
    figure.subplots().bar(list(policies), [1] * len(policies))
    return figure


TOY = Domain("toy", "CartPole for the comparison's tests", agents=("ppo",), metric=Metric("mean_return"),
             settings=(Setting("cartpole", "CartPole-v1"),
                       Setting("broken", "CartPole-v1", {"no_such_keyword": 1})),
             picture=toy_picture)


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setattr(compare_module, "domains", lambda: {**domains(), TOY.name: TOY})
    PICTURES.clear()
    return TOY


def rows_of(out):
    return pd.read_parquet(out / "results.parquet").drop(columns=["train_seconds"])


def test_a_smoke_comparison_writes_every_file_with_rows_that_match_direct_evaluations(toy, tmp_path):
    chosen = plan("toy", seeds=2, budget="smoke")
    results = compare(chosen, tmp_path, workers=2, progress_bar=False)
    files = write_report(results, "appliedrl compare toy")
    for name in ("results.parquet", "curves.parquet", "summary.csv", "learning_curves.png", "final_metrics.png",
                 "picture_cartpole.png", "report.md", "report.html"):
        assert (tmp_path / name).is_file(), name
    rows = rows_of(tmp_path)
    assert len(rows) == 2 * 2 * 2  # settings x (ppo, random) x seeds
    good = rows[rows["setting"] == "cartpole"].set_index(["method", "seed"])
    assert set(good["status"]) == {"ok"}
    episodes = BUDGETS["smoke"].eval_episodes
    for seed in (0, 1):  # every method is evaluated on the episodes TEST_SEED + seed * episodes onward
        direct = runner.evaluate("baseline:random", "CartPole-v1", {}, episodes, TEST_SEED + seed * episodes)
        assert good.loc[("random", seed), "mean_return"] == direct.result.mean
        run_dir = run_dir_of(tmp_path, Job(chosen.settings[0], "ppo", True, seed))
        trained = runner.evaluate(str(run_dir), "CartPole-v1", {}, episodes, TEST_SEED + seed * episodes)
        assert good.loc[("ppo", seed), "mean_return"] == trained.result.mean
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["budget"] == 1_000 and good.loc[("ppo", seed), "trained"] == summary["progress"]
    broken = rows[rows["setting"] == "broken"]  # a failing job is recorded with its error; the others went on
    assert set(broken["status"]) == {"failed"} and broken["error"].str.contains("no_such_keyword").all()
    curves = pd.read_parquet(tmp_path / "curves.parquet")
    assert set(curves["method"]) == {"ppo"} and set(curves["metric"]) == {"mean_return"}
    assert len(curves) == 2 and set(curves["step"]) == {2048}  # one evaluation per run: one 2,048-step iteration
    table = summary_tables(results)["cartpole"].set_index("method")
    assert table.loc["random", "iqm"] == pytest.approx(good.xs("random", level="method")["mean_return"].mean())
    assert table.loc["ppo", "best_heuristic"] == "random"
    assert PICTURES == [("cartpole", ["ppo", "random"], TEST_SEED)]  # the broken setting has nothing to draw
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "src=\"http" not in page  # self-contained
    assert "Failed runs" in page and "no_such_keyword" in page
    assert "cartpole" in (tmp_path / "report.md").read_text() and files["report.html"] == tmp_path / "report.html"


def test_rerunning_resumes_skips_finished_jobs_and_retries_failed_ones(toy, tmp_path):
    one = plan("toy", settings=["cartpole"], baselines=["random"], seeds=1, budget="smoke")
    compare(one, tmp_path, workers=1, progress_bar=False)
    assert len(list((tmp_path / "rows").rglob("*.json"))) == 2
    checkpoint = run_dir_of(tmp_path, one.jobs[0]) / "checkpoint" / "agent.pt"
    trained_at = checkpoint.stat().st_mtime_ns
    row_path(tmp_path, one.jobs[0]).unlink()  # interrupted after training, before its row was written
    failed = row_path(tmp_path, one.jobs[1])
    failed.write_text(json.dumps({**json.loads(failed.read_text()), "status": "failed", "error": "boom"}))
    before = rows_of(tmp_path)
    two = plan("toy", settings=["cartpole"], baselines=["random"], seeds=2, budget="smoke")
    compare(two, tmp_path, workers=1, progress_bar=False)
    assert checkpoint.stat().st_mtime_ns == trained_at  # the finished run was read back, not trained again
    assert len(list((tmp_path / "rows").rglob("*.json"))) == 4
    after = rows_of(tmp_path)
    assert after[after["seed"] == 0].reset_index(drop=True).equals(before[before["seed"] == 0].reset_index(drop=True))
    assert set(after["status"]) == {"ok"}
    with pytest.raises(RunError, match="holds the comparison"):
        compare(plan("toy", settings=["cartpole"], seeds=1, budget="small"), tmp_path, progress_bar=False)


def test_a_shortened_run_scales_the_agents_schedule_with_its_budget(toy, tmp_path):
    chosen = plan("toy", agents=["dqn"], baselines=["random"], settings=["cartpole"], seeds=1, budget="smoke")
    compare(chosen, tmp_path, workers=1, progress_bar=False)
    record = yaml.safe_load((run_dir_of(tmp_path, chosen.jobs[0]) / "config.yaml").read_text())
    assert record["budget"] == 1_000  # 1% of DQN's default 100,000 steps
    # the recipe's learning_starts 1,000 and target_update_interval 10 shrink by the same 1%
    assert (record["config"]["learning_starts"], record["config"]["target_update_interval"]) == (10, 1)
    assert record["config"]["eval_freq"] == 100  # ten evaluations for the learning curve (the recipe's: 2,500)
    # an iteration is 256 steps (train_freq), so each crosses a multiple of 100: one evaluation per iteration
    assert pd.read_parquet(tmp_path / "curves.parquet")["step"].tolist() == [256, 512, 768, 1024]


def test_the_ray_path_gives_the_local_results(toy, tmp_path):
    ray = pytest.importorskip("ray")
    chosen = plan("toy", settings=["cartpole"], seeds=1, budget="smoke")
    compare(chosen, tmp_path / "local", workers=1, progress_bar=False)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    try:
        compare(chosen, tmp_path / "ray", ray="auto", progress_bar=False)
    finally:
        ray.shutdown()
    local, remote = rows_of(tmp_path / "local"), rows_of(tmp_path / "ray")
    pd.testing.assert_frame_equal(local, remote)
    assert (run_dir_of(tmp_path / "ray", chosen.jobs[0]) / "summary.json").is_file()


def test_bad_names_list_the_valid_ones(toy):
    with pytest.raises(RunError, match="unknown domain 'nope'; valid choices: .*inventory"):
        plan("nope")
    with pytest.raises(RunError, match="unknown setting 'nope' here; valid choices: cartpole, broken"):
        plan("toy", settings=["nope"])
    with pytest.raises(RunError, match="unknown agent 'hdpo' here; valid choices: a2c, dqn, ppo, reinforce"):
        plan("toy", agents=["hdpo"])
    with pytest.raises(RunError, match="unknown baseline 'twap' here; valid choices: random"):
        plan("toy", baselines=["twap"])
    with pytest.raises(RunError, match="unknown budget 'huge'; valid choices: smoke, small, paper"):
        plan("toy", budget="huge")
    with pytest.raises(RunError, match="seeds must be >= 1"):
        plan("toy", seeds=0)


def test_an_unreachable_ray_address_fails_before_any_work(toy, tmp_path):
    pytest.importorskip("ray")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RunError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        compare(plan("toy", seeds=1, budget="smoke"), tmp_path / "out", ray=f"127.0.0.1:{port}")
    assert not (tmp_path / "out").exists()
    with pytest.raises(RunError, match="is not an address"):
        compare(plan("toy", seeds=1, budget="smoke"), tmp_path / "out", ray="nowhere")


def test_the_command_line_exits_2_naming_the_choices(toy, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["compare", "toy", "--agents", "ppo,hdpo"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == "appliedrl: error: unknown agent 'hdpo' here; valid choices: a2c, dqn, ppo, reinforce"


@pytest.mark.parametrize("domain", [name for name, d in domains().items() if d.settings])
def test_every_landed_domain_declares_settings_its_agents_and_baselines_fit(domain):
    chosen = plan(domain)
    for setting in chosen.settings:
        spec = spec_of(setting.env_id)
        assert chosen.agents[setting.name], f"{domain}/{setting.name} trains no agent"
        for agent in chosen.agents[setting.name]:
            assert runner.trains_on(runner.AGENTS[agent], spec), (setting.name, agent)
        assert chosen.baselines[setting.name], f"{domain}/{setting.name} has no baseline"
        assert set(chosen.baselines[setting.name]) <= set(baselines_for(setting.env_id)), setting.name
        for baseline in chosen.baselines[setting.name]:  # each accepts the setting's keywords
            runner.load_policy(f"baseline:{baseline}", setting.env_id, setting.evaluation_kwargs)
    assert chosen.domain.picture is None or callable(chosen.domain.picture)
