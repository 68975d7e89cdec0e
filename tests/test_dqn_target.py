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


class Table(nn.Module):
    """Q(s', ·) looked up by the state's index, so each row of a batch gets its own values."""

    def __init__(self, rows):
        super().__init__()
        self.rows = torch.tensor(rows, dtype=torch.float32)

    def forward(self, obs):
        return self.rows[obs[:, 0].long()]


def test_a_batch_with_its_own_values_discounts_dones_and_masks_per_row():
    """Three rows: n-step discounts γ^k differ per row, row 2 is terminal; masks reach the vanilla target too."""
    online_q = Table([[1.0, 5.0, 3.0], [4.0, 2.0, 0.0], [0.0, 1.0, 2.0]])
    target_q = Table([[2.0, 0.5, 4.0], [1.0, 7.0, 3.0], [5.0, 6.0, -1.0]])
    b = {"next_obs": torch.tensor([[0.0], [1.0], [2.0]]), "rewards": torch.tensor([1.0, -1.0, 0.5]),
         "discounts": torch.tensor([0.9, 0.81, 0.729]), "dones": torch.tensor([0.0, 0.0, 1.0])}
    # unmasked: double picks online's argmax (1, 0, 2) valued by the target; vanilla takes the target's max
    torch.testing.assert_close(double_dqn_target(online_q, target_q, b), torch.tensor([1 + 0.9 * 0.5, -1 + 0.81, 0.5]))
    torch.testing.assert_close(double_dqn_target(online_q, target_q, b, double_q=False),
                               torch.tensor([1 + 0.9 * 4, -1 + 0.81 * 7, 0.5]))
    b["next_masks"] = torch.tensor([[True, False, True], [True, False, True], [False, True, True]])
    # masked: double picks (2, 0, 2); vanilla's max over legal actions is (4, 3, -)
    torch.testing.assert_close(double_dqn_target(online_q, target_q, b), torch.tensor([1 + 0.9 * 4, -1 + 0.81, 0.5]))
    torch.testing.assert_close(double_dqn_target(online_q, target_q, b, double_q=False),
                               torch.tensor([1 + 0.9 * 4, -1 + 0.81 * 3, 0.5]))
