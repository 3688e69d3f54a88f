"""The spawn form's figures come from a one-second cache: a class polling the spawn page
at once reads the ledger once per second, not once per poll, while admission still
reads the ledger itself."""

from __future__ import annotations

from pathlib import Path

from spawners.context import FORM_FIGURES_TTL_S, FormFigures
from tests.backends import inprocess


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _reserve(ctx, user: str) -> None:  # noqa: ANN001
    ctx.ledger.reserve(
        user=user,
        server_name="",
        image="base",
        slice_name="1g.10gb",
        inventory=ctx.inventory,
        epoch=ctx.epoch,
        engine="local",
    )


def test_form_counts_are_reused_for_a_second_then_read_again(tmp_path: Path) -> None:
    ctx = inprocess.slice_context(tmp_path)
    clock = Clock()
    ctx.form_figures = FormFigures(timer=clock)
    reads = []
    real_holdings = ctx.ledger.holdings
    ctx.ledger.holdings = lambda: reads.append(1) or real_holdings()

    before = ctx.form_free_now()
    for _ in range(20):  # twenty open spawn pages polling within the second
        assert ctx.form_free_now() == before
    assert len(reads) == 1

    _reserve(ctx, "alice")
    assert ctx.form_free_now() == before  # still within the second
    assert ctx.free_now()["1g.10gb"] == before["1g.10gb"] - 1  # what admission sees
    clock.now += FORM_FIGURES_TTL_S + 0.01
    assert ctx.form_free_now()["1g.10gb"] == before["1g.10gb"] - 1
