import pytest
import torch

from appliedrl.agents import ConfigError, DQNConfig, PPOConfig
from appliedrl.agents.config import load_yaml, make_config, parse_assignments
from appliedrl.domains import recipes
from appliedrl.domains.recipes import RECIPE_DIR, recipe_for, recipe_layers
from appliedrl.envs.inventory import SETTINGS
from appliedrl.runner import DEFAULT_BUDGETS, RunSpec, resolve


def test_layers_override_in_order_and_coerce_types():
    config = make_config(PPOConfig, {"n_steps": 128, "gamma": 0.9}, parse_assignments(["gamma=0.98", "n_envs=8",
                         "net_arch=[32, 32]", "clip_range_vf=none", "learning_rate=3e-4", "anneal_lr=false"]))
    assert (config.n_steps, config.gamma, config.n_envs, config.net_arch) == (128, 0.98, 8, [32, 32])
    assert config.clip_range_vf is None and config.learning_rate == 3e-4 and config.anneal_lr is False


def test_yaml_scientific_notation_and_integral_floats(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("buffer_size: 1e5\nlearning_rate: 1e-3\n")
    config = make_config(DQNConfig, load_yaml(path))
    assert config.buffer_size == 100_000 and isinstance(config.buffer_size, int)
    assert config.learning_rate == 1e-3


def test_unknown_key_names_the_valid_keys():
    with pytest.raises(ConfigError, match=r"unknown config key 'n_step' for ppo; valid keys: eval_freq, .*n_envs, .*n_steps"):
        make_config(PPOConfig, {"n_step": 3}, agent="ppo")


@pytest.mark.parametrize("pairs,message", [
    (["n_steps=1.5"], "expects int"),
    (["anneal_lr=maybe"], "expects bool"),
    (["net_arch=64"], "expects a list"),
    (["gamma=1.5"], "gamma and gae_lambda"),
    (["vectorization=threads"], "vectorization must be one of"),
    (["n_envs"], "expects key=value"),
    (["device=gpu"], "device must be cpu or cuda"),
    (["device=cuda:x"], "device must be cpu or cuda"),
    (["n_steps=true"], "config key 'n_steps' expects int, got True"),  # a bool is not an int here
    (["learning_rate=false"], "config key 'learning_rate' expects float, got False"),
    (["vectorization=3"], "config key 'vectorization' expects str, got 3"),
    (["vectorization=ray", "n_envs=2", "rollout_workers=3"], "rollout_workers must be between 1 and n_envs=2"),
    (["vectorization=ray", "rollout_workers=0"], "rollout_workers must be between 1 and n_envs=1"),
    (["vectorization=ray", "rollout_workers=1.5"], "config key 'rollout_workers' expects"),
    (["n_envs=2", "rollout_workers=2"], "rollout_workers applies to vectorization 'ray' only, not 'auto'"),
])
def test_bad_values_are_config_errors(pairs, message):
    with pytest.raises(ConfigError, match=message):
        make_config(PPOConfig, parse_assignments(pairs))


def test_missing_or_malformed_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(tmp_path / "list.yaml")


@pytest.mark.parametrize("recipe", sorted(RECIPE_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_recipe_is_a_valid_config_of_its_agent(recipe):
    agent_name, env_id = recipe.stem.split(".", 1)
    env_id = env_id.replace("__", "/")
    resolve(RunSpec(env_id, agent_name))  # unknown keys or bad values raise
    for setting in load_yaml(recipe).get("settings", {}):
        resolve(RunSpec(env_id, agent_name, env_kwargs={"setting": setting}))
    assert recipe_for(agent_name, env_id) == recipe
    assert recipe.read_text().startswith("#"), "a recipe's first line says where its values came from"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_a_gpu_says_so():
    with pytest.raises(ConfigError, match="torch sees no CUDA device; valid choices here: cpu"):
        make_config(PPOConfig, {"device": "cuda"})



@pytest.mark.parametrize("setting", SETTINGS)
def test_hdpo_inventory_recipe_gives_a_valid_config_for_every_setting(setting):
    _, config, budget, _ = resolve(RunSpec("appliedrl/Inventory-v0", "hdpo", env_kwargs={"setting": setting}))
    section = load_yaml(recipe_for("hdpo", "appliedrl/Inventory-v0"))["settings"].get(setting, {})
    assert budget == section.get("budget", DEFAULT_BUDGETS["epochs"])  # the recipe's budget, in epochs, if any
    assert all(getattr(config, key) == value for key, value in section.items() if key != "budget")


def test_hdpo_inventory_recipe_names_only_real_settings():
    """recipe_layers ignores a section whose setting does not exist, so a misspelt one would go unnoticed."""
    assert set(load_yaml(recipe_for("hdpo", "appliedrl/Inventory-v0"))["settings"]) <= set(SETTINGS)


def test_recipe_layers_top_level_then_the_setting_default_or_given(tmp_path, monkeypatch):
    monkeypatch.setattr(recipes, "RECIPE_DIR", tmp_path)
    (tmp_path / "hdpo.appliedrl__Inventory-v0.yaml").write_text(
        "# test\nbatch_size: 512\nsettings:\n  one_store_lost: {batch_size: 1024}\n  serial: {budget: 3}\n")
    env_id = "appliedrl/Inventory-v0"
    assert recipe_layers("hdpo", env_id) == [{"batch_size": 512}, {"batch_size": 1024}]  # the env's default setting
    assert recipe_layers("hdpo", env_id, {"setting": "serial"}) == [{"batch_size": 512}, {"budget": 3}]
    assert recipe_layers("hdpo", env_id, {"setting": "one_warehouse"}) == [{"batch_size": 512}]
    assert recipe_layers("ppo", env_id) == []


def test_a_malformed_settings_section_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setattr(recipes, "RECIPE_DIR", tmp_path)
    (tmp_path / "hdpo.appliedrl__Inventory-v0.yaml").write_text("settings:\n  serial: 3\n")
    with pytest.raises(ConfigError, match="'settings' must map each setting to a mapping of config keys"):
        recipe_layers("hdpo", "appliedrl/Inventory-v0")


def test_exponent_numbers_without_a_dot_are_numbers_for_env_keywords_too():
    parsed = parse_assignments(["temporary_impact=2e-5", "shares=1E6", "tag=1e5x", "levels=[1e-3]"])
    assert parsed["temporary_impact"] == 2e-5 and parsed["shares"] == 1e6 and parsed["tag"] == "1e5x"
    assert parsed["levels"] == ["1e-3"]  # inside a list YAML's reading stands (config keys coerce by their type)
    assert make_config(PPOConfig, parse_assignments(["n_steps=1e3"])).n_steps == 1000
