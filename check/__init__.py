"""``bgmock check``: one contract suite for any target (issue 12).

Named checks (:mod:`bgmock.check.providers`) run through the reference clients against a
target (:mod:`bgmock.check.targets`: in-process, a URL, the live API); every exchange is
observed (:mod:`bgmock.check.observe`) and compared with the contracts
(:mod:`bgmock.check.drift`); :mod:`bgmock.check.runner` runs them and
:mod:`bgmock.check.report` writes the results. The package reaches a target only over
HTTP(S)/WebSocket and the admin API: it imports no provider's internals.
"""

from bgmock.check.model import Check, CheckFailed, Result, Skipped
from bgmock.check.registry import all_checks, check

__all__ = ["Check", "CheckFailed", "Result", "Skipped", "all_checks", "check"]
