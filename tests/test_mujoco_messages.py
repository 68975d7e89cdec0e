"""MuJoCo's warnings reach Python's `warnings` module instead of MuJoCo's default handler, which prints each one
for every env copy and appends it to MUJOCO_LOG.TXT in the working folder."""

import warnings

import numpy as np
import pytest

from appliedrl.agents.vec_env import make_vec_env

mujoco = pytest.importorskip("mujoco")

UNSTABLE_MODEL = '<mujoco><worldbody><body><freejoint/><geom size="0.1"/></body></worldbody></mujoco>'


def test_mujoco_env_copies_leave_no_log_file_and_print_nothing(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        envs = make_vec_env("HalfCheetah-v5", 2, "sync")
        envs.reset(seed=0)
        envs.step(np.zeros(envs.action_space.shape, np.float32))
        envs.close()
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
    assert "WARNING" not in "".join(capfd.readouterr())
    for warning in caught:
        if "settotalmass" in str(warning.message):
            assert warning.category is DeprecationWarning and str(warning.message).startswith("MuJoCo: ")


def test_a_real_mujoco_warning_is_shown_as_a_runtime_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_vec_env("HalfCheetah-v5", 1, "sync").close()  # routes MuJoCo's messages for this process
    model = mujoco.MjModel.from_xml_string(UNSTABLE_MODEL)
    data = mujoco.MjData(model)
    data.qvel[:] = 1e20
    with pytest.warns(RuntimeWarning, match="MuJoCo: Nan, Inf or huge value in QVEL"):
        mujoco.mj_step(model, data)
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
