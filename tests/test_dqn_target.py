import torch
from torch import nn

from appliedrl.agents.dqn import double_dqn_target


class Fixed(nn.Module):
    def __init__(self, values):
        super().__init__()
        self.values = torch.tensor([values], dtype=torch.float32)

    def forward(self, obs):
        return self.values.expand(len(obs), -1)


def batch(mask=None):
    out = {"next_obs": torch.zeros(1, 2), "rewards": torch.tensor([1.0]), "discounts": torch.tensor([0.9]),
           "dones": torch.tensor([0.0])}
    if mask is not None:
        out["next_masks"] = torch.tensor([mask])
    return out


online, target = Fixed([1.0, 5.0, 3.0]), Fixed([2.0, 0.5, 4.0])


def test_online_picks_target_evaluates():
    # online argmax = action 1, valued by the target at 0.5: y = 1 + 0.9 * 0.5
    assert double_dqn_target(online, target, batch()).item() == torch.tensor(1.45).item()


def test_vanilla_target_uses_target_max():
    assert double_dqn_target(online, target, batch(), double_q=False).item() == torch.tensor(1 + 0.9 * 4.0).item()


def test_masked_next_actions_are_ignored():
    # action 1 illegal in s': online picks action 2 (3 > 1), target values it at 4
    y = double_dqn_target(online, target, batch([True, False, True]))
    assert y.item() == torch.tensor(1 + 0.9 * 4.0).item()


def test_terminal_transitions_do_not_bootstrap():
    b = batch()
    b["dones"] = torch.tensor([1.0])
    assert double_dqn_target(online, target, b).item() == 1.0
