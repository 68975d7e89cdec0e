"""Small datasets the project makes itself (importable as appliedrl.data so that installs ship them).

- synthetic_demand.csv: SYNTHETIC weekly unit sales of 12 stores over 3 years (columns date, store, demand), made
  by make_synthetic_demand.py (seed 2026; rerun it to rebuild the file exactly). The real-data inventory setting
  uses it by default; point `demand_file=` at your own sales file instead.
"""

from pathlib import Path

SYNTHETIC_DEMAND = Path(__file__).with_name("synthetic_demand.csv")
