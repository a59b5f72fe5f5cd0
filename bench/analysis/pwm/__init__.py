"""CP PWM analysis (GB/T 18487.1 Annex A): ``analyse_pwm`` for a record, the duty table.

The package: levels.py (two levels from a histogram), edges.py (hysteresis edges, 10–90 %
times), cycles.py (full cycles and their plateaus), uncertainty.py (the GUM budget), analyse.py
(one record's figures), duty_table.py (duty ↔ current).
"""

from bench.analysis.pwm.analyse import (
    CycleTable,
    PwmAnalysis,
    Scale,
    Statistic,
    analyse_pwm,
    analyse_record,
)
from bench.analysis.pwm.duty_table import duty_for_current_pct, offered_current_a
from bench.analysis.pwm.uncertainty import Budget, ScopeAccuracy

__all__ = [
    "Budget",
    "CycleTable",
    "PwmAnalysis",
    "Scale",
    "ScopeAccuracy",
    "Statistic",
    "analyse_pwm",
    "analyse_record",
    "duty_for_current_pct",
    "offered_current_a",
]
