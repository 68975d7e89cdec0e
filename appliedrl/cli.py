"""The `appliedrl` command: list what exists, train an agent, evaluate a run or a baseline.

Bad input (unknown env, agent, config key, malformed value) prints one line naming the valid choices and exits
with code 2; an environment that produces NaN/inf stops training with exit code 1 and keeps the last checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import yaml

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad command-line input; reported as one line with exit code 2."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    import appliedrl  # noqa: F401 - registers the environments
    from appliedrl.agents.config import ConfigError
    from appliedrl.agents.vec_env import NonFiniteError, UnknownEnvError

    try:
        return args.func(args)
    except (UsageError, ConfigError, UnknownEnvError) as error:
        _fail(str(error))
    except NonFiniteError as error:
        print(f"appliedrl: error: {error}; the last checkpoint is kept", file=sys.stderr)
        return 1
    except KeyboardInterrupt as error:
        run_dir = getattr(error, "run_dir", None)  # set when the trainer saved a checkpoint on the way out
        hint = f"saved: continue with `appliedrl train --resume {run_dir}`" if run_dir else "not saved"
        print(f"appliedrl: interrupted; {hint}", file=sys.stderr)
        return 130


def _fail(message: str) -> NoReturn:
    print(f"appliedrl: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    from appliedrl.agents import AGENTS

    parser = argparse.ArgumentParser(prog="appliedrl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="environments, agents and baselines")
    listing.set_defaults(func=cmd_list)

    train = commands.add_parser("train", help="train an agent on an environment")
    train.add_argument("env_id", nargs="?", help="a Gymnasium id, e.g. CartPole-v1 or appliedrl/...")
    train.add_argument("--agent", choices=list(AGENTS), help="algorithm to train")
    train.add_argument("--steps", type=int, help="environment steps (default 100000; maddpg: transitions summed over its envs); for hdpo, epochs")
    train.add_argument("--seed", type=int, help="seeds the envs, networks and sampling (default 0)")
    train.add_argument("--out", help="run folder (default runs/<env>-<agent>-s<seed>)")
    train.add_argument("--config", help="YAML file of agent config keys")
    train.add_argument("--set", action="append", metavar="KEY=VALUE", help="override an agent config key")
    train.add_argument("--env-kw", action="append", metavar="KEY=VALUE", help="keyword argument for the env")
    train.add_argument("--resume", metavar="DIR", help="continue the interrupted run in DIR exactly")
    train.add_argument("--no-recipe", action="store_true", help="ignore the tuned recipe for this env")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a run folder or baseline:NAME")
    evaluate.add_argument("policy", help="a run folder (or saved agent file), or baseline:NAME")
    evaluate.add_argument("--env", help="env id (default: the run's env)")
    evaluate.add_argument("--env-kw", action="append", metavar="KEY=VALUE", help="keyword argument for the env")
    evaluate.add_argument("--episodes", type=int, default=20)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--stochastic", action="store_true", help="sample actions instead of the mode")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object on one line")
    evaluate.set_defaults(func=cmd_evaluate)
    return parser


def cmd_list(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from appliedrl.agents import AGENTS
    from appliedrl.domains import BASELINES

    ours = sorted(k for k in gym.registry if k.startswith("appliedrl/"))
    print("environments:", ", ".join(ours) if ours else "(none registered yet)",
          "- and any other registered Gymnasium id, e.g. CartPole-v1, HalfCheetah-v5")
    for name, cls in AGENTS.items():
        print(f"agent {name:<10} {cls.__doc__.strip().splitlines()[0] if cls.__doc__ else ''}".rstrip())
    print("baselines:", ", ".join(f"baseline:{name}" for name in sorted(BASELINES)))
    from appliedrl.domains.particles import PARTICLE_BASELINES
    from appliedrl.envs.particles import SCENARIOS

    print("multi-agent environments (--agent maddpg):", ", ".join(f"particles/{s}" for s in SCENARIOS),
          "- and mpe2/<scenario> for mpe2 itself")
    print("multi-agent baselines:", ", ".join(f"baseline:{name}" for name in PARTICLE_BASELINES))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from appliedrl.agents import AGENTS
    from appliedrl.agents.config import config_to_dict, load_yaml, make_config, parse_assignments
    from appliedrl.agents.checkpoint import atomic_write_text, checkpoint_path
    from appliedrl.agents.trainer import train
    from appliedrl.domains import recipe_for

    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / "config.yaml").is_file() or not checkpoint_path(run_dir).is_file():
            raise UsageError(f"{run_dir} is not a run folder with a checkpoint (config.yaml and checkpoint/)")
        changed = [flag for flag, value in (("ENV_ID", args.env_id), ("--agent", args.agent), ("--seed", args.seed),
                                            ("--out", args.out), ("--config", args.config), ("--set", args.set),
                                            ("--env-kw", args.env_kw), ("--no-recipe", args.no_recipe or None))
                   if value is not None]
        if changed:
            raise UsageError(f"--resume continues a run with its saved settings; only --steps and --no-progress "
                             f"may be given with it, not {', '.join(changed)}")
        run = yaml.safe_load((run_dir / "config.yaml").read_text())
        cls = AGENTS[run["agent"]]
        config = make_config(cls.Config, run["config"], agent=cls.name)
        steps = run["steps"] if args.steps is None else args.steps
        env_id, seed, env_kwargs = run["env_id"], run["seed"], run["env_kwargs"]
    else:
        if not args.env_id or not args.agent:
            raise UsageError("train needs ENV_ID and --agent (or --resume DIR)")
        cls = AGENTS[args.agent]
        env_id, seed = args.env_id, 0 if args.seed is None else args.seed
        env_kwargs = parse_assignments(args.env_kw, "--env-kw")
        recipe = None if args.no_recipe else recipe_for(cls.name, env_id)
        layers = [load_yaml(recipe)] if recipe else []
        if args.config:
            layers.append(load_yaml(args.config))
        layers.append(parse_assignments(args.set))
        config = make_config(cls.Config, *layers, agent=cls.name)
        # hdpo counts its budget in epochs, the env-stepping agents in environment steps
        default_steps = config.max_epochs if cls.name == "hdpo" else 100_000
        steps = default_steps if args.steps is None else args.steps
        _check_agent_env(cls.name, env_id)
        run_dir = Path(args.out or f"runs/{env_id.replace('/', '_')}-{cls.name}-s{seed}")
        if run_dir.exists() and not run_dir.is_dir():
            raise UsageError(f"--out {run_dir} is a file, not a folder for the run")
        if checkpoint_path(run_dir).exists():
            raise UsageError(f"{run_dir} already holds a run; continue it with --resume {run_dir} or choose another --out")
    if steps < 1:
        raise UsageError("--steps must be >= 1")
    if seed < 0:
        raise UsageError(f"--seed must be >= 0, got {seed}")
    if cls.name == "hdpo":
        agent = _construct_hdpo(env_id, env_kwargs, dataclasses.replace(config, max_epochs=steps), seed)
    elif cls.name == "maddpg":
        agent = _construct_maddpg(env_id, env_kwargs, config, seed)
    else:
        agent = _construct(lambda: cls(env_id, config, seed, env_kwargs), env_id, env_kwargs)
    if args.resume and steps != run["steps"]:  # the new budget is the run's: a later --resume keeps it
        run["steps"] = steps
        atomic_write_text(yaml.safe_dump(run, sort_keys=False), run_dir / "config.yaml")
    if not args.resume:
        run_dir.mkdir(parents=True, exist_ok=True)
        run = {"env_id": env_id, "agent": cls.name, "seed": seed, "steps": steps, "env_kwargs": env_kwargs,
               "recipe": recipe.name if recipe else None, "config": config_to_dict(config)}
        atomic_write_text(yaml.safe_dump(run, sort_keys=False), run_dir / "config.yaml")
        if recipe:
            print(f"using recipe {recipe.name} (--no-recipe to ignore it)", file=sys.stderr)
    if cls.name == "hdpo":
        summary = agent.learn(run_dir, progress_bar=not args.no_progress, resume=bool(args.resume))
        gap = f", {100 * summary['gap_to_optimum']:.2f}% above the optimum {summary['optimal_cost']:.4f}" if "gap_to_optimum" in summary else ""
        print(f"test cost {summary['test_cost']:.4f}{gap}; {summary['epochs']} epochs in {summary['train_seconds']:.1f} s -> {run_dir}")
        return 0
    if cls.name == "maddpg":
        summary = agent.learn(steps, run_dir, progress_bar=not args.no_progress, resume=bool(args.resume))
        print(f"mean per-agent return {summary['mean_return']:.2f} ± {summary['std_return']:.2f} over "
              f"{summary['episodes']} episodes; {summary['steps']} steps in {summary['wall_time_s']:.1f} s -> {run_dir}")
        return 0
    try:
        summary = train(agent, steps, run_dir=run_dir, progress_bar=not args.no_progress, resume=bool(args.resume))
    finally:
        agent.close()
    mean, std = summary.get("eval_mean_return"), summary.get("eval_std_return")
    result = f"eval return {mean:.2f} ± {std:.2f} over {summary['eval_episodes']} episodes, " if mean is not None else ""
    print(f"{result}{summary['steps']} steps in {summary['wall_time_s']:.1f} s ({summary['sps']:.0f} sps) -> {run_dir}")
    return 0


def _construct_hdpo(env_id: str, env_kwargs: dict[str, Any], config: Any, seed: int) -> Any:
    from appliedrl.domains import HDPO_BUILDERS

    if env_id not in HDPO_BUILDERS:
        raise UsageError(f"hdpo needs a differentiable simulator; available for: {', '.join(HDPO_BUILDERS)}")
    return _construct(lambda: HDPO_BUILDERS[env_id](env_kwargs, config, seed, env_id), env_id, env_kwargs)


def _check_agent_env(agent: str, env_id: str) -> None:
    from appliedrl.envs.multiagent import is_multiagent

    if agent == "maddpg" and not is_multiagent(env_id):
        raise UsageError(f"maddpg trains on multi-agent envs (particles/<scenario> or mpe2/<scenario>), not {env_id}")
    if agent != "maddpg" and is_multiagent(env_id):
        raise UsageError(f"{env_id} is a multi-agent env; train it with --agent maddpg")


def _multiagent_envs(env_id: str, env_kwargs: dict[str, Any], num_envs: int, device: str = "cpu") -> Any:
    from appliedrl.envs.multiagent import make_multiagent

    def make() -> Any:
        try:
            return make_multiagent(env_id, num_envs, device, **env_kwargs)
        except AssertionError as error:  # how mpe2 rejects a bad keyword value
            raise UsageError(f"{env_id} rejected --env-kw {env_kwargs}: {error or 'a value is out of range'}") from None

    return _construct(make, env_id, env_kwargs)


def _construct_maddpg(env_id: str, env_kwargs: dict[str, Any], config: Any, seed: int) -> Any:
    from appliedrl.agents.maddpg import MADDPG

    envs = _multiagent_envs(env_id, env_kwargs, config.num_envs, config.device)
    # mpe2 steps its copies one by one: a few of them suffice for evaluation
    eval_copies = min(config.eval_episodes, 100 if env_id.startswith("particles/") else 10)
    return MADDPG(envs, config, seed, env_id, env_kwargs, _multiagent_envs(env_id, env_kwargs, eval_copies,
                                                                         config.device))


def _construct(make: Any, env_id: str, env_kwargs: dict[str, Any]) -> Any:
    """Build an env-backed object, turning a bad env keyword or parameter value into a usage error."""
    import gymnasium as gym

    from appliedrl.agents.networks import UnsupportedSpaceError

    try:
        return make()
    except UnsupportedSpaceError as error:
        raise UsageError(str(error)) from None
    except TypeError as error:
        if "argument" in str(error) and env_kwargs:
            raise UsageError(f"environment {env_id} rejected --env-kw {sorted(env_kwargs)}: {error}") from None
        raise
    except (ValueError, gym.error.Error) as error:  # gymnasium's: a missing dependency, a bad id or version
        raise UsageError(str(error)) from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from appliedrl.agents import AGENTS, evaluate
    from appliedrl.agents.checkpoint import load_file
    from appliedrl.agents.config import parse_assignments
    from appliedrl.agents.vec_env import check_env_id
    from appliedrl.domains import BASELINES, make_baseline

    if args.episodes < 1:
        raise UsageError("--episodes must be >= 1")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    env_kwargs = parse_assignments(args.env_kw, "--env-kw")
    if _evaluates_multiagent(args):
        return _evaluate_multiagent(args, env_kwargs)
    if args.policy.startswith("baseline:"):
        from appliedrl.domains.particles import PARTICLE_BASELINES

        name = args.policy.split(":", 1)[1]
        if name in PARTICLE_BASELINES and name not in BASELINES:
            raise UsageError(f"baseline:{name} plays multi-agent envs: give --env particles/<scenario> or "
                             f"mpe2/<scenario>")
        if name not in BASELINES:
            raise UsageError(f"unknown baseline {name!r}; valid choices: {', '.join(sorted(BASELINES))}")
        if not args.env:
            raise UsageError("evaluating a baseline needs --env ENV_ID")
        env_id = args.env
        check_env_id(env_id)
        probe = _construct(lambda: gym.make(env_id, **env_kwargs), env_id, env_kwargs)
        try:
            policy = make_baseline(name, probe.unwrapped, args.seed)
        except ValueError as error:  # a baseline made for another setting
            raise UsageError(str(error)) from None
        finally:
            probe.close()
    else:
        try:
            data = load_file(Path(args.policy))
        except (FileNotFoundError, ValueError) as error:
            raise UsageError(f"{error}; give a run folder, a saved agent file or baseline:NAME") from None
        if data.get("agent") not in AGENTS:
            raise UsageError(f"{args.policy} does not hold an appliedrl agent")
        if data["agent"] == "maddpg":  # only reached with a single-agent --env
            raise UsageError(f"a maddpg run acts in multi-agent envs (particles/<scenario> or mpe2/<scenario>), "
                             f"not {args.env}")
        policy = AGENTS[data["agent"]].load(Path(args.policy))
        env_id = args.env or policy.env_id
        if env_id is None:
            raise UsageError("the run does not record its env id; pass --env ENV_ID")
        check_env_id(env_id)
        if not args.env_kw and args.env in (None, policy.env_id):
            env_kwargs = policy.env_kwargs
    result = _construct(lambda: evaluate(policy, env_id, args.episodes, args.seed, env_kwargs,
                                         deterministic=not args.stochastic), env_id, env_kwargs)
    report = {"policy": args.policy, "env_id": env_id, **result.to_dict()}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{args.policy} on {env_id}: mean return {report['mean_return']:.2f} ± {report['std_return']:.2f} "
              f"(95% CI {report['ci95_low']:.2f} … {report['ci95_high']:.2f}) over {report['episodes']} episodes")
        for key, value in result.metrics.items():
            print(f"  {key}: {value:.4g}")
    return 0


def _evaluates_multiagent(args: argparse.Namespace) -> bool:
    from appliedrl.agents.checkpoint import load_file
    from appliedrl.envs.multiagent import is_multiagent

    if args.env:
        return is_multiagent(args.env)
    if args.policy.startswith("baseline:"):
        return False
    try:
        return load_file(Path(args.policy)).get("agent") == "maddpg"
    except (FileNotFoundError, ValueError):
        return False  # cmd_evaluate reports it


def _evaluate_multiagent(args: argparse.Namespace, env_kwargs: dict[str, Any]) -> int:
    """Evaluate a MADDPG run or a particle baseline; report the mean per-agent return and each agent's."""
    from appliedrl.agents.evaluation import evaluate_multiagent
    from appliedrl.agents.maddpg import MADDPG
    from appliedrl.domains.particles import PARTICLE_BASELINES

    if args.policy.startswith("baseline:"):
        name = args.policy.split(":", 1)[1]
        if name not in PARTICLE_BASELINES:
            raise UsageError(f"unknown multi-agent baseline {name!r}; valid choices: {', '.join(PARTICLE_BASELINES)}")
        env_id = args.env
        envs = _multiagent_envs(env_id, env_kwargs, _eval_copies(env_id, args.episodes))
        policy = _construct(lambda: PARTICLE_BASELINES[name](env_id, envs, args.seed), env_id, env_kwargs)
    else:
        try:
            policy = MADDPG.load(Path(args.policy))
        except (FileNotFoundError, ValueError) as error:
            raise UsageError(str(error)) from None
        env_id = args.env or policy.env_id
        _check_agent_env("maddpg", env_id)
        same_scenario = env_id.split("/")[-1] == (policy.env_id or "").split("/")[-1]  # ours or mpe2's
        if not args.env_kw and same_scenario:
            env_kwargs = policy.env_kwargs
        envs = _multiagent_envs(env_id, env_kwargs, _eval_copies(env_id, args.episodes))
        if envs.agents != policy.agents or list(envs.obs_dims) != policy.obs_dims:
            raise UsageError(f"the run's agents {policy.agents} do not match {env_id}'s {envs.agents}")
        if envs.action_spaces != policy.action_spaces:
            raise UsageError(f"the run acts in {list(policy.action_spaces.values())}, {env_id} with these --env-kw "
                             f"in {list(envs.action_spaces.values())} (continuous_actions differs?)")
    result = evaluate_multiagent(policy, envs, args.episodes, args.seed, deterministic=not args.stochastic)
    report = {"policy": args.policy, "env_id": env_id, **result.to_dict(envs.agents)}
    if args.json:
        print(json.dumps(report, default=float))
    else:
        print(f"{args.policy} on {env_id}: mean per-agent return {report['mean_return']:.2f} ± "
              f"{report['std_return']:.2f} (95% CI {report['ci95_low']:.2f} … {report['ci95_high']:.2f}) "
              f"over {report['episodes']} episodes")
        for agent, value in report["agent_mean_returns"].items():
            print(f"  {agent}: {value:.3f}")
    return 0


def _eval_copies(env_id: str, episodes: int) -> int:
    return min(episodes, 100 if env_id.startswith("particles/") else 10)


if __name__ == "__main__":
    sys.exit(main())
