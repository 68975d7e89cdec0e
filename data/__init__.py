"""Small datasets the project makes itself (importable as appliedrl.data so that installs ship them).

- synthetic_demand.csv: SYNTHETIC weekly unit sales of 12 stores over 3 years (columns date, store, demand), made
  by make_synthetic_demand.py (seed 2026; rerun it to rebuild the file exactly). The real-data inventory setting
  uses it by default; point `demand_file=` at your own sales file instead.
- SYNTHETIC_2026-01-02_34200000_57600000_{message,orderbook}_5.csv: a SYNTHETIC limit-order-book history in the
  LOBSTER format (3,000 messages, about 15 minutes, 5 levels) from a toy order-driven market, made by
  make_synthetic_lobster.py (seed 2026). Not real data: the market-making env's replay mode uses it by default;
  point `data=` at a real LOBSTER message file instead.
- synthetic_restaurants.csv and restaurant_ontology.json: a SYNTHETIC database of 110 restaurants (name, area,
  pricerange, food, address, postcode, phone, signature, description) and the ontology of the restaurant dialogue
  domain (informable and requestable slots), skewed like the DSTC2 Cambridge data; made by
  make_synthetic_restaurants.py (seed 2026).
"""

from pathlib import Path

SYNTHETIC_DEMAND = Path(__file__).with_name("synthetic_demand.csv")
SYNTHETIC_LOBSTER_MESSAGES = Path(__file__).with_name("SYNTHETIC_2026-01-02_34200000_57600000_message_5.csv")
SYNTHETIC_RESTAURANTS = Path(__file__).with_name("synthetic_restaurants.csv")
RESTAURANT_ONTOLOGY = Path(__file__).with_name("restaurant_ontology.json")
