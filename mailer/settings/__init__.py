"""Instance settings staff change in the UI: sender identity, sending rates, tracking default."""
