"""Hand value through the `mahjong` package: yaku, fu, han and the three-player payments (tsumo loss).

The package computes everything for three players once told so (`OptionalRules(is_three_player=True)`): the dora
after a 1m indicator is 9m, honba pay 100 per payer on a tsumo and 200 on a ron, and a tsumo is paid by the two
others only. Kita count as nuki dora (one han each, one more per North indicator, ura indicators included).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from mahjong.hand_calculating.hand import HandCalculator
from mahjong.hand_calculating.hand_config import HandConfig, HandConstants, OptionalRules
from mahjong.hand_calculating.hand_response import HandResponse
from mahjong.meld import Meld as PackageMeld

from appliedrl.envs.mahjong.rules import Rules

MELD_TYPES = {"pon": PackageMeld.PON, "daiminkan": PackageMeld.KAN, "ankan": PackageMeld.KAN,
              "kakan": PackageMeld.SHOUMINKAN}


@dataclasses.dataclass(frozen=True)
class WinContext:
    """Everything the value of a win depends on; `tiles` are the concealed tiles with the winning tile."""

    tiles: list[int]
    win_tile: int
    melds: Sequence  # engine Melds
    dora_indicators: list[int]
    ura_indicators: list[int]
    tsumo: bool
    riichi: bool
    double_riichi: bool
    ippatsu: bool
    rinshan: bool
    chankan: bool
    haitei: bool
    houtei: bool
    tenhou: bool
    chiihou: bool
    seat_wind: int
    round_wind: int
    kita: int
    honba: int
    deposits: int


class Scorer:
    """The `mahjong` package's HandCalculator configured for a ruleset."""

    def __init__(self, rules: Rules) -> None:
        self.options = OptionalRules(
            has_open_tanyao=rules.open_tanyao, has_aka_dora=rules.red_fives, has_double_yakuman=rules.double_yakuman,
            kazoe_limit=HandConstants.KAZOE_LIMITED, kiriage=rules.kiriage, is_three_player=True)

    def value(self, context: WinContext) -> HandResponse:
        """The value of a win; `error` is set where the hand does not win (no yaku, say)."""
        melds = [PackageMeld(MELD_TYPES[m.type], m.tiles, opened=m.is_open) for m in context.melds]
        config = HandConfig(
            is_tsumo=context.tsumo, is_riichi=context.riichi or context.double_riichi,
            is_daburu_riichi=context.double_riichi, is_ippatsu=context.ippatsu, is_rinshan=context.rinshan,
            is_chankan=context.chankan, is_haitei=context.haitei, is_houtei=context.houtei,
            is_tenhou=context.tenhou, is_chiihou=context.chiihou, player_wind=context.seat_wind,
            round_wind=context.round_wind, tsumi_number=context.honba, kyoutaku_number=context.deposits,
            num_nuki_dora=context.kita, options=self.options)
        tiles = list(context.tiles) + [t for m in context.melds for t in m.tiles]
        return HandCalculator.estimate_hand_value(tiles, context.win_tile, melds=melds,
                                                  dora_indicators=context.dora_indicators, config=config,
                                                  ura_dora_indicators=context.ura_indicators)

    def nagashi(self, seat_wind: int) -> HandResponse:
        """Nagashi mangan, paid like a mangan tsumo."""
        config = HandConfig(is_tsumo=True, is_nagashi_mangan=True, player_wind=seat_wind, options=self.options)
        return HandCalculator.estimate_hand_value([], 0, config=config)
